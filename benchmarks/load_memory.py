"""Peak memory of loading + preparing N generated rows: the streaming path vs the all-in-memory one.

Generates N rows (grpo_nb.synthetic.generate_rows, JSON lines) into a temporary file, then runs `grpo-nb prepare`'s
work on it in a fresh subprocess under `/usr/bin/time -v` (peak RSS = "Maximum resident set size"):
  streaming:  grpo_nb.prepare.prepare_split_to_file (rows read, cleaned and written one at a time)
  in-memory:  grpo_nb.prepare.prepare_split + write_prepared (lists of raw rows, cleaned rows and examples)
The in-memory side runs at --compare-rows (default 50,000; it needs ~10x the file size), the streaming side at both
sizes, so the two are compared side by side. Both write the same examples.jsonl (checked at --compare-rows).

    .venv/bin/python benchmarks/load_memory.py [--rows 1000000] [--compare-rows 50000]

The LAST line is `ratio peak_rss/file_size: N.NNx` for the streaming path at --rows.
"""
import argparse, hashlib, os, re, subprocess, sys, tempfile, time
from pathlib import Path

CHILD = r"""
import sys, time
from grpo_nb.config import load_recipe
from grpo_nb import prepare
path, out, mode = sys.argv[1:4]
cfg = load_recipe("demo", overrides={"dataset_name": path}, hardware_checks=False)
start = time.perf_counter()
if mode == "stream": stats, paths = prepare.prepare_split_to_file(cfg, "train", out)
else:
    examples, stats = prepare.prepare_split(cfg, "train")
    paths = prepare.write_prepared(examples, stats, out)
print(f"rows_in={stats['rows_in']} examples={stats['examples']} dropped={stats['dropped']} "
      f"seconds={time.perf_counter() - start:.1f}")
"""

def write_rows(path: Path, n: int) -> None:
    from grpo_nb.synthetic import generate_rows
    import json
    written, seed = 0, 0
    with open(path, "w", encoding="utf-8") as f:
        while written < n:
            for row in generate_rows(n_participants=3000, seed=seed)[: n - written]:
                f.write(json.dumps(row, ensure_ascii=False) + "\n"); written += 1
            seed += 1

def run(path: Path, mode: str) -> dict:
    out = Path(tempfile.mkdtemp(prefix=f"load_memory_{mode}_"))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", CHILD, str(path), str(out), mode],
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0: sys.exit(f"{mode} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    peak_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    digest = hashlib.sha256((out / "examples.jsonl").read_bytes()).hexdigest()[:16]
    return {"peak_mib": peak_kib / 1024, "wall_s": wall, "child": proc.stdout.strip().splitlines()[-1], "digest": digest}

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--compare-rows", type=int, default=50_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="load_memory_"))
    results = {}
    for n in sorted({args.compare_rows, args.rows}):
        path = folder / f"rows_{n}.jsonl"
        write_rows(path, n)
        size_mib = path.stat().st_size / 2**20
        modes = ("stream", "memory") if n == args.compare_rows else ("stream",)
        for mode in modes:
            r = run(path, mode)
            results[n, mode] = r
            print(f"{n:>9,} rows  {size_mib:8.1f} MiB file  {mode:>6}: peak RSS {r['peak_mib']:8.1f} MiB "
                  f"({r['peak_mib'] / size_mib:5.2f}x file)  wall {r['wall_s']:6.1f} s  [{r['child']}]", flush=True)
        if len(modes) == 2:
            print(f"  same examples.jsonl: {results[n, 'stream']['digest'] == results[n, 'memory']['digest']}")
        for mode in modes: results[n, mode]["file_mib"] = size_mib
        path.unlink()
    r = results[args.rows, "stream"]
    print(f"ratio peak_rss/file_size: {r['peak_mib'] / r['file_mib']:.2f}x")

if __name__ == "__main__":
    main()
