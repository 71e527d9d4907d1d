"""Issue 11, round 3 — the outside audit's failures in locks, predictions files, model folders and data.

2.5 another thread of one process is refused like another process; 2.3 a folder inside a held folder is refused to
anyone but the holder and the children it starts (GRPO_NB_LOCK_OWNER); 2.2 a report of a run being written is
refused; 11.28 resuming with other settings is a named RunError (exit 2); 10.3/10.4 FIFOs and devices are refused
before they are opened (and skipped, named, inside a data folder); 6.6 a repeated key and 6.7 a non-UTF-8 line are
counted drops; 4.4 a torn JSON file of a model folder is a ModelNotAvailableError; 9.3 a one-option slate is dropped."""
import contextlib
import gzip
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grpo_nb import files
from grpo_nb import model as M
from grpo_nb.cli import main
from grpo_nb.data import NotARegularFileError, clean_rows, load_slates, walk_files
from grpo_nb.files import RunError, RunLockedError, acquire_run_lock, release_run_lock, run_lock
from grpo_nb.generation import PredictionsFile, ResumeMismatchError, read_predictions_report

from conftest import jsonl, make_row, nv_row


def run_cli(*args) -> tuple[int, str, str]:
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()) as out:
        rc = main([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue()


def stranger_env() -> dict:
    "The environment of a process this one did not start on purpose (no GRPO_NB_LOCK_OWNER)."
    return {k: v for k, v in os.environ.items() if k != files.LOCK_OWNER_ENV}


@contextlib.contextmanager
def held_by_another_process(folder: Path):
    code = ("import sys, time; from grpo_nb.files import run_lock\n"
            "with run_lock(sys.argv[1]): print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True,
                              env=stranger_env())
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill(); holder.wait()


# ---- 2.5: threads -------------------------------------------------------------------------------------------------

def test_a_second_thread_is_refused_naming_the_holder_thread(tmp_path):
    run = tmp_path / "t25"; run.mkdir()
    start, outcomes = threading.Barrier(2), {}
    def writer(name):
        start.wait()
        try:
            with run_lock(run):
                outcomes[name] = "ok"; time.sleep(0.5)
        except RunLockedError as e: outcomes[name] = e
    threads = [threading.Thread(target=writer, args=(f"w{i}",), name=f"w{i}") for i in range(2)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert sorted(type(v).__name__ for v in outcomes.values()) == ["RunLockedError", "str"]
    (winner,) = [n for n, v in outcomes.items() if v == "ok"]
    (refused,) = [v for v in outcomes.values() if v != "ok"]
    holder = next(t for t in threads if t.name == winner)
    assert f"is in use by pid {os.getpid()} on this host" in str(refused)
    assert f"(thread {holder.ident} ('{winner}') of this same process holds it)" in str(refused)
    assert not (run / ".lock").exists()


def test_the_same_thread_still_reenters_and_a_finished_threads_lock_is_stale(tmp_path, caplog):
    lock = acquire_run_lock(tmp_path)
    assert acquire_run_lock(tmp_path) == lock
    release_run_lock(lock); release_run_lock(lock)
    assert not lock.exists()
    t = threading.Thread(target=lambda: acquire_run_lock(tmp_path), name="gone"); t.start(); t.join()   # never released
    with caplog.at_level(logging.WARNING, logger="grpo_nb.files"):
        with run_lock(tmp_path): pass
    assert "('gone') of this process has ended" in caplog.text


# ---- 2.3: folders inside a held folder, and the holder's children ---------------------------------------------------

def test_a_folder_inside_a_run_held_by_another_process_is_refused(tmp_path):
    run = tmp_path / "runs" / "w23"
    with held_by_another_process(run) as holder:
        (run / "evaluate").mkdir()
        with pytest.raises(RunLockedError) as e:
            acquire_run_lock((run / "evaluate").resolve(), what="evaluation folder", hint="write elsewhere (another --out)")
    assert str(e.value).startswith(f"evaluation folder {(run / 'evaluate').resolve()} lies inside {run.resolve()}, "
                                   f"which is in use by pid {holder.pid} on this host")
    assert str(e.value).endswith(f"remove the lock file {run.resolve() / '.lock'}")
    assert not (run / "evaluate" / ".lock").exists()


def test_evaluate_out_inside_a_held_run_exits_2_without_writing(tmp_path, monkeypatch):
    monkeypatch.setenv("GRPO_NB_RUNS", str(tmp_path / "runs")); monkeypatch.setenv("GRPO_NB_REPORTS", str(tmp_path / "r"))
    run = tmp_path / "runs" / "w23"
    with held_by_another_process(run) as holder:
        rc, out, err = run_cli("evaluate", "--recipe", "demo", "--max_eval_samples", "2", "--task", "next_video",
                               "--out", run / "evaluate")
    assert rc == 2 and "Traceback" not in err, err
    assert err.startswith("grpo-nb evaluate: error: evaluation folder") and f"which is in use by pid {holder.pid}" in err
    assert not (run / "evaluate" / "next_video").exists()


def test_children_the_holder_starts_count_as_the_holder_and_others_do_not(tmp_path):
    run = tmp_path / "run"; run.mkdir()
    child = ("import sys; from grpo_nb.files import run_lock\n"
             "with run_lock(sys.argv[1]) as a, run_lock(sys.argv[2]) as b: print(a.exists(), b.exists())")
    with run_lock(run):
        assert os.environ[files.LOCK_OWNER_ENV].endswith(files.owner_token(files.lock_owner()))
        ok = subprocess.run([sys.executable, "-c", child, str(run), str(run / "train")], capture_output=True, text=True)
        assert (ok.returncode, ok.stdout.strip()) == (0, "True True"), ok.stderr      # papermill / accelerate child
        assert json.loads((run / ".lock").read_text())["pid"] == os.getpid()         # still the holder's lock
        other = subprocess.run([sys.executable, "-c", child, str(run), str(run / "train")], capture_output=True,
                               text=True, env=stranger_env())
        assert other.returncode == 1 and f"RunLockedError: run folder {run} is in use by pid {os.getpid()}" in other.stderr
    assert files.LOCK_OWNER_ENV not in os.environ and not (run / ".lock").exists()


# ---- 2.2: a report of a run being written ---------------------------------------------------------------------------

def test_report_of_a_run_being_written_exits_2_and_writes_nothing(tmp_path):
    run, out = tmp_path / "runs" / "busy", tmp_path / "reports" / "busy"
    with held_by_another_process(run) as holder:
        rc, _, err = run_cli("report", "--run", run, "--out", out)
        assert rc == 2 and "Traceback" not in err, err
        assert err.startswith(f"grpo-nb report: error: run folder {run} is in use by pid {holder.pid} on this host")
    assert not out.exists()
    evaluate = run / "evaluate"
    with held_by_another_process(evaluate) as holder:                       # `evaluate --out runs/X/evaluate` running
        rc, _, err = run_cli("report", "--run", run, "--out", out)
    assert rc == 2 and f"run folder {run} holds {evaluate.resolve()}, which is in use by pid {holder.pid}" in err, err
    assert not out.exists()


# ---- 11.28: resuming with other settings ----------------------------------------------------------------------------

def test_resuming_with_other_settings_is_a_run_error_saying_how_to_start_fresh(tmp_path):
    path = tmp_path / "predictions.jsonl"
    PredictionsFile(path, meta={"max_new_tokens": 16}).load(["a"]).append([{"example_id": "a"}])
    with pytest.raises(ResumeMismatchError) as e:
        PredictionsFile(path, meta={"max_new_tokens": 8}).load(["a"])
    assert isinstance(e.value, RunError) and isinstance(e.value, ValueError)
    assert str(e.value) == (f"{path} was written with other settings (max_new_tokens: 16 -> 8); resuming would mix "
                            "them: write to another folder (another --out or --name), or delete the file to start it "
                            "again")
    for bad in (b'{"example_id": "a"}\n{"example_id": "a"}\n', b'{"x": 1}\n', b'{"example_id": "a", "x": 1, "x": 2}\n'):
        path.write_bytes(bad)
        with pytest.raises(ResumeMismatchError, match="delete the file to start it again"):
            PredictionsFile(path).load(["a"])


def test_evaluate_again_with_another_max_new_tokens_exits_2_without_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("GRPO_NB_RUNS", str(tmp_path / "runs")); monkeypatch.setenv("GRPO_NB_REPORTS", str(tmp_path / "r"))
    common = ("evaluate", "--recipe", "demo", "--max_eval_samples", "2", "--task", "next_video", "--out", tmp_path / "e")
    assert run_cli(*common, "--eval_max_new_tokens", "4")[0] == 0
    rc, _, err = run_cli(*common, "--eval_max_new_tokens", "3")
    assert rc == 2 and "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("grpo-nb evaluate: error: ") and "(max_new_tokens: 4 -> 3); resuming would mix them" in last
    assert last.endswith("or delete the file to start it again")


# ---- 10.3 / 10.4: FIFOs and devices ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["fifo", "/dev/urandom", "/dev/zero"])
def test_score_refuses_a_fifo_or_device_at_once(tmp_path, kind):
    path = tmp_path / "p.fifo" if kind == "fifo" else Path(kind)
    if kind == "fifo": os.mkfifo(path)
    started = time.monotonic()
    rc, _, err = run_cli("score", "--predictions", path, "--out", tmp_path / "s.json")
    assert time.monotonic() - started < 10
    what = "a FIFO (named pipe)" if kind == "fifo" else "a character device"
    assert rc == 2 and "Traceback" not in err, err
    assert f"predictions file {path} is {what}, not a regular file: refused without opening it" in err
    assert not (tmp_path / "s.json").exists()


def test_a_fifo_in_a_data_folder_is_skipped_and_named_and_a_fifo_source_refused(tmp_path, caplog):
    folder = tmp_path / "data"; folder.mkdir()
    (folder / "train.jsonl").write_bytes(jsonl([make_row("p1"), make_row("p2")]))
    os.mkfifo(folder / "more.jsonl")
    skipped = []
    with caplog.at_level(logging.WARNING, logger="grpo_nb.data"):
        assert walk_files(folder, skipped=skipped) == [folder / "train.jsonl"]
        assert len(load_slates(folder)) == 2
    assert skipped == [folder / "more.jsonl"]
    assert f"skipped 1 FIFO(s), device(s) or socket(s), which are not data files: {folder / 'more.jsonl'} (a FIFO" \
        in caplog.text
    with pytest.raises(NotARegularFileError, match="slate source .*more.jsonl is a FIFO"): load_slates(folder / "more.jsonl")
    rc, _, err = run_cli("prepare", "--recipe", "demo", "--dataset_name", folder / "more.jsonl", "--out", tmp_path / "p")
    assert rc == 2 and "Traceback" not in err and "is a FIFO (named pipe), not a regular file" in err, err


def test_a_predictions_file_over_the_byte_bound_is_refused(tmp_path, monkeypatch):
    from grpo_nb import generation
    path = tmp_path / "p.jsonl"; path.write_bytes(jsonl([nv_row(i) for i in range(50)]))
    monkeypatch.setattr(generation, "MAX_PREDICTION_FILE_BYTES", 4096)
    with pytest.raises(generation.PredictionsFileError, match=r"more than 4,096 bytes \(MAX_PREDICTION_FILE_BYTES\)"):
        read_predictions_report(path)


# ---- 6.6 / 6.7: a repeated key, a line that is not UTF-8 --------------------------------------------------------------

def test_a_repeated_key_and_a_non_utf8_line_are_counted_drops_and_the_rest_scored(tmp_path):
    lines = [json.dumps(nv_row(i)).encode() for i in range(20)]
    lines[2] = lines[2][:-1] + b', "gold_index": 99}'                        # "gold_index": 2, ..., "gold_index": 99
    lines[5] = lines[5][:-1] + b', "note": "caf\xff"}'                          # line 6: one invalid byte
    path = tmp_path / "p.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    rows, report = read_predictions_report(path)
    assert len(rows) == 18 and {r["example_id"] for r in rows} == {f"s{i}/0/{i}" for i in range(20) if i not in (2, 5)}
    assert report["dropped"] == {"bad_encoding": 1, "duplicate_key:gold_index": 1}
    assert report["dropped_at"] == {"bad_encoding": [6], "duplicate_key:gold_index": [3]}
    rc, out, err = run_cli("score", "--predictions", path, "--out", tmp_path / "m.json")
    assert rc == 0, err
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["n_total"] == 18
    assert {k: v for k, v in metrics["dropped"].items() if v} == {"bad_encoding": 1, "duplicate_key:gold_index": 1}


def test_a_repeated_key_inside_a_nested_object_is_named(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(jsonl([nv_row(0)]) + b'{"example_id": "x", "messages": [{"role": "user", "role": "system"}]}\n')
    assert read_predictions_report(path)[1]["dropped"] == {"duplicate_key:role": 1}


# ---- 4.4: torn JSON files of a model folder ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "m"
    tok = M.build_tiny_tokenizer(M.example_prompt_texts(8))
    M.save_tiny_model(M.build_tiny_model(tok), tok, folder)
    (folder / "generation_config.json").write_text(json.dumps({"max_new_tokens": 8, "do_sample": False}))
    return folder


@pytest.mark.parametrize("name", ["generation_config.json", "config.json", "tokenizer_config.json",
                                  "special_tokens_map.json", "adapter_config.json"])
def test_a_torn_json_file_of_a_model_folder_is_a_named_error(tiny_model, tmp_path, name):
    folder = tmp_path / "m"; shutil.copytree(tiny_model, folder)
    target = folder / name
    text = target.read_text() if target.exists() else json.dumps({"peft_type": "LORA", "r": 8})
    target.write_text(text[: len(text) // 2])
    with pytest.raises(M.ModelNotAvailableError, match=rf"model folder '{folder}' has a torn {name} \(JSONDecodeError"):
        M.load_tokenizer(str(folder))
    rc, _, err = run_cli("evaluate", "--recipe", "demo", "--model", folder, "--max_eval_samples", "2",
                         "--task", "next_video", "--out", tmp_path / "e")
    assert rc == 2 and "Traceback" not in err and f"has a torn {name}" in err, err
    assert not (tmp_path / "e" / "next_video" / "predictions.jsonl").exists()


# ---- 9.3: a slate of one option -------------------------------------------------------------------------------------

def test_a_one_option_slate_is_a_counted_drop(tmp_path):
    rows = [make_row("p1", slate=("b",)), make_row("p2", slate=("b", "b")), make_row("p3"), make_row("p4", gold="a")]
    kept, stats = clean_rows(rows)
    assert [r["participant_id"] for r in kept] == ["p3", "p4"] and stats.dropped == {"one_option_slate": 2}


def test_the_real_sample_has_no_one_option_slate(shared_data):
    kept, stats = clean_rows(load_slates(shared_data / "grail-sample"))
    assert stats.rows_in == 1573 and stats.dropped.get("one_option_slate", 0) == 0 and len(kept) == 1570
