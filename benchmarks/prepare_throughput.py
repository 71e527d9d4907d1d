"""Throughput of `prepare`: grpo_nb's path vs building the same prompts row by row through `datasets.map`.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/prepare_throughput.py [--rows 23879]

Both sides start from the same raw rows in memory — a generated dataset the size of the published one (21,460 train
+ 2,419 validation = 23,879 rows) in the published schema (JSON-string slates and histories, as the hub stores them)
— and produce the same prepared examples (checked):

* grpo_nb: `clean_rows` (parse, gold index, drops counted) + `prepare_examples` (prompts) over plain lists;
* baseline: `datasets.Dataset.from_list(rows).map(one_row)` without batching, where `one_row` cleans one row with
  `clean_row` and builds its prompt with `build_next_video_messages` — the usual way a TRL script prepares prompts.

Each side runs in its own fresh process, so each peak-RSS figure is its own. Prints both times, rows per second,
peak memory, and the ratio LAST. Targets: grpo_nb prepares all rows in under 5 s on a 2-core CPU, and is at least 3x
faster than the baseline.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

PUBLISHED_ROWS = 21_460 + 2_419


def raw_rows(n: int) -> list[dict]:
    "n rows of the embedded generator, in the published schema, with every column on every row (Arrow needs one schema)."
    from grpo_nb.synthetic import generate_rows
    rows, participants = [], max(50, n // 3)
    while len(rows) < n:
        rows = generate_rows(n_participants=participants, seed=0)
        participants = int(participants * 1.3) + 1
    rows = rows[:n]
    columns = sorted({k for r in rows for k in r})
    out = []
    for r in rows:
        row = {c: r.get(c) for c in columns}
        for c in ("slate_items_json", "watched_detailed_json"):  # as stored on the hub: JSON strings
            if not isinstance(row[c], str): row[c] = json.dumps(row[c])
        out.append(row)
    return out


def run_grpo_nb(n: int) -> dict:
    from grpo_nb.data import clean_rows
    from grpo_nb.prompts import prepare_examples
    rows = raw_rows(n)
    start = time.perf_counter()
    kept, stats = clean_rows(rows)
    examples = prepare_examples(kept)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "examples": len(examples), "dropped": stats.rows_in - stats.rows_kept,
            "users": [e["prompt"][1]["content"] for e in examples[:: max(1, len(examples) // 200)]],
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_datasets_map(n: int) -> dict:
    import datasets
    from grpo_nb.data import RowDropped, clean_row
    from grpo_nb.prompts import build_next_video_messages
    datasets.disable_progress_bars()
    rows = raw_rows(n)
    columns = set(rows[0])
    start = time.perf_counter()
    ds = datasets.Dataset.from_list(rows)

    def one_row(row, idx):
        try: cleaned = clean_row(row, columns)
        except RowDropped: return {"user": None}
        key = f"{cleaned.get('session_id')}/{cleaned.get('step_index')}/{idx}"
        return {"user": build_next_video_messages(cleaned, example_key=key)["prompt"][1]["content"]}

    mapped = ds.map(one_row, with_indices=True, batched=False, remove_columns=ds.column_names, keep_in_memory=True)
    users = [u for u in mapped["user"] if u is not None]
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "examples": len(users), "users": users[:: max(1, len(users) // 200)],
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_fresh_process(fn, *args):
    with ProcessPoolExecutor(max_workers=1) as pool: return pool.submit(fn, *args).result()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=PUBLISHED_ROWS)
    args = p.parse_args(argv)
    ours = in_fresh_process(run_grpo_nb, args.rows)
    base = in_fresh_process(run_datasets_map, args.rows)
    same = ours["examples"] == base["examples"] and ours["users"] == base["users"]
    print(f"rows: {args.rows:,} (published dataset: {PUBLISHED_ROWS:,})")
    for name, r in (("grpo_nb clean_rows+prepare_examples", ours), ("datasets.map row by row", base)):
        print(f"{name:38s} {r['seconds']:7.2f} s  {args.rows / r['seconds']:9,.0f} rows/s  "
              f"{r['examples']:,} examples  peak RSS {r['peak_rss_mib']:,.0f} MiB")
    print(f"same prompts on both sides: {same}")
    print(f"target: grpo_nb under 5 s -> {'met' if ours['seconds'] < 5 else 'NOT met'}; ratio >= 3x -> "
          f"{'met' if base['seconds'] / ours['seconds'] >= 3 else 'NOT met'}")
    print(f"ratio datasets_map_vs_grpo_nb: {base['seconds'] / ours['seconds']:.2f}x")


if __name__ == "__main__":
    main()
