"""Round 3 of the outside audit, the run-level cases: a lost model after a finished training stage, a file of two
prediction kinds, a GIT_DIR naming another repository, and provenance in prepare_stats.json."""
import contextlib, io, json, os, subprocess
from pathlib import Path

import pytest

from grpo_nb.cli import main


def run_cli(*args) -> tuple[int, str, str]:
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()) as out:
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


def test_evaluating_a_run_whose_trained_model_was_deleted_is_refused(tmp_path):
    from grpo_nb.config import load_recipe
    from grpo_nb.files import RunError, write_json_atomic
    from grpo_nb.pipeline import _run_evaluate, run_layout
    layout = run_layout("m47", runs_root=tmp_path / "runs", reports_root=tmp_path / "reports")
    layout.root.mkdir(parents=True)
    write_json_atomic({"stages": {"train": {"status": "done"}}}, layout.run_json)
    cfg = load_recipe("demo", overrides={"embedded_participants": 40}, hardware_checks=False)
    with pytest.raises(RunError, match="records a finished training stage, but .* holds no model"):
        _run_evaluate(cfg, layout)
    assert not layout.evaluate.exists()          # nothing was evaluated, nothing written


def test_a_predictions_file_of_two_kinds_is_refused_naming_both_counts(tmp_path):
    rows = [{"example_id": f"e{i}", "gold_index": 1, "n_options": 3, "completion": "<answer>1</answer>"} for i in range(20)]
    rows += [{"participant_id": f"p{i}", "before": 0.2, "after": 0.4, "completion": "<answer>0.3</answer>"} for i in range(6)]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rc, out, err = run_cli("score", "--predictions", str(path))
    assert rc == 2 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].startswith("grpo-nb score: error: ")
    assert "mixes kinds: 20 next_video rows" in err and "6 opinion rows" in err


def test_a_git_dir_of_another_repository_lends_no_commit(tmp_path, monkeypatch):
    from grpo_nb.runtime import code_version
    own = code_version()["commit"]
    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    subprocess.run(["git", "-C", str(other), "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)
    foreign = subprocess.run(["git", "-C", str(other), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    assert code_version()["commit"] == own and own != foreign


def test_prepare_stats_record_the_code_that_made_them(tmp_path):
    from grpo_nb.runtime import code_version
    rc, out, err = run_cli("prepare", "--recipe", "demo", "--out", str(tmp_path / "p"), "--no-audit",
                           "--embedded_participants", "40")
    assert rc == 0, err
    stats = json.loads((tmp_path / "p" / "prepare_stats.json").read_text())
    assert stats["provenance"]["package_version"] == code_version()["package_version"]
    assert stats["provenance"]["commit"] == code_version()["commit"]
