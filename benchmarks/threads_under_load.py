"""Seconds per GRPO step of the demo recipe alone vs beside one busy competing process, in one run.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/threads_under_load.py [--steps 12] [--rounds 2]

Each side trains the demo recipe (`python -m grpo_nb train`, no warm-up, 60 generated participants, batch 32 of 8
generations as in the demo, no saving) in a fresh process with OMP_NUM_THREADS *unset*, so grpo_nb chooses its torch
threads itself (`grpo_nb.model.configure_torch_threads`: the cores in this process's affinity mask less the other work
busy on them when the model is loaded, divided among the local processes; the log says what it chose, and each side
prints it). `--omp-wait-policy PASSIVE` lets idle OpenMP threads sleep instead of spinning (the default spins, which
is fastest alone and worst beside another job). The competitor is one process multiplying 512x512 float32 matrices
with torch's default threads for as long as the side runs (a neighbour's job on a shared node); it starts 2 s BEFORE
the measured process (checked still running when that starts), so the choice can see it. The time per step is TRL's
own `step_time` from `log_history.jsonl`, the median over the steps after the first two. The sides alternate
`--rounds` times; medians. Each side prints the 1-minute load average before it starts (other people's work on the
machine shows there). Prints both, and the ratio beside/alone LAST (`ratio under_load: N.NNx`). Target <= 2.5x.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMPETITOR = """
import torch, time
a = torch.randn(512, 512)
end = time.time() + {seconds}
while time.time() < end: a = (a @ a).tanh()
"""


def one_side(steps: int, busy: bool, work: Path) -> float:
    "Median seconds per step of a short demo training, with or without a competing busy process."
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env.update(HF_HUB_OFFLINE="1", GRPO_NB_RUNS=str(work / "runs"))
    out = work / f"train-{'busy' if busy else 'alone'}-{time.time_ns()}"
    neighbour = {k: v for k, v in env.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}   # torch's defaults
    competitor = (subprocess.Popen([sys.executable, "-c", COMPETITOR.format(seconds=600)], env=neighbour)
                  if busy else None)
    try:
        if competitor:
            time.sleep(2)   # let it reach full speed, so the measured process's thread choice sees it
            if competitor.poll() is not None: raise SystemExit(f"the competitor exited early ({competitor.returncode})")
        load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
        cmd = [sys.executable, "-m", "grpo_nb", "train", "--recipe", "demo", "--max_steps", str(steps),
               "--sft_warmup_steps", "0", "--embedded_participants", "60", "--save_strategy", "no",
               "--logging_steps", "1", "--output_dir", str(out)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode: raise SystemExit(proc.stderr[-3000:])
    finally:
        if competitor: competitor.kill(); competitor.wait()
    times = [json.loads(l).get("step_time") for l in (out / "log_history.jsonl").read_text().splitlines()]
    times = [t for t in times if isinstance(t, (int, float))][2:]
    chosen = [l for l in (out / "train.log").read_text().splitlines() if "CPU thread" in l][:1]
    side = "beside one busy process" if busy else "alone"
    print(f"{side}: {statistics.median(times):.3f} s/step, load {load} at start;",
          chosen[0][chosen[0].find("torch uses"):] if chosen else "no thread choice logged", flush=True)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--omp-wait-policy", default=None,
                   help="set OMP_WAIT_POLICY for the training side (default: OpenMP's)")
    args = p.parse_args()
    if args.omp_wait_policy: os.environ["OMP_WAIT_POLICY"] = args.omp_wait_policy
    work = Path(tempfile.mkdtemp(prefix="threads_under_load_"))
    alone, busy = [], []
    for _ in range(args.rounds):
        alone.append(one_side(args.steps, False, work))
        busy.append(one_side(args.steps, True, work))
    a, b = statistics.median(alone), statistics.median(busy)
    print(f"cores available: {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}")
    print(f"alone: {a:.3f} s/step (rounds {', '.join(f'{x:.3f}' for x in alone)})")
    print(f"beside one busy process: {b:.3f} s/step (rounds {', '.join(f'{x:.3f}' for x in busy)})")
    print(f"ratio under_load: {b / a:.2f}x")


if __name__ == "__main__":
    main()
