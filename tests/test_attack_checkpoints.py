"""Family 1 (issue 11): runs that could never resume. A kill -9 during the FIRST checkpoint save, a torn newest
checkpoint, SIGTERM and Ctrl-C: each rerun resumes (from the newest complete checkpoint, or fresh), names what it
skipped, and loses or repeats no step. Real `train` runs on the embedded tiny model, a few short steps each."""
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grpo_nb.config import load_recipe
from grpo_nb.train import (BROKEN_CHECKPOINTS_DIR, LOG_HISTORY_FILE, TRAIN_INTERRUPTED_FILE, TRAIN_RESULTS_FILE,
                           checkpoint_problem, list_checkpoints, read_log_history, train)

REPO = Path(__file__).resolve().parent.parent
FAST = ["--per_device_train_batch_size", "4", "--num_generations", "4", "--max_completion_length", "8",
        "--logging_steps", "1", "--max_train_samples", "16", "--embedded_participants", "40",
        "--sft_warmup_steps", "0", "--disable_tqdm", "true", "--report_to", "none"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("grpo_nb_cache")


def env_for(cache: Path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "1", "GRPO_NB_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"): env.pop(k, None)
    return env


def steps(out: Path) -> list[int]:
    return [e["step"] for e in read_log_history(out / LOG_HISTORY_FILE) if e["phase"] == "train"]


KILLED_DURING_FIRST_SAVE = textwrap.dedent("""
    # SIGKILL this process in the middle of saving checkpoint-2: after the weights and the optimizer, before the
    # RNG state and trainer_state.json (the trainer's last file). As abrupt as an external kill -9, at a known point.
    import os, signal, sys
    import transformers
    from grpo_nb.config import load_recipe
    from grpo_nb.train import train
    transformers.Trainer._save_rng_state = lambda self, output_dir: os.kill(os.getpid(), signal.SIGKILL)
    train(load_recipe("demo", sys.argv[1:]))
""")


def test_kill_9_during_the_first_checkpoint_save_then_rerun_starts_fresh_and_names_the_broken_folder(tmp_path, cache_dir):
    out, env = tmp_path / "train", env_for(cache_dir)
    args = FAST + ["--max_steps", "3", "--save_steps", "2", "--output_dir", str(out)]
    script = tmp_path / "killed.py"; script.write_text(KILLED_DURING_FIRST_SAVE)
    killed = subprocess.run([sys.executable, str(script), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert (out / "checkpoint-2" / "model.safetensors").is_file()             # the save really was under way
    assert not (out / "checkpoint-2" / "trainer_state.json").exists()
    assert checkpoint_problem(out / "checkpoint-2") == "no trainer_state.json (killed while saving?)"
    assert list_checkpoints(out) == []

    # What the pipeline runs (it asks for latest whenever checkpoint-* exists): no refusal, a fresh start, a warning.
    rerun = subprocess.run([sys.executable, "-m", "grpo_nb.train", "--recipe", "demo", *args, "--resume_from_checkpoint",
                            "latest"], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"skipping broken {out / 'checkpoint-2'} (no trainer_state.json (killed while saving?)); no complete checkpoint left" in rerun.stderr
    assert f"{out / 'checkpoint-2'} is a broken checkpoint" in rerun.stderr and str(out / BROKEN_CHECKPOINTS_DIR / "checkpoint-2") in rerun.stderr
    results = json.loads((out / TRAIN_RESULTS_FILE).read_text())
    assert (results["global_step"], results["resumed_from"]) == (3, None)
    assert steps(out) == [1, 2, 3]
    assert [p.name for p in list_checkpoints(out)] == ["checkpoint-2", "checkpoint-3"]   # step 2 saved again, cleanly
    assert (out / BROKEN_CHECKPOINTS_DIR / "checkpoint-2" / "model.safetensors").is_file()   # kept for inspection


def test_a_torn_newest_checkpoint_falls_back_to_the_newest_complete_one(tmp_path, cache_dir, monkeypatch, caplog):
    monkeypatch.setenv("GRPO_NB_CACHE", str(cache_dir))
    out = tmp_path / "train"
    args = FAST + ["--max_steps", "4", "--save_steps", "2", "--output_dir", str(out)]
    train(load_recipe("demo", args))
    weights = out / "checkpoint-4" / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:len(data) // 2])                                # torn: a disk that filled, a kill
    (out / TRAIN_RESULTS_FILE).unlink()                                       # the run never finished
    assert checkpoint_problem(out / "checkpoint-4").startswith(f"model.safetensors is truncated ({len(data) // 2:,} bytes")

    with caplog.at_level(logging.WARNING, logger="grpo_nb.train"):
        summary = train(load_recipe("demo", args), resume_from_checkpoint="latest")
    assert (summary["global_step"], summary["resumed_from"]) == (4, str(out / "checkpoint-2"))
    assert steps(out) == [1, 2, 3, 4]
    warnings = " ".join(r.getMessage() for r in caplog.records)
    assert f"skipping broken {out / 'checkpoint-4'} (model.safetensors is truncated" in warnings
    assert "resuming from checkpoint-2 instead" in warnings
    assert checkpoint_problem(out / "checkpoint-4") is None                  # step 4 saved again, whole
    assert (out / BROKEN_CHECKPOINTS_DIR / "checkpoint-4").is_dir()

    # A torn trainer state and a torn optimizer are caught the same way
    (out / "checkpoint-4" / "trainer_state.json").write_text('{"global_step": 4, "log_hi')
    assert checkpoint_problem(out / "checkpoint-4") == "a torn trainer_state.json (no readable global_step)"
    (out / "checkpoint-2" / "optimizer.pt").write_bytes(b"PK\x03\x04")
    assert checkpoint_problem(out / "checkpoint-2") == "a torn optimizer.pt (not a complete torch archive)"
    assert list_checkpoints(out) == []


def wait_for_step(out: Path, step: int, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None: raise AssertionError(f"training ended (rc {proc.returncode}) before step {step}")
        try:
            if steps(out) and max(steps(out)) >= step: return
        except (OSError, ValueError): pass
        time.sleep(0.1)
    raise AssertionError(f"step {step} never logged")


def test_sigterm_saves_a_checkpoint_records_the_interruption_and_the_rerun_continues(tmp_path, cache_dir):
    out, env = tmp_path / "train", env_for(cache_dir)
    args = FAST + ["--max_steps", "400", "--save_steps", "1000", "--output_dir", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "grpo_nb", "train", "--recipe", "demo", *args], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_step(out, 2, proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-3000:]
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("grpo-nb train: SIGTERM: training stopped cleanly after step "), last
    assert last.endswith("the run can resume: run the same command with --resume_from_checkpoint latest"), last
    marker = json.loads((out / TRAIN_INTERRUPTED_FILE).read_text())
    stopped = marker["global_step"]
    assert marker["signal"] == "SIGTERM" and stopped >= 2
    assert marker["resume_from"] == str(out / f"checkpoint-{stopped}")       # the clean stop saved its step
    assert [p.name for p in list_checkpoints(out)] == [f"checkpoint-{stopped}"]
    assert steps(out) == list(range(1, stopped + 1))
    assert not (out / TRAIN_RESULTS_FILE).exists()

    resumed = subprocess.run([sys.executable, "-m", "grpo_nb", "train", "--recipe", "demo", *args[:-4],
                              "--max_steps", str(stopped + 2), "--save_steps", "1000", "--output_dir", str(out),
                              "--resume_from_checkpoint", "latest"], env=env, cwd=REPO, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    results = json.loads((out / TRAIN_RESULTS_FILE).read_text())
    assert (results["global_step"], results["resumed_from"]) == (stopped + 2, str(out / f"checkpoint-{stopped}"))
    assert steps(out) == list(range(1, stopped + 3))                        # no step lost, none twice
    assert not (out / TRAIN_INTERRUPTED_FILE).exists()                       # finished: the marker is gone


def test_ctrl_c_is_one_line_no_traceback_and_the_run_is_marked_interrupted(tmp_path, cache_dir):
    out, env = tmp_path / "train", env_for(cache_dir)
    args = FAST + ["--max_steps", "400", "--save_steps", "1", "--output_dir", str(out)]
    proc = subprocess.Popen([sys.executable, "-m", "grpo_nb", "train", "--recipe", "demo", *args], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_step(out, 2, proc)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == ("grpo-nb train: interrupted (Ctrl-C); the run can resume: run "
                                               "the same command with --resume_from_checkpoint latest")
    marker = json.loads((out / TRAIN_INTERRUPTED_FILE).read_text())
    assert marker["signal"] == "SIGINT" and marker["global_step"] >= 2
    assert list_checkpoints(out), "checkpoints saved before Ctrl-C are kept"


# --- round 2: a torn warm-up model never blocks resume; the output_dir has one writer ------------------------------
def cut(path: Path) -> None:
    data = path.read_bytes(); path.write_bytes(data[:len(data) // 2])


@pytest.mark.parametrize("damage,named", [
    (lambda w: cut(w / "model" / "model.safetensors"), "model.safetensors is truncated ("),
    (lambda w: (w / "model" / "model.safetensors").unlink(), "no model weights (model.safetensors)"),
    (lambda w: (w / "warmup_results.json").write_text('{"steps": 2, "last_lo'), "a torn warmup_results.json"),
], ids=["weights-cut", "weights-gone", "marker-torn"])
def test_a_torn_warmup_model_is_redone_on_resume_with_a_warning(tmp_path, cache_dir, monkeypatch, caplog, damage,
                                                               named):
    monkeypatch.setenv("GRPO_NB_CACHE", str(cache_dir))
    out = tmp_path / "train"
    args = FAST[:-6] + ["--sft_warmup_steps", "2", "--sft_warmup_batch_size", "4", "--disable_tqdm", "true",
                        "--report_to", "none", "--max_steps", "1", "--save_steps", "1", "--output_dir", str(out)]
    train(load_recipe("demo", args))
    warm = out / "sft_warmup"
    damage(warm)
    with caplog.at_level(logging.WARNING, logger="grpo_nb.train"):
        summary = train(load_recipe("demo", [*args[:-6], "--max_steps", "2", "--save_steps", "1", "--output_dir",
                                             str(out), "--overwrite", "true"]), resume_from_checkpoint="latest")
    assert (summary["global_step"], summary["resumed_from"]) == (2, str(out / "checkpoint-1"))
    warning = f"resuming: the saved warm-up model {warm / 'model'} cannot be used ("
    assert warning in caplog.text and named in caplog.text and "doing the warm-up again" in caplog.text
    assert summary["sft_warmup"]["steps"] == 2 and "reloaded" not in summary["sft_warmup"]
    from grpo_nb.model import model_folder_problem
    assert model_folder_problem(warm / "model") is None                    # saved whole again
    assert json.loads((warm / "warmup_results.json").read_text())["steps"] == 2
    assert steps(out) == [1, 2] and not (out / ".lock").exists()


def test_train_refuses_an_output_dir_held_by_another_process(tmp_path, cache_dir, monkeypatch):
    from grpo_nb.files import RunLockedError
    monkeypatch.setenv("GRPO_NB_CACHE", str(cache_dir))
    out = tmp_path / "train"; out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from grpo_nb.files import acquire_run_lock; "
                               "acquire_run_lock(sys.argv[1]); print('held', flush=True); time.sleep(60)", str(out)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockedError, match=rf"training output_dir {out} is in use by pid {holder.pid}"):
            train(load_recipe("demo", FAST + ["--max_steps", "1", "--output_dir", str(out)]))
        assert sorted(p.name for p in out.iterdir()) == [".lock"]             # nothing touched
    finally:
        holder.kill(); holder.wait()
