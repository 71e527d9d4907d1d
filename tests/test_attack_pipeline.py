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
    assert "taking over a stale lock" in caplog.text and f"pid {dead.pid} is gone" in caplog.text
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


# --- family 2, round 2: the lock itself, and the commands that write a folder besides the pipeline ----------------
LOCK_RACE = r'''
import contextlib, errno, json, os, socket, sys, tempfile
from pathlib import Path
from grpo_nb import files

def trial(folder, contenders, unguarded, no_link, stale):
    if stale:   # every contender first finds a dead owner's lock and races to break it
        (folder / ".lock").write_text(json.dumps({"pid": 2 ** 22 + 11, "host": socket.gethostname(), "started": "t"}))
    results_r, results_w = os.pipe(); go_r, go_w = os.pipe(); end_r, end_w = os.pipe()
    kids = []
    for _ in range(contenders):
        pid = os.fork()
        if pid == 0:
            for fd in (results_r, go_w, end_w): os.close(fd)
            if unguarded: files.folder_guard = lambda folder, timeout=0: contextlib.nullcontext(False)
            if no_link:
                def no_links(a, b): raise OSError(errno.EPERM, "no hard links here")
                os.link = no_links
            os.read(go_r, 1)
            try: files.acquire_run_lock(folder); outcome = b"O"
            except files.RunLockedError: outcome = b"R"
            except BaseException: outcome = b"E"
            os.write(results_w, outcome)
            os.read(end_r, 1)                  # hold the lock until every contender has tried
            os._exit(0)
        kids.append(pid)
    for fd in (results_w, go_r, end_r): os.close(fd)
    os.write(go_w, b"x" * contenders)
    got = b""
    while len(got) < contenders: got += os.read(results_r, 64)
    os.write(end_w, b"x" * contenders)
    for kid in kids: os.waitpid(kid, 0)
    for fd in (results_r, go_w, end_w): os.close(fd)
    return got.decode()

trials, contenders, unguarded, no_link, stale = int(sys.argv[1]), int(sys.argv[2]), *(a == "1" for a in sys.argv[3:6])
root = Path(tempfile.mkdtemp())
outcomes = []
for i in range(trials):
    (root / f"t{i}").mkdir()
    outcomes.append(trial(root / f"t{i}", contenders, unguarded, no_link, stale))
print(json.dumps(outcomes))
'''


@pytest.mark.parametrize("trials,unguarded,no_link,stale", [
    (100, False, False, False),      # the normal case: a folder flock and an atomic hard link
    (100, False, False, True),       # all contenders find a stale lock and race to take it over
    (60, True, False, True),         # no folder flock (some network file systems): the link alone, stale lock
    (60, False, True, False),        # no hard links: O_EXCL, and an empty young lock file counts as live
    (60, True, True, True),          # neither: a stale lock moved aside and compared before it is dropped
], ids=["fresh", "stale", "stale-no-flock", "fresh-no-link", "stale-no-flock-no-link"])
def test_concurrent_lock_races_have_exactly_one_owner(trials, unguarded, no_link, stale):
    """Four processes race for one folder's lock, `trials` times: exactly one owner each time, the rest refused."""
    result = subprocess.run([sys.executable, "-c", LOCK_RACE, str(trials), "4", *("1" if f else "0" for f in
                                                                                  (unguarded, no_link, stale))],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    outcomes = json.loads(result.stdout)
    assert len(outcomes) == trials
    assert [o.count("O") for o in outcomes] == [1] * trials, outcomes
    assert all(sorted(o) == ["O", "R", "R", "R"] for o in outcomes), outcomes     # refused, never an error


def test_a_lock_naming_a_reused_pid_is_stale(roots, caplog):
    """The lock's pid is alive but belongs to another process now (its start time differs): taken over."""
    from grpo_nb.files import process_start_time
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        started = process_start_time(sleeper.pid)
        if started is None: pytest.skip("no /proc start times here")
        folder = roots[0] / "reused"; folder.mkdir(parents=True)
        (folder / ".lock").write_text(json.dumps({"pid": sleeper.pid, "host": socket.gethostname(), "started": "t0",
                                                  "pid_start": started - 100}))
        assert report_only("reused")["stages"]["report"]["status"] == "done"
        assert f"pid {sleeper.pid} now belongs to another process" in caplog.text
    finally:
        sleeper.kill(); sleeper.wait()


def test_every_refusal_names_the_lock_file_to_remove(roots):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folder = roots[0] / "named"; folder.mkdir(parents=True)
        lock = folder / ".lock"
        for owner in ({"pid": sleeper.pid, "host": socket.gethostname(), "started": "t0"},      # no start time kept
                      {"pid": 12, "host": "gpu-node-17", "started": "t0"}):                     # another host
            lock.write_text(json.dumps(owner))
            with pytest.raises(RunLockedError, match=rf"remove the lock file {lock}$"):
                report_only("named")
        lock.write_text("")                                                     # empty and young: being written
        with pytest.raises(RunLockedError, match=rf"still empty.*remove the lock file {lock}$"):
            report_only("named")
    finally:
        sleeper.kill(); sleeper.wait()


HOLD_LOCK = ("import sys, time; from grpo_nb.files import acquire_run_lock; from pathlib import Path; "
             "p = Path(sys.argv[1]); p.mkdir(parents=True, exist_ok=True); acquire_run_lock(p); "
             "print('held', flush=True); time.sleep(60)")


@pytest.mark.parametrize("command", ["evaluate", "train"])
def test_a_second_evaluate_or_train_into_a_held_folder_exits_2_naming_the_lock(roots, tmp_path, command):
    """`grpo-nb evaluate --out X` / `grpo-nb train --output_dir X` while another process writes X: refused, exit 2,
    one line, nothing written (before: both ran, 80 prediction rows for 40 examples)."""
    folder = tmp_path / "shared"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(folder)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        args = (["evaluate", "--recipe", "demo", "--out", str(folder)] if command == "evaluate"
                else ["train", "--recipe", "demo", "--output_dir", str(folder)])
        env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
        second = subprocess.run([sys.executable, "-m", "grpo_nb", *args], env=env, capture_output=True, text=True,
                                timeout=300)
        what = "evaluation folder" if command == "evaluate" else "training output_dir"
        assert second.returncode == 2, second.stderr[-3000:]
        assert f"grpo-nb {command}: error: {what} {folder} is in use by pid {holder.pid} on this host" in second.stderr
        assert f"remove the lock file {folder / '.lock'}" in second.stderr and "Traceback" not in second.stderr
        assert sorted(p.name for p in folder.iterdir()) == [".lock"]                  # nothing else was written
    finally:
        holder.kill(); holder.wait()


def test_evaluate_takes_and_releases_its_folder_lock_reentrantly(roots, monkeypatch, tmp_path):
    """The pipeline's evaluate stage holds `evaluate/.lock` while `evaluate` (same process) takes it again."""
    seen = {}
    def fake(cfg, model_path, out, *rest):
        seen["lock"] = json.loads((out / ".lock").read_text())["pid"]
        return {"next_video": {}}
    monkeypatch.setattr(pipeline, "_evaluate", fake)
    record = run_pipeline("demo", stages="evaluate", name="reenter")
    assert seen["lock"] == os.getpid() and record["stages"]["evaluate"]["status"] == "done"
    assert not list((roots[0] / "reenter").rglob(".lock"))                     # all released
    (tmp_path / "afile").write_text("x")
    with pytest.raises(RunError, match=r"evaluation folder .*afile is a file, not a folder"):
        pipeline.evaluate(load_recipe("demo"), None, tmp_path / "afile")


# --- family 1, round 2: SIGHUP like SIGTERM; papermill failures named ---------------------------------------------
SIGHUP_DURING_REPORT = r'''
import os, signal, sys
from grpo_nb import cli, pipeline
def hung_up(layout, via):
    os.kill(os.getpid(), signal.SIGHUP)
    raise AssertionError("SIGHUP did not interrupt")
pipeline._run_report = hung_up
sys.exit(cli.main(["pipeline", "--recipe", "demo", "--name", "hup", "--stages", "report"]))
'''


def test_sighup_records_the_stage_as_interrupted_exits_129_and_resumes(roots):
    env = dict(os.environ, GRPO_NB_RUNS=str(roots[0]), GRPO_NB_REPORTS=str(roots[1]), HF_HUB_OFFLINE="1")
    result = subprocess.run([sys.executable, "-c", SIGHUP_DURING_REPORT], env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 128 + signal.SIGHUP, result.stderr[-3000:]
    assert "SIGHUP" in result.stderr and "Traceback" not in result.stderr
    record = json.loads((roots[0] / "hup" / "run.json").read_text())
    assert record["stages"]["report"]["status"] == "interrupted" and "SIGHUP" in record["stages"]["report"]["error"]
    assert not (roots[0] / "hup" / ".lock").exists()
    assert report_only("hup")["stages"]["report"]["status"] == "done"


FAILING_NOTEBOOK = {"cells": [
    {"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]}, "source": "marker = 'x'", "outputs": [],
     "execution_count": None},
    {"cell_type": "code", "id": "fails", "metadata": {},
     "source": "raise ValueError(f'the failing cell says {marker}')", "outputs": [],
     "execution_count": None}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "python3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5}


def test_a_failing_papermill_notebook_is_a_run_error_naming_it_and_the_cell(tmp_path, monkeypatch):
    (tmp_path / "nbs").mkdir()
    (tmp_path / "nbs" / "broken.ipynb").write_text(json.dumps(FAILING_NOTEBOOK))
    monkeypatch.setattr(pipeline, "find_repo_root", lambda start=None: tmp_path)
    executed = tmp_path / "run" / "notebooks" / "broken.ipynb"
    with pytest.raises(RunError) as e:
        pipeline._papermill("broken.ipynb", executed, {"marker": "here"}, tmp_path)
    # cell 3 of the executed notebook: papermill inserts the injected parameters cell after the tagged one
    assert str(e.value) == (f"broken.ipynb failed in cell 3 with ValueError: the failing cell says here (the executed "
                            f"notebook, with the whole traceback, is {executed})")
    assert executed.is_file()


def test_a_failing_papermill_stage_is_recorded_failed(roots, monkeypatch):
    from papermill.exceptions import PapermillExecutionError
    def broken(notebook, output, parameters, cwd):
        failure = PapermillExecutionError(3, 3, "x", "KeyError", "'accuracy'", [])
        raise RunError(pipeline.papermill_failure(notebook, output, failure))
    monkeypatch.setattr(pipeline, "_papermill", broken)
    with pytest.raises(RunError, match=r"^report.ipynb failed in cell 3 with KeyError: 'accuracy' \(the executed"):
        report_only("pmfail", via="papermill")
    record = json.loads((roots[0] / "pmfail" / "run.json").read_text())
    assert record["stages"]["report"]["status"] == "failed"
    assert "report.ipynb failed in cell 3" in record["stages"]["report"]["error"]


# --- family 12, round 2: a rerun stage clears what later stages made from it; provenance per stage ----------------
def fake_stages(monkeypatch, calls):
    def train(cfg, layout, via, overwrite):
        calls.append("train"); layout.train.mkdir(parents=True, exist_ok=True)
        (layout.train / "train_results.json").write_text("{}")
    def evaluate(cfg, layout):
        calls.append("evaluate"); layout.next_video.mkdir(parents=True, exist_ok=True)
        (layout.next_video / "predictions.jsonl").write_text('{"example_id": "old"}\n')
        (layout.evaluate / "done.json").write_text("{}")
        return {}
    def report(layout, via):
        calls.append("report"); layout.report.mkdir(parents=True, exist_ok=True)
        (layout.report / "README.md").write_text("# old"); return layout.report / "README.md"
    monkeypatch.setattr(pipeline, "_run_train", train)
    monkeypatch.setattr(pipeline, "_run_evaluate", evaluate)
    monkeypatch.setattr(pipeline, "_run_report", report)


def test_rerunning_train_clears_the_evaluation_and_report_made_from_the_old_model(roots, monkeypatch, caplog):
    calls = []
    fake_stages(monkeypatch, calls)
    run_pipeline("demo", name="stale-marks")
    layout = run_layout("stale-marks")
    record = run_pipeline("demo", stages="train", name="stale-marks", overwrite=True)
    assert calls == ["train", "evaluate", "report", "train"]
    assert not (layout.evaluate / "done.json").exists() and not (layout.next_video / "predictions.jsonl").exists()
    assert not (layout.report / "README.md").exists()
    assert {s: record["stages"][s]["status"] for s in pipeline.STAGES} == {"train": "done", "evaluate": "cleared",
                                                                           "report": "cleared"}
    assert record["stages"]["evaluate"]["reason"] == "the train stage ran again"
    assert "the evaluate and report output made from the previous train is removed" in caplog.text
    # the next plain run evaluates and reports the new model instead of skipping on the stale markers
    record = run_pipeline("demo", name="stale-marks")
    assert calls[-2:] == ["evaluate", "report"] and record["stages"]["evaluate"]["status"] == "done"


def test_rerunning_evaluate_clears_only_the_report(roots, monkeypatch):
    calls = []
    fake_stages(monkeypatch, calls)
    run_pipeline("demo", name="re-eval")
    layout = run_layout("re-eval")
    (layout.evaluate / "done.json").unlink()                     # say, an evaluation interrupted on a rerun
    record = run_pipeline("demo", stages="evaluate", name="re-eval")
    assert calls == ["train", "evaluate", "report", "evaluate"]
    assert (layout.train / "train_results.json").is_file() and not (layout.report / "README.md").exists()
    assert record["stages"]["report"]["status"] == "cleared" and record["stages"]["train"]["status"] == "done"


def test_each_stage_records_the_code_that_ran_it(roots, monkeypatch):
    calls = []
    fake_stages(monkeypatch, calls)
    run_pipeline("demo", stages="train", name="per-stage")
    path = roots[0] / "per-stage" / "run.json"
    record = json.loads(path.read_text())
    old = {"package_version": "0.0.1", "source": "/elsewhere", "commit": "a" * 40, "dirty": False}
    record["stages"]["train"]["code"] = old                       # as if an older checkout had trained
    path.write_text(json.dumps(record))
    record = run_pipeline("demo", name="per-stage")
    now = pipeline.code_version()
    assert record["stages"]["train"]["code"] == old and record["stages"]["train"]["skipped"] is True
    assert record["stages"]["evaluate"]["code"] == now == record["stages"]["report"]["code"]
    assert record["commit"] == now["commit"]


def test_provenance_reaches_the_task_evaluators_only_when_they_take_it():
    def takes(model, *, provenance=None): pass
    def older(model, *, batch_size=1): pass
    assert pipeline.with_provenance(takes, {"batch_size": 2}, {"commit": "c"}) == {"batch_size": 2,
                                                                                     "provenance": {"commit": "c"}}
    assert pipeline.with_provenance(older, {"batch_size": 2}, {"commit": "c"}) == {"batch_size": 2}


def test_two_threads_running_one_pipeline_one_is_refused_and_no_row_is_written_twice(roots):
    "Round 3, 2.5: the run lock is per thread, so a second thread of this process is refused like another process."
    import collections
    import threading
    import time
    fast = dict(embedded_participants=60, max_eval_samples=6, eval_max_new_tokens=4)
    outcomes, lock = [], run_layout("t25").root / ".lock"
    def go(wait):
        while wait and not lock.exists() and threads[0].is_alive(): time.sleep(0.005)   # the first holds the run
        try: run_pipeline("demo", name="t25", stages=["evaluate"], overrides=fast); outcomes.append("ok")
        except RunLockedError as e: outcomes.append(str(e))
    threads = [threading.Thread(target=go, args=(i,), name=f"pipeline-{i}") for i in range(2)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert sorted(o == "ok" for o in outcomes) == [False, True], outcomes
    refused = next(o for o in outcomes if o != "ok")
    assert f"(thread {threads[0].ident} ('pipeline-0') of this same process holds it)" in refused
    rows = [json.loads(line) for line in (run_layout("t25").evaluate / "next_video" / "predictions.jsonl").open()]
    counts = collections.Counter((r["example_id"], r.get("permutation")) for r in rows)
    assert rows and max(counts.values()) == 1
