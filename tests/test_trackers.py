"Trackers work offline: `report_to: [tensorboard]` writes event files holding the GRPO metrics, step by step."
import os, subprocess, sys
from pathlib import Path

import pytest

pytest.importorskip("tensorboard", reason="tensorboard is the `tensorboard` extra (and part of `dev`)")


def test_tensorboard_event_files_offline(tmp_path):
    out = tmp_path / "train"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}
    proc = subprocess.run([sys.executable, "-m", "grpo_nb", "train", "--recipe", "demo", "--max_steps", "2",
                           "--sft_warmup_steps", "0", "--embedded_participants", "40",
                           "--per_device_train_batch_size", "8", "--save_strategy", "no", "--logging_steps", "1",
                           "--output_dir", str(out), "--report_to", "[tensorboard]"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
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

