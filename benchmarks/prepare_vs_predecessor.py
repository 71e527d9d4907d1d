"""Prepare speed: grpo_nb's whole prepare vs the published predecessor's prompt builder, on the same real rows.

    GRPO_NB_SHARED_DATA=/work/shared/data .venv/bin/python benchmarks/prepare_vs_predecessor.py [--rounds 5]

The rows are the 1,573 real rows of `$GRPO_NB_SHARED_DATA/grail-sample` (`gun_control.jsonl.gz` +
`minimum_wage.jsonl.gz`), and the same rows repeated to the published dataset's 23,879 rows (21,460 train + 2,419
validation); each repeat gets its own `session_id` / `participant_id` suffix (`~r1`, `~r2`, ...) so that grpo_nb's
duplicate-row rule does not drop the copies, and every other field is unchanged. Two sides, on the same rows:

* predecessor: `prompt_builder.build_user_prompt(row, max_hist=12)` for every row — the user text only — from
  liv-daliberti/grail-simulation, vendored unchanged in `benchmarks/_vendor/prompt_builder` (Apache-2.0, see its
  README for the commit);
* grpo_nb: the whole prepare of `prepare_split` — `clean_rows` (parse, gold index, counted drops, dataset rules)
  then `prepare_examples` (system + user messages, option order, per-option fields) and `cap_prompts`, with the
  `gun` recipe's prompt options.

Each timing runs in a fresh child process forked from a parent that has only imported both sides (so no cache of
either side is warm and no import is timed), the two sides alternate for `--rounds` rounds per size, and each
side's median is reported. Rows per second count input rows. Prints rows/s for both, the machine load, a digest
of grpo_nb's prepared examples and statistics (to prove an optimisation changed no output), and the ratio LAST:
`ratio prepare_vs_predecessor: N.NNx` (grpo_nb rows/s over the predecessor's, at the published size).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
PUBLISHED_ROWS = 21_460 + 2_419
SAMPLE_FILES = ("gun_control.jsonl.gz", "minimum_wage.jsonl.gz")


def sample_lines(shared: str) -> list[str]:
    "The sample's raw JSON lines, gun control then minimum wage."
    lines = []
    for name in SAMPLE_FILES:
        with gzip.open(Path(shared) / "grail-sample" / name, "rt", encoding="utf-8") as f:
            lines += [line for line in f if line.strip()]
    return lines


def rows_of(lines: list[str], n: int) -> list[dict]:
    "n independent row dicts: the sample's lines in order, repeated with `~rK` on the session and participant ids."
    rows = []
    for i in range(n):
        row, copy = json.loads(lines[i % len(lines)]), i // len(lines)
        if copy:
            for column in ("session_id", "participant_id"):
                if row.get(column) is not None: row[column] = f"{row[column]}~r{copy}"
        rows.append(row)
    return rows


def run_predecessor(lines: list[str], n: int) -> dict:
    import prompt_builder
    rows = rows_of(lines, n)
    start = time.perf_counter()
    users = [prompt_builder.build_user_prompt(row, max_hist=12) for row in rows]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "outputs": len(users), "chars": sum(map(len, users))}


def floor_example(row: dict, rng, system: str) -> dict:
    """A lower bound, not a prepare: only the work any prepare that emits grpo_nb's examples must do per row (copy the
    row and its items, strip the ids and titles, find the gold, hash the slate id and the shuffle seed, shuffle, join
    the text, build the example and its per-option lists). No validation, no drop rules, no caches, no survey text, no
    history anchor, no field rendering: it is *not* equivalent to either side and exists to show the ceiling."""
    out = dict(row)
    slate = [item.copy() for item in row["slate_items_json"]]
    watched = [item.copy() for item in row["watched_detailed_json"] or []]
    for item in slate: item["id"], item["title"] = item["id"].strip(), item["title"].strip()
    for item in watched: item["id"] = item["id"].strip()
    ids = [item["id"] for item in slate]
    gold = ids.index(out["next_video_id"]) + 1
    out.update(slate_items=slate, watched_detailed=watched, gold_index=gold, n_options=len(slate))
    slate_id = hashlib.sha256(f'["{row["session_id"]}", {row["step_index"]}, [{", ".join(ids)}]]'.encode()).hexdigest()[:16]
    rng.seed(int.from_bytes(hashlib.sha256(f"0\x1f{slate_id}".encode()).digest()[:8], "big"))
    order = list(range(len(ids))); rng.shuffle(order)
    titles = [slate[i]["title"] for i in order]
    text = "\n\n".join([f"VIEWER {row.get('viewer_profile_sentence')}", "CURRENTLY WATCHING " + row["current_video_title"],
                         "RECENTLY WATCHED (NEWEST LAST)\n" + "\n".join(f"{k}. {e.get('title')}" for k, e in enumerate(watched, 1)),
                         "OPTIONS\n" + "\n".join(f"{k}. {t}" for k, t in enumerate(titles, 1)), "QUESTIONS\n1. Which option?"])
    example = {"example_id": f"{row['session_id']}/{row['step_index']}/0",
               "prompt": [{"role": "system", "content": system}, {"role": "user", "content": text}],
               "gold_index": order.index(gold - 1) + 1, "n_options": len(ids), "option_ids": [ids[i] for i in order],
               "slate_id": slate_id, "permutation": 0, "option_titles": titles,
               "option_channels": [slate[i].get("channel_title") for i in order],
               "option_watched": [False] * len(ids), "option_stances": [slate[i].get("stance") for i in order]}
    for column in ("issue", "participant_study", "participant_id", "session_id", "step_index", "opinion_before",
                   "opinion_after", "opinion_direction"): example[column] = out.get(column)
    return example


def run_floor(lines: list[str], n: int) -> dict:
    import random
    from grpo_nb.data import paused_gc
    from grpo_nb.prompts import NEXT_VIDEO_SYSTEM_PROMPT
    rows, rng = rows_of(lines, n), random.Random()
    start = time.perf_counter()
    with paused_gc(): examples = [floor_example(row, rng, NEXT_VIDEO_SYSTEM_PROMPT) for row in rows]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "outputs": len(examples), "chars": sum(len(e["prompt"][1]["content"]) for e in examples)}


def grpo_nb_prepare(rows: list[dict], script) -> tuple[list[dict], dict]:
    "The prepare of `prepare_split` on rows already loaded: cleaned rows' examples and the side's statistics."
    from grpo_nb.data import clean_rows
    from grpo_nb.prepare import cap_prompts, prompt_options
    from grpo_nb.prompts import prepare_examples, prompt_fields
    kept, drops = clean_rows(rows, direction_tolerance=script.direction_tolerance,
                             drop_appended_gold=bool(script.drop_appended_gold))
    side = drops.to_dict()
    examples = cap_prompts(prepare_examples(kept, **prompt_options(script)), side)
    side.update(examples=len(examples), prompt_fields=prompt_fields(kept, script.profile_text_columns))
    return examples, side


def digest(examples: list[dict], side: dict) -> str:
    "sha256 of the examples and statistics as `write_prepared` writes them."
    h = hashlib.sha256()
    for e in examples: h.update((json.dumps(e, ensure_ascii=False) + "\n").encode())
    h.update(json.dumps(side, indent=2, ensure_ascii=False, sort_keys=True).encode())
    return h.hexdigest()


def run_grpo_nb(lines: list[str], n: int) -> dict:
    from grpo_nb.config import load_recipe
    script = load_recipe("gun", hardware_checks=False).script
    rows = rows_of(lines, n)
    start = time.perf_counter()
    examples, side = grpo_nb_prepare(rows, script)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "outputs": len(examples), "dropped": side["rows_dropped"],
            "chars": sum(len(e["prompt"][1]["content"]) for e in examples), "digest": digest(examples, side)}


def load() -> str:
    "The 1-minute load average."
    with open("/proc/loadavg") as f: return f.read().split()[0]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5, help="fresh processes per side and size (median reported)")
    p.add_argument("--floor", action="store_true",
                   help="also time `floor_example`: the copying, hashing, shuffling and joining alone (the ceiling)")
    p.add_argument("--sizes", type=int, nargs="+", default=None, help="row counts (default: the sample, 23,879)")
    args = p.parse_args(argv)
    shared = os.environ.get("GRPO_NB_SHARED_DATA")
    if not shared or not (Path(shared) / "grail-sample" / SAMPLE_FILES[0]).is_file():
        print("skipped: set GRPO_NB_SHARED_DATA to the folder holding grail-sample/ (the real 1,573-row sample); "
              f"it is {'unset' if not shared else repr(shared) + ', which has no grail-sample/' + SAMPLE_FILES[0]}")
        return 0
    sys.stdout.reconfigure(line_buffering=True)  # nothing buffered is copied into the forked children
    lines = sample_lines(shared)
    sys.path.insert(0, str(HERE / "_vendor"))
    import prompt_builder  # noqa: F401  (both sides imported once, here; every timing runs in a forked child)
    import grpo_nb.prepare  # noqa: F401  (imports grpo_nb.config, hence TRL and torch)
    import grpo_nb.config
    sizes = args.sizes or [len(lines), PUBLISHED_ROWS]
    print(f"rows: {', '.join(f'{n:,}' for n in sizes)} (sample {len(lines):,}; published dataset {PUBLISHED_ROWS:,}); "
          f"{args.rounds} rounds per side, each in a fresh forked process; nproc {os.cpu_count()}, "
          f"OMP_NUM_THREADS {os.environ.get('OMP_NUM_THREADS')}, load before {load()}")
    sides = {"predecessor build_user_prompt": run_predecessor, "grpo_nb clean+gold+prompts": run_grpo_nb}
    if args.floor: sides["floor (lower bound, not a prepare)"] = run_floor
    ratios, digests = {}, set()
    context = mp.get_context("fork")
    for n in sizes:
        times = {name: [] for name in sides}
        outputs = {}
        for r in range(args.rounds):
            order = list(sides) if r % 2 == 0 else list(sides)[::-1]
            for name in order:
                with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
                    result = pool.submit(sides[name], lines, n).result()
                times[name].append(result["seconds"]); outputs[name] = result
                if "digest" in result: digests.add((n, result["digest"]))
        medians = {name: statistics.median(t) for name, t in times.items()}
        for name, seconds in medians.items():
            o = outputs[name]
            extra = f", {o['dropped']} dropped, digest {o['digest'][:16]}" if "digest" in o else ""
            print(f"  {n:>6,} rows  {name:32s} {seconds:7.3f} s  {n / seconds:9,.0f} rows/s  "
                  f"({o['outputs']:,} prompts{extra}; rounds {', '.join(f'{t:.3f}' for t in times[name])})")
        pred, ours = medians["predecessor build_user_prompt"], medians["grpo_nb clean+gold+prompts"]
        ratios[n] = pred / ours
        if args.floor:
            floor = medians["floor (lower bound, not a prepare)"]
            print(f"  {n:>6,} rows  floor / predecessor rows/s: {pred / floor:.2f}x (the most any prepare doing this "
                  f"work could reach; 5x leaves {1e6 * pred / n / 5 - 1e6 * floor / n:.1f} us/row for everything else)")
        print(f"  {n:>6,} rows  grpo_nb / predecessor rows/s: {ratios[n]:.2f}x")
    if len({d for _, d in digests}) > len(sizes): print("WARNING: grpo_nb's output differed between rounds")
    print(f"load after {load()}; target >= 5x -> {'met' if min(ratios.values()) >= 5 else 'NOT met'}")
    for n in sizes[:-1]: print(f"ratio prepare_vs_predecessor ({n:,} rows): {ratios[n]:.2f}x")
    print(f"ratio prepare_vs_predecessor: {ratios[sizes[-1]]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
