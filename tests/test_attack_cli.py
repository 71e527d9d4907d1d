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
