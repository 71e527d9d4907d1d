"""Task accuracy during training (`task_eval_steps`): logged at every N-th step with the honest baseline, reaching
the log history, tensorboard and the report, and neither lost nor repeated when a run resumes."""
import json, os, shutil, subprocess, sys
from pathlib import Path

import pytest

TRAIN = ["--recipe", "demo", "--max_steps", "4", "--sft_warmup_steps", "10", "--embedded_participants", "40",
         "--per_device_train_batch_size", "8", "--save_steps", "2", "--logging_steps", "1", "--task_eval_steps", "2",
         "--task_eval_max_samples", "8", "--eval_max_new_tokens", "12"]
KEY = "eval_next_video/accuracy"


def train(out: Path, *extra: str) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "grpo_nb", "train", *TRAIN, "--output_dir", str(out), *extra],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]


def evaluations(out: Path) -> list[dict]:
    entries = [json.loads(l) for l in (out / "log_history.jsonl").read_text().splitlines() if l.strip()]
    return [e for e in entries if KEY in e]


def test_task_accuracy_is_logged_every_n_steps_and_survives_resume(tmp_path):
    full = tmp_path / "full" / "train"
    tensorboard = pytest.importorskip("tensorboard") is not None
    train(full, "--report_to", "[tensorboard]")
    evals = evaluations(full)
    assert [e["step"] for e in evals] == [2, 4]
    for e in evals:
        assert 0 <= e[KEY] <= 1 and e["eval_next_video/n"] > 0
        assert e["eval_next_video/baseline"] in ("random", "most_frequent_gold_index_train")
        assert 0 < e["eval_next_video/baseline_accuracy"] < 1 and e["eval_next_video/seconds"] > 0
    # the rows are whole held-out participants: none of them trained on (the one split rule)
    results = json.loads((full / "train_results.json").read_text())
    assert results["task_eval"]["evaluations"] == 2 and 0 < results["task_eval"]["share_of_wall"] < 1
    # the regular step entries keep their reward metrics (the evaluation does not take them)
    steps = [json.loads(l) for l in (full / "log_history.jsonl").read_text().splitlines() if '"reward"' in l]
    assert [e["step"] for e in steps] == [1, 2, 3, 4]
    if tensorboard:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        acc = EventAccumulator(str(next(full.rglob("events.out.tfevents.*")).parent)); acc.Reload()
        tag = next(t for t in acc.Tags()["scalars"] if t.endswith("next_video/accuracy"))
        assert [e.step for e in acc.Scalars(tag)] == [2, 4]
    # TRL's model card (written with the checkpoints) names the base model and the code, never `None`
    card = (full / "README.md").read_text()
    assert "[None]" not in card and 'model="None"' not in card and "`embedded:tiny-qwen2`" in card
    assert "## Provenance" in card and "- grpo_nb: " in card
    # stopped after checkpoint-2: resume evaluates again at step 4 only, and gives the same figure
    resumed = tmp_path / "resumed" / "train"
    resumed.mkdir(parents=True)
    for name in ("checkpoint-2", "sft_warmup"): shutil.copytree(full / name, resumed / name)
    shutil.copy(full / "recipe.yaml", resumed / "recipe.yaml")
    kept = [l for l in (full / "log_history.jsonl").read_text().splitlines() if json.loads(l).get("step", 0) <= 2]
    (resumed / "log_history.jsonl").write_text("\n".join(kept) + "\n")
    train(resumed, "--resume_from_checkpoint", "latest")
    again = evaluations(resumed)
    assert [e["step"] for e in again] == [2, 4]
    assert again[1][KEY] == evals[1][KEY]
    # the report's training page plots it against the step with the baseline
    from grpo_nb.reports import render_report
    run = tmp_path / "full"
    report = render_report(run, tmp_path / "report")
    page = (report / "training" / "README.md").read_text()
    assert "## Task accuracy during training" in page and "task_accuracy.png" in page
    assert (report / "training" / "task_accuracy.png").stat().st_size > 1000
