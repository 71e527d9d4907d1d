"""Trackers work offline: `report_to: [tensorboard]` writes event files holding the GRPO metrics, step by step; wandb
(offline mode) and trackio (a local database), when installed, record the same run and the completion tables."""
import os, subprocess, sys
from pathlib import Path

import pytest



def train_two_steps(out: Path, tracker: str, **env_extra) -> subprocess.CompletedProcess:
    "Two GRPO steps of the demo recipe reporting to `tracker`, offline."
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", **env_extra}
    proc = subprocess.run([sys.executable, "-m", "grpo_nb", "train", "--recipe", "demo", "--max_steps", "2",
                           "--sft_warmup_steps", "0", "--embedded_participants", "40",
                           "--per_device_train_batch_size", "8", "--save_strategy", "no", "--logging_steps", "1",
                           "--log_completions", "true", "--output_dir", str(out), "--report_to", f"[{tracker}]"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_tensorboard_event_files_offline(tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard is the `tensorboard` extra (and part of `dev`)")
    out = tmp_path / "train"
    train_two_steps(out, "tensorboard")
    events = list(out.rglob("events.out.tfevents.*"))
    assert len(events) == 1, events
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(events[0].parent)); acc.Reload()
    tags = set(acc.Tags()["scalars"])
    # what GRPO users debug with, logged at every step
    for tag in ("train/reward", "train/reward_std", "train/frac_reward_zero_std", "train/entropy",
                "train/completions/mean_length", "train/rewards/strict_accuracy_reward/mean",
                "train/rewards/format_reward/mean", "train/clip_ratio/region_mean"):
        assert tag in tags, (tag, sorted(tags))
    assert [e.step for e in acc.Scalars("train/reward")] == [1, 2]


def test_wandb_offline_run_records_metrics_and_completions(tmp_path):
    pytest.importorskip("wandb", reason="wandb is not installed (pip install wandb)")
    train_two_steps(tmp_path / "train", "wandb", WANDB_DIR=str(tmp_path), WANDB_PROJECT="grpo-nb-test",
                    WANDB_API_KEY="", WANDB_SILENT="true")
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, list((tmp_path / "wandb").iterdir()) if (tmp_path / "wandb").exists() else tmp_path
    data = next(runs[0].glob("*.wandb")).read_bytes()
    for key in (b"train/reward", b"train/frac_reward_zero_std", b"completions"):
        assert key in data, key


def test_trackio_local_run_records_metrics(tmp_path):
    pytest.importorskip("trackio", reason="trackio is not installed (pip install trackio)")
    train_two_steps(tmp_path / "train", "trackio", TRACKIO_DIR=str(tmp_path / "trackio"),
                    TRACKIO_PROJECT="grpo-nb-test")
    stored = [p for p in (tmp_path / "trackio").rglob("*") if p.is_file()]
    assert stored, "trackio wrote nothing"
    assert any(b"train/reward" in p.read_bytes() for p in stored), [p.name for p in stored]

