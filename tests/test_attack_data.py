"Adversarial data inputs (issue 11, families 6, 9 and 10 on the data side): each a named, counted outcome."
import gzip
import hashlib
import json
import os
import signal
from pathlib import Path

import pytest

from grpo_nb.config import load_recipe
from grpo_nb.data import (MAX_SLATE_OPTIONS, SameDataTwiceError, SlateSourceError, clean_rows, load_slates, safe_glob)
from grpo_nb.next_video import read_predictions, read_predictions_report
from grpo_nb.prepare import MAX_PROMPT_CHARS, prepare_split, prepare_split_to_file, read_prepared
from grpo_nb.synthetic import generate_rows


def make_row(pid="p1", step=0, slate=("a", "b", "c"), gold="b", **extra):
    row = dict(issue="gun_control", participant_study="study1", participant_id=pid, session_id=f"{pid}-s",
               step_index=step, current_video_id="cur", current_video_title="Now", current_video_channel="Chan",
               next_video_id=gold, slate_items_json=[{"id": i, "title": f"Video {i}"} for i in slate],
               watched_detailed_json=[{"id": "cur", "title": "Now"}], gun_index=0.25, gun_index_2=0.5)
    row.update(extra)
    return row


def write_jsonl(path: Path, rows=(), lines=()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "".join(line + "\n" for line in lines))
    return path


GOOD = [make_row(f"p{i}", s) for i in range(3) for s in range(2)]


# family 6: one bad value is one counted drop --------------------------------------------------------------------

@pytest.mark.parametrize("step", ["①", "١٢", "9" * 5000, "-1", "1.5", True, float("inf")])
def test_step_index_that_int_refuses_is_a_counted_drop(step):
    kept, stats = clean_rows(GOOD + [make_row("bad", step=step)])
    assert (stats.rows_kept, stats.dropped) == (len(GOOD), {"bad_value:step_index": 1})


@pytest.mark.parametrize("column", ["slate_items_json", "watched_detailed_json"])
def test_json_string_nested_200000_deep_is_a_counted_drop(column):
    deep = make_row("deep") | {column: "[" * 200_000 + "]" * 200_000}
    kept, stats = clean_rows(GOOD + [deep])
    assert (stats.rows_kept, stats.dropped) == (len(GOOD), {f"malformed_json:{column}": 1})


@pytest.mark.parametrize("column", ["slate_items_json", "watched_detailed_json", "viewer_profile_sentence"])
def test_jsonl_line_nested_200000_deep_drops_that_row_only(tmp_path, column):
    line = json.dumps(make_row("deep"))[:-1] + f', "{column}": ' + "[" * 200_000 + "]" * 200_000 + "}"
    path = write_jsonl(tmp_path / "rows.jsonl", GOOD[:3], [line] + [json.dumps(r) for r in GOOD[3:]])
    kept, stats = clean_rows(load_slates(path))
    assert (stats.rows_in, stats.rows_kept, stats.dropped) == (7, 6, {f"malformed_json:{column}": 1})
    assert [r["participant_id"] for r in kept] == [r["participant_id"] for r in GOOD]


def test_jsonl_line_with_a_5000_digit_number_drops_that_row_only(tmp_path):
    line = json.dumps(make_row("long"))[:-1] + ', "gun_index": ' + "7" * 5000 + "}"
    kept, stats = clean_rows(load_slates(write_jsonl(tmp_path / "r.jsonl", GOOD, [line])))
    assert (stats.rows_kept, stats.dropped) == (6, {"bad_value:gun_index": 1})


def test_unforeseen_bad_value_is_counted_not_raised(caplog):
    class Hostile:                                       # a value whose str() raises: no rule names it
        def __str__(self): raise RuntimeError("boom")
    kept, stats = clean_rows(GOOD + [make_row("h", current_video_title=Hostile())])
    assert (stats.rows_kept, stats.dropped) == (6, {"bad_row:RuntimeError": 1})
    assert "bad_row:RuntimeError" in caplog.text


def damaged_gzip(path: Path, n=3000) -> Path:
    rows = b"".join(json.dumps({"example_id": f"e{i}", "gold_index": 1, "n_options": 3,
                                "noise": hashlib.sha256(b"%d" % i).hexdigest()}).encode() + b"\n" for i in range(n))
    data = bytearray(gzip.compress(rows, mtime=0))
    data[len(data) // 2: len(data) // 2 + 100] = b"\x00" * 100
    path.write_bytes(bytes(data))
    return path


def test_corrupt_gzip_predictions_keep_the_rows_before_the_damage(tmp_path, caplog):
    rows, report = read_predictions_report(damaged_gzip(tmp_path / "p.jsonl.gz"))
    assert 0 < len(rows) < 3000 and report["rows"] == len(rows)
    assert [r["example_id"] for r in rows] == [f"e{i}" for i in range(len(rows))]     # an intact prefix
    assert report["damage"].startswith("the gzip stream is damaged (zlib.error")
    assert "kept the %d complete rows before the damage" % len(rows) in caplog.text
    assert len(read_predictions(tmp_path / "p.jsonl.gz")) == len(rows)


def test_predictions_file_that_is_not_gzip_at_all(tmp_path):
    (tmp_path / "p.jsonl.gz").write_bytes(b'{"example_id": "a"}\n')
    rows, report = read_predictions_report(tmp_path / "p.jsonl.gz")
    assert rows == [] and report["damage"].startswith("not a gzip file")


def test_truncated_and_multi_member_gzip_predictions(tmp_path):
    one = gzip.compress(b'{"example_id": "a"}\n', mtime=0) + gzip.compress(b'{"example_id": "b"}\n', mtime=0)
    (tmp_path / "two.jsonl.gz").write_bytes(one)
    assert [r["example_id"] for r in read_predictions(tmp_path / "two.jsonl.gz")] == ["a", "b"]
    first = len(gzip.compress(b'{"example_id": "a"}\n', mtime=0))
    (tmp_path / "cut.jsonl.gz").write_bytes(one[:first + 12])          # killed inside the second member
    rows, report = read_predictions_report(tmp_path / "cut.jsonl.gz")
    assert [r["example_id"] for r in rows] == ["a"] and report["damage"].startswith("the gzip stream ends early")


def test_corrupt_gzip_data_file_is_a_named_error(tmp_path):
    data = bytearray(gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in GOOD * 200), mtime=0))
    data[len(data) // 2: len(data) // 2 + 50] = b"\xff" * 50
    (tmp_path / "rows.jsonl.gz").write_bytes(bytes(data))
    # zlib notices the damage at once, or after decoding some garbage into a line: a named error either way
    with pytest.raises(SlateSourceError, match=r"rows.jsonl.gz: (not a complete gzip file|line \d+ is not valid JSON)"):
        load_slates(tmp_path / "rows.jsonl.gz")


# family 9: silent data oddities get a rule, a name and a count ----------------------------------------------------

def test_same_rows_as_jsonl_and_parquet_in_one_folder_is_refused(tmp_path):
    import pandas as pd
    write_jsonl(tmp_path / "rows.jsonl", GOOD)
    pd.DataFrame([{**r, "slate_items_json": json.dumps(r["slate_items_json"]),
                   "watched_detailed_json": json.dumps(r["watched_detailed_json"])} for r in GOOD]).to_parquet(
        tmp_path / "rows.parquet")
    with pytest.raises(SameDataTwiceError, match=r"rows.jsonl and rows.parquet \(in .*\)\. They would be loaded twice"):
        load_slates(tmp_path)
    kept, stats = clean_rows(load_slates(tmp_path, data_files=["rows.jsonl", "rows.parquet"]))
    assert (stats.rows_in, stats.rows_kept, stats.dropped) == (12, 6, {"duplicate_row": 6})


def test_same_slate_with_two_golds_drops_both(tmp_path):
    rows = GOOD + [make_row("p0", 0, gold="c")]
    kept, stats = clean_rows(rows)
    assert (stats.rows_kept, stats.dropped) == (5, {"conflicting_gold": 2})
    assert ("p0", 0) not in {(r["participant_id"], r["step_index"]) for r in kept}


def test_same_step_with_another_slate_is_kept():
    kept, stats = clean_rows(GOOD + [make_row("p0", 0, slate=("x", "b"))])
    assert (stats.rows_kept, stats.dropped) == (7, {})


def test_gold_shown_twice_keeps_one_position():
    kept, stats = clean_rows([make_row(slate=("b", "a", "b", "c", "a"))])
    (row,) = kept
    assert [i["id"] for i in row["slate_items"]] == ["b", "a", "c"] and row["gold_index"] == 1 and row["n_options"] == 3
    assert stats.notes == {"repeated_options_removed": 1}
    kept, _ = clean_rows([make_row(slate=("b", "a", "b"), gold_index=3)])          # the source marks the 2nd "b"
    assert [i["id"] for i in kept[0]["slate_items"]] == ["a", "b"] and kept[0]["gold_index"] == 2


def test_100000_option_slate_is_dropped_and_prompts_are_capped(tmp_path):
    huge = make_row("huge", slate=tuple(f"v{i}" for i in range(100_000)), gold="v7")
    kept, stats = clean_rows(GOOD + [huge, make_row("edge", slate=tuple(f"v{i}" for i in range(MAX_SLATE_OPTIONS)),
                                                    gold="v1")])
    assert (stats.rows_kept, stats.dropped) == (7, {"slate_too_long": 1})
    long_titles = [make_row(f"t{i}", slate=tuple(f"v{k}" for k in range(MAX_SLATE_OPTIONS)), gold="v1",
                            viewer_profile_sentence="x " * 30_000) for i in range(30)]
    cfg = load_recipe("demo", overrides={"dataset_name": str(write_jsonl(tmp_path / "t.jsonl", long_titles)),
                                         "profile_text_columns": ["viewer_profile_sentence"]}, hardware_checks=False)
    examples, stats = prepare_split(cfg, "train")
    assert all(sum(len(m["content"]) for m in e["prompt"]) <= MAX_PROMPT_CHARS for e in examples)


def test_real_sample_rules(shared_data):
    rows = load_slates(shared_data / "grail-sample")
    kept, stats = clean_rows(rows)
    assert (stats.rows_in, stats.rows_kept, stats.dropped) == (1573, 1570, {"conflicting_gold": 2, "duplicate_row": 1})
    keys = {}
    for r in kept: keys.setdefault((r["session_id"], r["step_index"]), []).append(r)
    # 89 (session, step) keys with more than one row; the copy and the two-gold slate gone, 87 remain (other slates,
    # or once the same slate and gold with another history: not an exact copy, kept)
    assert sum(len(v) > 1 for v in keys.values()) == 87


# family 10: resource bounds -------------------------------------------------------------------------------------

def test_symlink_loop_in_folder_and_glob_terminates(tmp_path):
    write_jsonl(tmp_path / "d" / "a" / "rows.jsonl", GOOD)
    os.symlink(tmp_path / "d", tmp_path / "d" / "a" / "loop")
    os.symlink(tmp_path / "d" / "a", tmp_path / "d" / "again")          # the same folder twice: read once
    signal.alarm(20)
    try:
        assert len(load_slates(tmp_path / "d")) == 6
        assert len(load_slates(str(tmp_path / "d" / "**" / "*.jsonl"))) == 6
        assert len(safe_glob(str(tmp_path / "**"))) == 1
    finally: signal.alarm(0)


@pytest.mark.parametrize("split", ["train", "validation"])
def test_streamed_prepare_equals_the_listed_one(tmp_path, split):
    rows = generate_rows(n_participants=120, seed=3)
    rows += [rows[5], make_row("p-deep") | {"slate_items_json": "[" * 100_000}, make_row("p-step", step="①")]
    path = write_jsonl(tmp_path / "rows.jsonl", rows)
    cfg = load_recipe("demo", overrides={"dataset_name": str(path)}, hardware_checks=False)
    listed, listed_stats = prepare_split(cfg, split)
    stats, paths = prepare_split_to_file(cfg, split, tmp_path / "out")
    assert read_prepared(paths["examples"]) == json.loads(json.dumps(listed))
    assert stats == json.loads(json.dumps(listed_stats))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["examples.jsonl", "prepare_stats.json"]


def test_streamed_prepare_failure_leaves_no_file(tmp_path):
    bad = [dict(r, next_video_id="nowhere") for r in generate_rows(n_participants=20)]
    cfg = load_recipe("demo", overrides={"dataset_name": str(write_jsonl(tmp_path / "r.jsonl", bad))},
                      hardware_checks=False)
    with pytest.raises(ValueError, match=r"every row was dropped .*gold_not_on_slate="):
        prepare_split_to_file(cfg, "train", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
