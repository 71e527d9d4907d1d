"""Families 8 and 11 (issue 11): the CLI's error contract. A wrong --kind in `grpo-nb score` says which kind the file
looks like; an unknown stage names the nearest one; a run name that is a path or too long is refused; damaged
predictions files end in one line. Every one: `grpo-nb <cmd>: error: …`, exit status 2, no traceback."""
import contextlib
import gzip
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grpo_nb.cli import main, predictions_kind

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args) -> tuple[int, str]:
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()):
        rc = main(list(args))
    return rc, err.getvalue()


def one_error_line(rc: int, err: str, command: str) -> str:
    assert rc == 2, err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"grpo-nb {command}: error: "), line
    return line


NEXT_VIDEO_ROW = {"example_id": "s1/0/0", "gold_index": 2, "n_options": 3, "issue": "gun_control",
                  "participant_study": "study1", "participant_id": "p1", "completion": "<think>x</think><answer>2</answer>",
                  "messages": [{"role": "user", "content": "…"}]}
OPINION_ROW = {"example_id": "p1", "participant_id": "p1", "before": 0.4, "after": 0.5, "issue": "gun_control",
               "completion": "<think>x</think><answer>0.5</answer>", "messages": [{"role": "user", "content": "…"}]}


def write_rows(path: Path, row: dict, n: int = 5) -> Path:
    path.write_text("".join(json.dumps({**row, "example_id": f"{row['example_id']}-{i}", "participant_id": f"p{i}"}) + "\n"
                            for i in range(n)))
    return path


# ---------------------------------------------------------------- family 8: --kind

def test_opinion_file_scored_as_next_video_says_it_looks_like_opinion(tmp_path):
    path = write_rows(tmp_path / "opinion.jsonl", OPINION_ROW)
    line = one_error_line(*run_cli("score", "--predictions", str(path), "--kind", "next_video"), "score")
    assert line == (f"grpo-nb score: error: --kind next_video, but {path} looks like opinion predictions (its rows have "
                    "before and after opinions and no gold_index); use --kind opinion, or leave --kind out")


def test_next_video_file_scored_as_opinion_says_it_looks_like_next_video(tmp_path):
    path = write_rows(tmp_path / "nv.jsonl", NEXT_VIDEO_ROW)
    line = one_error_line(*run_cli("score", "--predictions", str(path), "--kind", "opinion"), "score")
    assert line == (f"grpo-nb score: error: --kind opinion, but {path} looks like next_video predictions (its rows have "
                    "a gold_index); use --kind next_video, or leave --kind out")


def test_the_right_kind_and_no_kind_both_score(tmp_path):
    path = write_rows(tmp_path / "nv.jsonl", NEXT_VIDEO_ROW)
    assert run_cli("score", "--predictions", str(path), "--kind", "next_video")[0] == 0
    assert run_cli("score", "--predictions", str(path))[0] == 0
    assert predictions_kind([NEXT_VIDEO_ROW]) == "next_video" and predictions_kind([OPINION_ROW]) == "opinion"
    assert predictions_kind([{"x": 1}]) is None


def test_published_logs_with_the_wrong_kind_are_refused_by_name(shared_data):
    from conftest import shared_folder
    logs = shared_folder(shared_data, "reference-logs")
    nv, op = logs / "next_video" / "grpo-gun.predictions.jsonl.gz", logs / "opinion" / "grpo-gun-study1.predictions.jsonl.gz"
    assert "looks like next_video predictions" in one_error_line(*run_cli("score", "--predictions", str(nv), "--kind", "opinion"), "score")
    assert "looks like opinion predictions" in one_error_line(*run_cli("score", "--predictions", str(op), "--kind", "next_video"), "score")


def test_a_corrupt_gzip_or_a_file_of_other_json_is_one_line(tmp_path):
    good = gzip.compress(write_rows(tmp_path / "nv.jsonl", NEXT_VIDEO_ROW, 50).read_bytes())
    bad = tmp_path / "bad.jsonl.gz"; bad.write_bytes(good[:20] + b"\x00" * 40 + good[60:])
    line = one_error_line(*run_cli("score", "--predictions", str(bad)), "score")
    assert str(bad) in line
    other = tmp_path / "other.jsonl"; other.write_text('{"x": 1}\n{"x": 2}\n')
    assert "cannot tell the kind of predictions" in one_error_line(*run_cli("score", "--predictions", str(other)), "score")


# ---------------------------------------------------------------- family 11: stages and names

@pytest.fixture
def roots(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("GRPO_NB_RUNS", str(tmp_path / "runs")); monkeypatch.setenv("GRPO_NB_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("GRPO_NB_CACHE", str(tmp_path / "cache"))
    return tmp_path


@pytest.mark.parametrize("stages,message", [
    ("train,evalute", "unknown stage 'evalute' (did you mean 'evaluate'?); stages are train, evaluate, report"),
    ("trian", "unknown stage 'trian' (did you mean 'train'?)"),
    ("report,deploy", "unknown stage 'deploy'; stages are train, evaluate, report"),
    (",", "--stages is empty"),
])
def test_an_unknown_stage_names_the_nearest(roots, stages, message):
    line = one_error_line(*run_cli("pipeline", "--recipe", "demo", "--stages", stages), "pipeline")
    assert line.endswith(message) or message in line, line
    assert not (roots / "runs").exists()


@pytest.mark.parametrize("name", ["../x", "../../etc", "/tmp/absolute", "a/b", "x" * 300, ".."])
def test_a_run_name_that_is_a_path_or_too_long_is_refused_and_nothing_is_written(roots, name):
    line = one_error_line(*run_cli("pipeline", "--recipe", "demo", "--name", name), "pipeline")
    assert "run name" in line
    assert not (roots / "runs").exists() and not (roots / "x").exists()


def test_the_console_script_itself_exits_2_without_a_traceback(roots):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRPO_NB_RUNS": str(roots / "runs"), "GRPO_NB_REPORTS": str(roots / "reports")}
    proc = subprocess.run([sys.executable, "-m", "grpo_nb", "pipeline", "--recipe", "demo", "--stages", "train,evalute"],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("grpo-nb pipeline: error: unknown stage 'evalute'")


# ---------------------------------------------------------------- round 2, family 8: a file that is neither kind

@pytest.mark.parametrize("kind", ["opinion", "next_video", None])
def test_a_file_of_neither_kind_is_refused_saying_what_its_rows_hold(tmp_path, kind):
    path = tmp_path / "rows.jsonl"; path.write_text('{"a": 1}\n{"a": 2, "b": [1]}\n')
    args = ["score", "--predictions", str(path), *(["--kind", kind] if kind else []), "--out", str(tmp_path / "m.json")]
    line = one_error_line(*run_cli(*args), "score")
    needs = {"opinion": "before and after opinions and a completion", "next_video": "a gold_index and a completion"}
    if kind: assert line == (f"grpo-nb score: error: --kind {kind}, but {path} does not look like {kind} predictions: "
                             f"its rows have a, b; {kind} predictions need {needs[kind]}")
    else: assert "cannot tell the kind of predictions" in line and "its rows have a, b" in line
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("content,looks", [("[1, 2]\n[3]\n", "line 1 is a JSON list, expected an object"),
                                          ('"text"\n', "line 1 is a JSON str, expected an object"),
                                          ("{}\n{}\n", "its rows have no fields")])
def test_rows_that_are_not_objects_say_so(tmp_path, content, looks):
    path = tmp_path / "rows.jsonl"; path.write_text(content)
    line = one_error_line(*run_cli("score", "--predictions", str(path), "--kind", "next_video"), "score")
    assert looks in line, line


def test_prepared_examples_are_not_predictions(tmp_path):
    row = {k: v for k, v in NEXT_VIDEO_ROW.items() if k != "completion"}
    path = write_rows(tmp_path / "examples.jsonl", row)
    line = one_error_line(*run_cli("score", "--predictions", str(path), "--kind", "next_video"), "score")
    assert line.startswith(f"grpo-nb score: error: {path} has a gold_index but no completions (completion, gpt_output, "
                           "raw_output, prediction): prepared examples or labels, not predictions?"), line


def test_score_records_the_code_that_scored(tmp_path):
    from grpo_nb import __version__
    path = write_rows(tmp_path / "nv.jsonl", NEXT_VIDEO_ROW)
    assert run_cli("score", "--predictions", str(path), "--out", str(tmp_path / "m.json"))[0] == 0
    provenance = json.loads((tmp_path / "m.json").read_text())["provenance"]
    assert provenance["package_version"] == __version__ and "commit" in provenance and "source" in provenance


# ---------------------------------------------------------------- round 2, family 11: paths, levels, pipes, signals

def test_score_on_a_folder_and_into_a_folder_or_under_a_file(tmp_path):
    path = write_rows(tmp_path / "nv.jsonl", NEXT_VIDEO_ROW)
    assert one_error_line(*run_cli("score", "--predictions", str(tmp_path)), "score") == (
        f"grpo-nb score: error: --predictions {tmp_path} is a folder; name the predictions file in it "
        f"(e.g. {tmp_path / 'next_video' / 'predictions.jsonl'})")
    assert one_error_line(*run_cli("score", "--predictions", str(path), "--out", str(tmp_path)), "score") == (
        f"grpo-nb score: error: --out {tmp_path} is a folder; name the file to write (e.g. {tmp_path / 'metrics.json'})")
    for out in ("/dev/null/x.json", str(path / "m.json")):
        line = one_error_line(*run_cli("score", "--predictions", str(path), "--out", out), "score")
        assert line.endswith("is a file, not a folder"), line


def test_report_into_dev_null_is_one_line(tmp_path):
    from test_reports import make_run
    run = make_run(tmp_path / "runs" / "demo")
    assert one_error_line(*run_cli("report", "--run", str(run), "--out", "/dev/null"), "report") == (
        "grpo-nb report: error: cannot use /dev/null: a file is in the way where a folder is needed; choose another path")
    line = one_error_line(*run_cli("report", "--run", str(run), "--out", "/dev/null/sub"), "report")
    assert line == "grpo-nb report: error: cannot use /dev/null/sub: a part of the path is a file, not a folder; choose another path"


def test_prepare_under_a_file_and_an_unknown_split_are_one_line(roots):
    line = one_error_line(*run_cli("prepare", "--recipe", "demo", "--out", "/dev/null/sub", "--embedded_participants", "40",
                                   "--no-audit"), "prepare")
    assert line == "grpo-nb prepare: error: cannot use /dev/null/sub: a part of the path is a file, not a folder; choose another path"
    line = one_error_line(*run_cli("prepare", "--recipe", "demo", "--out", str(roots / "p"), "--split", "validaton",
                                   "--embedded_participants", "40", "--no-audit"), "prepare")
    assert "no split 'validaton'" in line and "Did you mean 'validation'?" in line
    assert not (roots / "p" / "examples.jsonl").exists()


@pytest.mark.parametrize("error,message", [
    (OSError(28, "No space left on device", "runs/x/evaluate/metrics.json"),
     "no space left on the device writing runs/x/evaluate/metrics.json; what was finished is kept: fix it and run the "
     "same command again to resume"),
    (OSError(30, "Read-only file system", "runs/x"), "the file system is read-only writing runs/x; what was finished is kept"),
    (PermissionError(13, "Permission denied", "runs/x/.lock"), "permission denied writing runs/x/.lock; what was finished"),
    (PermissionError(1, "Operation not permitted", "runs/x"), "operation not permitted writing runs/x;"),
    (NotADirectoryError(20, "Not a directory", "a/file/x"), "cannot use a/file/x: a part of the path is a file, not a folder"),
    (IsADirectoryError(21, "Is a directory", "runs/x"), "cannot use runs/x: it is a folder, not a file; choose another path"),
    (FileExistsError(17, "File exists", "reports/x"), "cannot use reports/x: a file is in the way where a folder is needed"),
    (OSError(36, "File name too long", "x" * 300), "cannot use " + "x" * 300 + ": the path is too long"),
])
@pytest.mark.parametrize("command", ["config", "score", "pipeline"])
def test_every_disk_or_path_error_of_every_command_is_one_line(monkeypatch, command, error, message):
    from grpo_nb import cli
    def raising(args, overrides): raise error
    monkeypatch.setitem(cli.COMMANDS, command, raising)
    args = {"config": ["config"], "score": ["score", "--predictions", "p.jsonl"], "pipeline": ["pipeline", "--recipe", "demo"]}
    line = one_error_line(*run_cli(*args[command]), command)
    assert line.startswith(f"grpo-nb {command}: error: {message}"), line


def test_a_papermill_failure_and_a_run_error_are_one_line(monkeypatch):
    from papermill.exceptions import PapermillExecutionError
    from grpo_nb import cli
    from grpo_nb.pipeline import RunError
    def failing(args, overrides): raise PapermillExecutionError(2, 7, "1/0", "ZeroDivisionError", "division by zero\nmore", [])
    monkeypatch.setitem(cli.COMMANDS, "pipeline", failing)
    assert one_error_line(*run_cli("pipeline", "--recipe", "demo", "--via", "papermill"), "pipeline") == (
        "grpo-nb pipeline: error: notebook (run by papermill) failed in cell [7]: ZeroDivisionError: division by zero")
    def run_error(args, overrides): raise RunError("notebook runs/x/notebooks/train.ipynb failed: ValueError: boom")
    monkeypatch.setitem(cli.COMMANDS, "pipeline", run_error)
    assert one_error_line(*run_cli("pipeline", "--recipe", "demo"), "pipeline") == (
        "grpo-nb pipeline: error: notebook runs/x/notebooks/train.ipynb failed: ValueError: boom")


def console(*args, env=None, shell=None, timeout=120) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    cmd = shell if shell else [sys.executable, "-m", "grpo_nb", *args]
    return subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, shell=bool(shell),
                          executable="/bin/bash" if shell else None)


@pytest.mark.parametrize("level,warned", [("VERBOSE", True), ("debug", False)])
def test_an_unknown_loglevel_is_a_warning_naming_the_valid_ones(level, warned):
    proc = console("config", "--recipe", "demo", env={"LOGLEVEL": level})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert json.loads(proc.stdout)["recipe"].endswith("demo.yaml")
    warning = (f"grpo-nb: warning: LOGLEVEL='{level}' is not a log level (use one of DEBUG, INFO, WARNING, ERROR, "
               "CRITICAL); using INFO")
    assert (warning in proc.stderr) is warned, proc.stderr


def test_a_closed_pipe_ends_quietly():
    proc = console(shell=f"{sys.executable} -m grpo_nb config --keys | head -1; exit ${{PIPESTATUS[0]}}")
    assert proc.stdout == "accelerate_config\tscript\n"
    assert proc.stderr == "" and proc.returncode == 141, (proc.returncode, proc.stderr)


def test_sighup_interrupts_like_sigterm_with_status_129(tmp_path):
    import signal, time
    script = ("import time, sys\nfrom grpo_nb import cli\n"
              "def slow(args, overrides):\n    print('started', flush=True); time.sleep(60); return 0\n"
              "cli.COMMANDS['config'] = slow\nsys.exit(cli.main(['config']))\n")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.stdout.readline() == "started\n"
    proc.send_signal(signal.SIGHUP)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 129, err
    assert err.strip().splitlines()[-1] == ("grpo-nb config: interrupted by SIGHUP; what was finished is kept: run the "
                                            "same command again to resume")
    from grpo_nb.runtime import STOP_SIGNALS
    assert signal.SIGHUP in STOP_SIGNALS and signal.SIGTERM in STOP_SIGNALS
