"""Issue 11, the run folder under attack: one writer per run (2), secrets never written (3), the run folder's error
contract (11) and provenance (12). Each test names the outcome it expects: the error text, or what is on disk."""
import errno
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grpo_nb import pipeline
from grpo_nb.config import load_recipe
from grpo_nb.pipeline import RunError, RunLockedError, acquire_run_lock, run_layout, run_pipeline

TOKEN = "hf_AttackMarkerToken0123456789"


@pytest.fixture
def roots(tmp_path, monkeypatch):
    monkeypatch.setenv("GRPO_NB_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("GRPO_NB_REPORTS", str(tmp_path / "reports"))
    return tmp_path / "runs", tmp_path / "reports"


def report_only(name, overrides=None, **kw):
    """The cheapest real pipeline: only the report stage (no model, no data), into runs/<name>/."""
    return run_pipeline("demo", stages="report", name=name, overrides=overrides, **kw)


def all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


# --- family 2: two writers, one run ---------------------------------------------------------------------------
def test_a_live_lock_refuses_a_second_writer_and_names_its_owner(roots):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folder = roots[0] / "busy"; folder.mkdir(parents=True)
        (folder / ".lock").write_text(json.dumps({"pid": sleeper.pid, "host": socket.gethostname(), "started": "t0"}))
        with pytest.raises(RunLockedError, match=rf"in use by pid {sleeper.pid} on this host since t0"):
            report_only("busy")
        assert not (folder / "run.json").exists() and not (folder / "config.yaml").exists()   # nothing written
    finally:
        sleeper.kill(); sleeper.wait()


def test_a_stale_lock_is_reported_and_taken_over(roots, caplog):
    dead = subprocess.Popen([sys.executable, "-c", "pass"]); dead.wait()
    folder = roots[0] / "stale"; folder.mkdir(parents=True)
    (folder / ".lock").write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "started": "t0"}))
    record = report_only("stale")
    assert record["stages"]["report"]["status"] == "done"
    assert "removing a stale lock" in caplog.text and f"pid {dead.pid}" in caplog.text
    assert not (folder / ".lock").exists()                                 # released after the run


def test_a_lock_from_another_host_is_refused_with_the_way_out(roots):
    folder = roots[0] / "remote"; folder.mkdir(parents=True)
    (folder / ".lock").write_text(json.dumps({"pid": 12, "host": "gpu-node-17", "started": "t0"}))
    with pytest.raises(RunLockedError, match=r"host gpu-node-17.*remove .*\.lock"):
        report_only("remote")


def test_two_concurrent_pipelines_one_refused(roots, tmp_path):
    """Two real processes race for one run folder: exactly one takes it, the other exits 2 naming the lock."""
    env = dict(os.environ, GRPO_NB_RUNS=str(roots[0]), GRPO_NB_REPORTS=str(roots[1]))
    hold = ("import sys, time; from grpo_nb.pipeline import acquire_run_lock; from pathlib import Path; "
            "p = Path(sys.argv[1]); p.mkdir(parents=True); acquire_run_lock(p); print('held', flush=True); time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(roots[0] / "race")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        second = subprocess.run([sys.executable, "-m", "grpo_nb", "pipeline", "--recipe", "demo", "--name", "race",
                                 "--stages", "report"], env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 2, second.stderr[-2000:]
        assert f"in use by pid {holder.pid}" in second.stderr and "Traceback" not in second.stderr
    finally:
        holder.kill(); holder.wait()


# --- family 1 (pipeline side): SIGTERM leaves a resumable run, not "running" forever ---------------------------
def test_sigterm_records_the_stage_as_interrupted_and_releases_the_lock(roots, monkeypatch):
    def killed(layout, via):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not interrupt")
    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "_run_report", killed)
        with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
            report_only("term")
    record = json.loads((roots[0] / "term" / "run.json").read_text())
    assert record["stages"]["report"]["status"] == "interrupted"
    assert not (roots[0] / "term" / ".lock").exists()
    assert report_only("term")["stages"]["report"]["status"] == "done"     # and the same command resumes


# --- family 3: secrets never written -----------------------------------------------------------------------------
def test_a_token_in_a_dataset_url_and_a_hub_token_never_reach_the_run_folder(roots, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    url = f"https://user:{TOKEN}@datasets.example.org/grail/gun.jsonl"
    record = report_only("secret", {"dataset_name": url, "hub_token": TOKEN})
    blob = all_bytes(roots[0] / "secret") + all_bytes(roots[1] / "secret") + json.dumps(record).encode()
    assert TOKEN.encode() not in blob
    snapshot = yaml.safe_load((roots[0] / "secret" / "config.yaml").read_text())
    assert "hub_token" not in snapshot and snapshot["dataset_name"] == "https://[REDACTED]@datasets.example.org/grail/gun.jsonl"
    # the same recipe again is recognised as the same run (the comparison is on the redacted snapshot)
    assert report_only("secret", {"dataset_name": url, "hub_token": TOKEN})["stages"]["report"]["skipped"] is True


def test_a_hub_token_shaped_string_is_redacted_even_without_the_environment(roots, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    report_only("pasted", {"dataset_name": f"https://h/x.parquet?token={TOKEN}"})
    assert TOKEN.encode() not in all_bytes(roots[0] / "pasted")


# --- family 11: the run folder's error contract -----------------------------------------------------------------
@pytest.mark.parametrize("name,why", [("../x", "plain folder name"), ("/abs/run", "plain folder name"),
                                      ("x" * 300, "at most 100"), ("a/b", "plain folder name")])
def test_bad_run_names_are_refused_before_anything_is_written(roots, name, why):
    with pytest.raises(RunError, match=why):
        report_only(name)
    assert not roots[0].exists() or not any(roots[0].iterdir())


def test_a_file_where_the_run_folder_should_be(roots):
    roots[0].mkdir(parents=True); (roots[0] / "taken").write_text("not a folder")
    with pytest.raises(RunError, match="is a file, not a folder"):
        report_only("taken")
    assert (roots[0] / "taken").read_text() == "not a folder"


def test_an_unwritable_runs_folder_is_named(roots, monkeypatch):
    real_write = Path.write_bytes
    def refuse(self, data):
        if self.name.startswith(".write-test-"): raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_write(self, data)
    monkeypatch.setattr(Path, "write_bytes", refuse)        # root ignores chmod, so the refusal is simulated
    with pytest.raises(RunError, match=r"cannot write to the run folder .*readonly.*Permission denied.*GRPO_NB_RUNS"):
        report_only("readonly")


def test_a_full_disk_says_which_file_and_that_the_run_resumes(roots, monkeypatch):
    def full(layout, via): raise OSError(errno.ENOSPC, "No space left on device", str(layout.report / "README.md"))
    with monkeypatch.context() as patched:
        patched.setattr(pipeline, "_run_report", full)
        with pytest.raises(RunError, match=r"no space left .*README\.md.*run the same command again to resume"):
            report_only("full")
    assert report_only("full")["stages"]["report"]["status"] == "done"


def test_a_truncated_run_json_is_moved_aside_and_the_run_goes_on(roots, caplog):
    report_only("trunc")
    path = roots[0] / "trunc" / "run.json"
    path.write_text(path.read_text()[:25])
    record = report_only("trunc")
    assert record["stages"]["report"]["skipped"] is True                   # the marker still says the report is done
    assert "was damaged" in caplog.text and list((roots[0] / "trunc").glob("run.json.damaged-*"))
    assert json.loads(path.read_text())["name"] == "trunc"


def test_a_rerun_with_a_changed_key_names_the_key_and_the_way_forward(roots):
    report_only("changed")
    with pytest.raises(RunError, match=r"keys that differ: max_steps: 200 -> 7.*another --name.*--overwrite"):
        report_only("changed", {"max_steps": 7})


# --- family 12: provenance ----------------------------------------------------------------------------------------
def test_run_json_records_version_and_commit_when_run_from_outside_the_checkout(roots, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    record = report_only("prov")
    import grpo_nb
    assert record["package_version"] == grpo_nb.__version__
    source = Path(record["source"])
    if (source / ".git").exists():
        assert record["commit"] and len(record["commit"]) == 40
    assert json.loads((roots[0] / "prov" / "run.json").read_text())["package_version"] == grpo_nb.__version__


# --- family 4: evaluating the wrong model silently -----------------------------------------------------------------
def test_a_finished_training_without_weights_is_refused_not_replaced_by_the_base_model(roots):
    train = roots[0] / "noweights" / "train"; train.mkdir(parents=True)
    (train / "train_results.json").write_text(json.dumps({"global_step": 200}))
    (train / "config.json").write_text("{}")
    with pytest.raises(RunError, match=r"has train_results.json but no model weights .*silently score another model"):
        run_pipeline("demo", stages="evaluate", name="noweights")
    assert not (roots[0] / "noweights" / "evaluate" / "next_video" / "predictions.jsonl").exists()
    record = json.loads((roots[0] / "noweights" / "run.json").read_text())
    assert record["stages"]["evaluate"]["status"] == "failed"


def test_a_token_in_a_url_never_reaches_stderr(roots, tmp_path):
    env = dict(os.environ, HF_TOKEN=TOKEN, GRPO_NB_RUNS=str(roots[0]), GRPO_NB_REPORTS=str(roots[1]))
    url = f"https://user:{TOKEN}@datasets.example.org/grail/gun.jsonl"
    result = subprocess.run([sys.executable, "-m", "grpo_nb", "prepare", "--recipe", "demo", "--dataset_name", url,
                             "--out", str(tmp_path / "out")], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "grpo-nb prepare: error:" in result.stderr
    assert "https://[REDACTED]@datasets.example.org/grail/gun.jsonl" in result.stderr
    assert TOKEN not in result.stderr + result.stdout


def test_the_executed_report_notebook_keeps_no_token(roots, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    report_only("nb-secret", {"dataset_name": f"https://user:{TOKEN}@datasets.example.org/x.jsonl"}, via="papermill")
    notebook = roots[0] / "nb-secret" / "notebooks" / "report.ipynb"
    assert notebook.is_file() and TOKEN not in notebook.read_text()
    assert TOKEN.encode() not in all_bytes(roots[0] / "nb-secret") + all_bytes(roots[1] / "nb-secret")
