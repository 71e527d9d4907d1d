"""Files that are read back survive a SIGKILL at a rename or a failed rename: metrics.json, prepare_stats.json and
report pages hold their previous or their new complete content, never a partial one (moved from test_hardening.py,
unchanged)."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


WRITERS = {   # (code run with OUT bound, the rename to die at, targets that must still hold their old content)
    "metrics.json": ("from grpo_nb.next_video import write_json_atomic\n"
                     "write_json_atomic({'accuracy': 0.5, 'n': 10}, OUT / 'metrics.json')", 1, ["metrics.json"]),
    "prepare_stats.json": ("from grpo_nb.prepare import write_prepared\n"
                           "write_prepared([{'example_id': 'new'}], {'examples': 1}, OUT)", 2, ["prepare_stats.json"]),
    "report": ("from grpo_nb.reports import render_report\n"
               "render_report(OUT / 'run', OUT / 'report')", 3, ["report/README.md", "report/training/README.md",
                                                                  "report/samples/README.md"]),
}
REPORT_PAGES = ("README.md", "next_video/README.md", "opinion/README.md", "training/README.md", "samples/README.md")


def _old_files(out: Path) -> dict:
    "The previous complete outputs of all three writers, and a run folder to report on."
    (out / "run").mkdir()
    (out / "metrics.json").write_text('{"old": true}\n')
    (out / "examples.jsonl").write_text('{"example_id": "old"}\n')
    (out / "prepare_stats.json").write_text('{"old": true}\n')
    for page in REPORT_PAGES:
        (out / "report" / page).parent.mkdir(parents=True, exist_ok=True)
        (out / "report" / page).write_text(f"# old complete {page}\n")
    return _snapshot(out)


def _complete(name: str, data: bytes) -> bool:
    "Whether `data` is a whole file of its kind (parses as JSON / JSON lines; a Markdown page from title to newline)."
    text = data.decode("utf-8")
    if name.endswith(".json"): return isinstance(json.loads(text), dict)
    if name.endswith(".jsonl"): return all(json.loads(line) for line in text.splitlines())
    return text.startswith("# ") and text.endswith("\n")


@pytest.mark.parametrize("case", sorted(WRITERS))
def test_a_writer_killed_at_a_rename_leaves_the_previous_complete_file(tmp_path, case):
    """The writer runs in a subprocess that SIGKILLs itself at the moment it would rename a finished temporary file
    into place, the worst moment: the targets it had not renamed yet hold their previous complete content, the
    others their new complete content, and no target is ever partial (a hidden temporary may be left behind)."""
    code, kill_at, must_be_old = WRITERS[case]
    old = _old_files(tmp_path)
    script = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        OUT, calls, replace = Path(sys.argv[1]), [], os.replace
        def dying_replace(*args, **kwargs):
            calls.append(args)
            if len(calls) == {kill_at}: os.kill(os.getpid(), signal.SIGKILL)
            return replace(*args, **kwargs)
        os.replace = dying_replace
    """) + code + "\n"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], env=env, capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr.decode()[-2000:]
    now = _snapshot(tmp_path)
    targets = {k: v for k, v in now.items() if not Path(k).name.startswith(".")}
    assert set(targets) == set(old), "a target vanished or a new non-temporary file appeared"
    for name in must_be_old: assert targets[name] == old[name], f"{name} changed"
    for name, data in targets.items(): assert _complete(name, data), f"{name} is partial"
    assert all(Path(k).name.endswith(".tmp") for k in set(now) - set(targets))


@pytest.mark.parametrize("case", sorted(WRITERS))
def test_a_failed_rename_leaves_every_previous_file_and_no_temporary(tmp_path, monkeypatch, case):
    old = _old_files(tmp_path)
    def fail(*args, **kwargs): raise OSError("disk full")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        exec(WRITERS[case][0], {"OUT": tmp_path})
    monkeypatch.undo()
    assert _snapshot(tmp_path) == old
