"The GPU smoke benchmark's code path runs on CPU (`--tiny`): the gun recipe's settings on a small random model."
import os, re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_gpu_smoke_tiny_runs_the_gun_path(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "GRPO_NB_RUNS": str(tmp_path / "runs")}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_smoke.py"), "--tiny", "--steps", "2",
                           "--participants", "40", "--work", str(tmp_path / "work")],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    step_s = float(re.fullmatch(r"seconds per step: ([0-9.]+)", lines[-1]).group(1))
    assert step_s > 0
    figures = lines[-2]
    # the gun recipe's code path: its rewards, activation checkpointing on, transformers generation on CPU
    assert "rewards accuracy,format,opinion_direction" in figures, figures
    assert "activation checkpointing True" in figures and figures.lstrip().startswith("transformers:"), figures
    tokens_per_s = float(re.search(r"([0-9.]+) generated tokens/s", figures).group(1))
    assert tokens_per_s > 0
    # 2 steps trained and the model saved where the override put it, nothing under runs/
    assert (tmp_path / "work" / "train-hf" / "train_results.json").is_file()
    assert not (tmp_path / "runs").exists()
