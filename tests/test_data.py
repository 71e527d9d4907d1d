"""Tests of grpo_nb.data: loading every format, drop reasons, splits, filters, mixtures, the real sample."""
import gzip
import json
import logging
import os
from collections import Counter

import pytest
from conftest import shared_folder

from grpo_nb.config import DIRECTION_TOLERANCE
from grpo_nb.data import (DropStats, MalformedJSONError, MissingColumnError, SlateSourceError, SplitNotFoundError,
                          clean_rows, filter_rows, load_slates, mix_datasets, opinion_direction, parse_json_list,
                          sample_participants, split_by_participant, strip_control_chars)
from grpo_nb.synthetic import generate_rows

LIST_COLUMNS = ("slate_items_json", "watched_detailed_json")


def make_row(pid="p1", step=0, slate=("a", "b", "c"), gold="b", study="study1", **extra):
    issue = "gun_control" if study == "study1" else "minimum_wage"
    before, after = ("gun_index", "gun_index_2") if study == "study1" else ("mw_index_w1", "mw_index_w2")
    row = dict(issue=issue, participant_study=study, participant_id=pid, session_id=f"{pid}-s", step_index=step,
               current_video_id="cur", current_video_title="Now playing", current_video_channel="Chan",
               next_video_id=gold, slate_items_json=[{"id": i, "title": f"Video {i}", "channel_title": "C"} for i in slate],
               watched_detailed_json=[{"id": "cur", "title": "Now playing"}], **{before: 0.25, after: 0.5})
    row.update(extra)
    return row


def as_published(row):
    return {**row, **{c: json.dumps(row[c]) for c in LIST_COLUMNS}}


def with_all_columns(rows):
    columns = list(dict.fromkeys(k for r in rows for k in r))
    return [{k: r.get(k) for k in columns} for r in rows]


ROWS = [make_row("p1", 0), make_row("p1", 1, gold="c"), make_row("p2", 0, study="study3", gold="a")]
KEY_FIELDS = ("participant_id", "step_index", "slate_items", "watched_detailed", "gold_index", "n_options",
              "opinion_before", "opinion_after", "opinion_direction")


def key_fields(rows):
    return [{k: r[k] for k in KEY_FIELDS} for r in rows]


@pytest.fixture
def files(tmp_path):
    import datasets
    import pandas as pd
    lines = "".join(json.dumps(r) + "\n" for r in ROWS)
    (tmp_path / "rows.jsonl").write_text(lines)
    with gzip.open(tmp_path / "rows.jsonl.gz", "wt") as f: f.write(lines)
    (tmp_path / "rows.json").write_text(json.dumps(ROWS))
    published = with_all_columns([as_published(r) for r in ROWS])
    pd.DataFrame(published).to_csv(tmp_path / "rows.csv", index=False)
    pd.DataFrame(published).to_parquet(tmp_path / "rows.parquet")
    datasets.Dataset.from_list(published).save_to_disk(str(tmp_path / "saved_one"))
    datasets.DatasetDict({"train": datasets.Dataset.from_list(published[:2]),
                          "validation": datasets.Dataset.from_list(published[2:])}).save_to_disk(str(tmp_path / "saved_dict"))
    return tmp_path


@pytest.mark.parametrize("name", ["rows.jsonl", "rows.jsonl.gz", "rows.json", "rows.csv", "rows.parquet", "saved_one"])
def test_every_format_cleans_to_the_same_rows(files, name):
    expected, _ = clean_rows(ROWS)
    kept, stats = clean_rows(load_slates(files / name))
    assert stats.rows_dropped == 0
    assert key_fields(kept) == key_fields(expected)


def test_native_formats_load_unchanged(files):
    for name in ("rows.jsonl", "rows.jsonl.gz", "rows.json"):
        assert load_slates(files / name) == ROWS
        assert load_slates(str(files / name)) == ROWS


def test_csv_keeps_ids_as_strings(tmp_path):
    import pandas as pd
    row = as_published(make_row(pid="007", slate=("1", "2"), gold="2"))
    pd.DataFrame([row]).to_csv(tmp_path / "ids.csv", index=False)
    loaded = load_slates(tmp_path / "ids.csv")[0]
    assert loaded["participant_id"] == "007"
    kept, _ = clean_rows([loaded])
    assert kept[0]["gold_index"] == 2 and kept[0]["step_index"] == 0


def test_save_to_disk_dataset_dict_splits(files):
    assert [r["participant_id"] for r in load_slates(files / "saved_dict", "validation")] == ["p2"]
    assert len(load_slates(files / "saved_dict", "train")) == 2
    with pytest.raises(SlateSourceError, match="has splits train, validation"):
        load_slates(files / "saved_dict")
    with pytest.raises(SlateSourceError, match="available splits: train, validation"):
        load_slates(files / "saved_dict", "test")


def test_folder_glob_and_data_files(files):
    folder = files / "folder"
    (folder / "nested").mkdir(parents=True)
    (folder / "gun_control.jsonl").write_text(json.dumps(ROWS[0]) + "\n")
    (folder / "nested" / "minimum_wage.jsonl").write_text(json.dumps(ROWS[2]) + "\n")
    (folder / "stats.json").write_text('{"rows": 2}')
    (folder / "README.md").write_text("not data")
    assert load_slates(folder) == [ROWS[0], ROWS[2]]
    with pytest.raises(SlateSourceError, match="no files for split 'validation'"):
        load_slates(folder, "validation")
    assert len(load_slates(str(files / "rows.json*"))) == 9  # .json, .jsonl, .jsonl.gz
    assert len(load_slates(files, data_files=["rows.jsonl", "rows.parquet"])) == 6
    assert load_slates(files, "validation", data_files={"validation": "rows.jsonl"}) == ROWS
    with pytest.raises(SlateSourceError, match="nothing matches"):
        load_slates(files, data_files="missing-*.jsonl")


def test_split_named_files(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "part-0.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS[:2]))
    (tmp_path / "validation-00000-of-00001.jsonl").write_text(json.dumps(ROWS[2]) + "\n")
    assert load_slates(tmp_path, "train") == ROWS[:2]
    assert load_slates(tmp_path, "validation") == ROWS[2:]
    with pytest.raises(SlateSourceError, match="Did you mean 'validation'"):
        load_slates(tmp_path, "validaton")


def test_missing_paths_and_offline_hub(tmp_path):
    (tmp_path / "rows.jsonl").write_text("")
    with pytest.raises(FileNotFoundError, match="Did you mean 'rows.jsonl'"):
        load_slates(tmp_path / "rows.jsnol")
    with pytest.raises(SlateSourceError, match="no data files match"):
        load_slates(str(tmp_path / "*.parquet"))
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(SlateSourceError, match="no data files"):
        load_slates(tmp_path / "empty_dir")
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        with pytest.raises(SlateSourceError, match="'od2961/grail-gun'.*pass a local source"):
            load_slates("od2961/grail-gun", "validation")


def test_bad_file_names_line(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"a": 1}\n\n{"a": \n')
    with pytest.raises(SlateSourceError, match="line 3 is not valid JSON"):
        load_slates(tmp_path / "bad.jsonl")


def test_parse_json_list():
    assert parse_json_list('[1, 2]') == [1, 2]
    with pytest.raises(MalformedJSONError, match="invalid JSON"):
        parse_json_list("[1, 2")
    with pytest.raises(MalformedJSONError, match="decodes to dict"):
        parse_json_list('{"a": 1}')
    with pytest.raises(MalformedJSONError):
        parse_json_list(None)


DROP_CASES = {
    "missing_value:next_video_id": make_row(next_video_id=None),
    "missing_value:current_video_title": make_row(current_video_title="  "),
    "missing_value:slate_items_json": make_row(slate_items_json=None),
    "bad_value:step_index": make_row(step=-1),
    "malformed_json:slate_items_json": make_row(slate_items_json='[{"id": "a"'),
    "malformed_json:watched_detailed_json": make_row(watched_detailed_json='{"id": "a"}'),
    "malformed_slate_item": make_row(slate_items_json=[{"id": "b"}, {"title": "no id"}]),
    "empty_slate": make_row(slate_items_json="[]"),
    "gold_not_on_slate": make_row(gold="z"),
    "gold_index_mismatch": make_row(gold_index=3),
    "bad_value:gold_index": make_row(gold_index="x"),
    "n_options_mismatch": make_row(n_options=2),
}


@pytest.mark.parametrize("reason", sorted(DROP_CASES))
def test_each_drop_reason(reason):
    kept, stats = clean_rows([make_row(), DROP_CASES[reason]])
    assert (stats.rows_in, stats.rows_kept, stats.dropped) == (2, 1, {reason: 1})
    assert stats.to_dict()["rows_dropped"] == 1


def test_opinion_drops_only_when_required():
    rows = [make_row(), make_row(gun_index=float("nan")), make_row(gun_index_2=1.2), make_row(gun_index_2=None)]
    kept, stats = clean_rows(rows)
    assert stats.rows_kept == 4 and [r["opinion_direction"] for r in kept] == ["increase", None, None, None]
    kept, stats = clean_rows(rows, require_opinion=True)
    assert stats.dropped == {"bad_opinion_value": 2, "missing_value:gun_index_2": 1}


def test_opinion_columns_by_study_and_tolerance():
    wage = make_row(study="study2", mw_index_w1=0.6, mw_index_w2=0.6 - DIRECTION_TOLERANCE / 2)
    gun = make_row(gun_index=0.8, gun_index_2=0.7)
    explicit = make_row(opinion_before=0.1, opinion_after=0.2)
    kept, _ = clean_rows([wage, gun])
    assert [(r["opinion_before"], r["opinion_direction"]) for r in kept] == [(0.6, "no_change"), (0.8, "decrease")]
    assert clean_rows([explicit])[0][0]["opinion_direction"] == "increase"
    assert opinion_direction(None, 0.5) is None


def test_missing_column_is_an_error():
    rows = [{k: v for k, v in make_row().items() if k not in ("next_video_id", "slate_items_json")}]
    with pytest.raises(MissingColumnError) as error:
        clean_rows(rows)
    assert error.value.missing == ["next_video_id", "slate_items_json"]
    assert "Available columns:" in str(error.value) and "current_video_id" in str(error.value)
    no_after = [{k: v for k, v in make_row().items() if k != "gun_index_2"}]
    assert clean_rows(no_after)[1].rows_kept == 1
    with pytest.raises(MissingColumnError, match="gun_index_2"):
        clean_rows(no_after, require_opinion=True)


def test_text_and_items_are_cleaned_without_touching_inputs():
    row = make_row(current_video_title="A\nB\x00 Cafe\u0301 🎥", watched_detailed_json=None)
    row["slate_items_json"][0]["channel_title"] = None
    original = json.dumps(row)
    kept, stats = clean_rows([row])
    assert kept[0]["current_video_title"] == "A B Café 🎥"
    assert "channel_title" not in kept[0]["slate_items"][0]
    assert kept[0]["watched_detailed"] == [] and stats.notes == {"watched_null_as_empty": 1}
    assert json.dumps(row) == original
    assert strip_control_chars("\tx\x7f ") == "x"


def test_debug_log_names_row_numbers(caplog):
    with caplog.at_level(logging.DEBUG, logger="grpo_nb.data"):
        clean_rows([make_row(), make_row(step=1), make_row(gold="nope", step=2)])   # distinct: no duplicate_row
    assert "row 2 dropped: gold_not_on_slate" in caplog.text
    assert "kept 2 of 3 rows" in caplog.text


def test_clean_rows_at_published_size():
    # speed is measured by benchmarks/prepare_throughput.py, not asserted here
    rows = [as_published(r) for r in generate_rows(7000)]  # ~24k rows, whole-session histories
    assert len(rows) > 23_000
    kept, stats = clean_rows(rows)
    assert stats.rows_dropped == 0 and len(kept) == len(rows)


def test_drop_stats_add():
    a, b = DropStats(2, 1, {"empty_slate": 1}), DropStats(3, 1, {"empty_slate": 1, "gold_not_on_slate": 1})
    assert (a + b).to_dict() == dict(rows_in=5, rows_kept=2, rows_dropped=3,
                                     dropped={"empty_slate": 2, "gold_not_on_slate": 1}, notes={})


def test_split_by_participant():
    rows = [make_row(f"p{i}", s) for i in range(500) for s in range(3)]
    train, validation = split_by_participant(rows, 0.2, seed=7)
    assert len(train) + len(validation) == len(rows)
    assert not {r["participant_id"] for r in train} & {r["participant_id"] for r in validation}
    assert 0.14 < len(validation) / len(rows) < 0.26
    assert split_by_participant(rows, 0.2, seed=7) == (train, validation)
    assert split_by_participant(rows, 0.2, seed=8)[1] != validation
    # a participant's side does not depend on the other participants
    subset = rows[: 3 * 100]
    sub_validation = {r["participant_id"] for r in split_by_participant(subset, 0.2, seed=7)[1]}
    assert sub_validation and sub_validation == {r["participant_id"] for r in validation} & {r["participant_id"] for r in subset}
    with pytest.raises(ValueError, match="participant_id"):
        split_by_participant([{"participant_id": None}])


def test_split_is_stable_across_processes():
    import subprocess, sys
    code = ("from grpo_nb.data import split_by_participant; "
            "rows=[{'participant_id': f'p{i}'} for i in range(200)]; "
            "print([r['participant_id'] for r in split_by_participant(rows)[1]])")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(outputs) == 1 and outputs.pop().startswith("['p")


def test_filter_rows():
    rows = ROWS + [make_row("p3", study="study2", gold="a")]
    assert [r["participant_study"] for r in filter_rows(rows, issues="minimum_wage")] == ["study3", "study2"]
    assert len(filter_rows(rows, issues=["gun_control"], studies=("study1", "study2"))) == 2
    assert filter_rows(rows, studies="study3") == [ROWS[2]]
    with pytest.raises(ValueError, match="known issue values: gun_control, minimum_wage.*'gun_control'"):
        filter_rows(rows, issues="gun-control")
    with pytest.raises(ValueError, match="known study values: study1, study2, study3"):
        filter_rows(rows, studies="4")


def test_mix_datasets_proportions():
    gun = [make_row(f"g{i}") for i in range(1000)]
    wage = [make_row(f"w{i}", study="study2", gold="a") for i in range(200)]
    mixed = mix_datasets([(gun, 0.6), (wage, 0.4)])
    assert len(mixed) == 500 and Counter(r["issue"] for r in mixed)["minimum_wage"] == 200
    assert len({id(r) for r in mixed}) == 500  # no repeats while rows last
    big = mix_datasets([(gun, 0.6), (wage, 0.4)], total=2000, seed=5)
    counts = Counter(id(r) for r in big if r["issue"] == "minimum_wage")
    assert sum(counts.values()) == 800 and set(counts.values()) == {4}  # 800 from 200: each exactly 4 times
    assert mix_datasets([(gun, 0.6), (wage, 0.4)], total=2000, seed=5) == big
    assert mix_datasets([(gun, 0.6), (wage, 0.4)], total=2000, seed=6) != big
    issues_in_order = [r["issue"] for r in big]
    assert issues_in_order[:100].count("gun_control") not in (0, 100)  # shuffled, not concatenated
    with pytest.raises(ValueError, match="no rows"):
        mix_datasets([(gun, 1), ([], 1)])


def test_embedded_source():
    rows = load_slates("embedded")
    assert rows == generate_rows()
    kept, stats = clean_rows(rows, require_opinion=True)
    assert stats.rows_dropped == 0
    train, validation = load_slates("synthetic", "train"), load_slates("embedded", "validation")
    assert len(train) + len(validation) == len(rows) and validation
    assert not {r["participant_id"] for r in train} & {r["participant_id"] for r in validation}


@pytest.fixture
def grail_sample(shared_data):
    return shared_folder(shared_data, "grail-sample")


def test_real_sample_loads_as_it_is(grail_sample):
    rows = load_slates(grail_sample)
    kept, stats = clean_rows(rows)
    # the dataset rules: 1 exact copy (gun), and one wage slate logged twice with two golds (both dropped)
    assert (stats.rows_in, stats.rows_kept, stats.dropped) == (1573, 1570, {"conflicting_gold": 2, "duplicate_row": 1})
    assert Counter(r["issue"] for r in kept) == {"gun_control": 547, "minimum_wage": 1023}
    key = lambda r, items: (r["session_id"], r["step_index"], r["next_video_id"], tuple(str(i["id"]) for i in items))
    raw_of = {key(r, r["slate_items_json"]): r for r in rows}
    pairs = [(k, raw_of[key(k, k["slate_items"])]) for k in kept]
    assert all(k["gold_index"] == r["gold_index"] for k, r in pairs)
    # the sample's labels use 1e-6; the recipe's one tolerance (0.01) labels 19 wage participants no_change instead
    assert all(k["opinion_direction"] == raw_of[key(k, k["slate_items"])]["opinion_direction"]
               for k in clean_rows(rows, direction_tolerance=1e-6)[0])
    differ = {k["participant_id"] for k, r in pairs if k["opinion_direction"] != r["opinion_direction"]}
    assert len(differ) == 19 and all(k["opinion_direction"] == "no_change" for k, r in pairs
                                     if k["opinion_direction"] != r["opinion_direction"])
    _, strict = clean_rows(rows, require_opinion=True)
    assert strict.rows_kept == 1568                                      # 2 without opinion, 3 by the rules


def test_real_sample_single_file(grail_sample):
    kept, _ = clean_rows(load_slates(grail_sample / "gun_control.jsonl.gz"))
    assert len(kept) == 547 and {r["participant_study"] for r in kept} == {"study1"}   # 548 less 1 duplicate_row


def test_direction_tolerance_is_the_recipe_default():
    import grpo_nb.data as data
    assert not hasattr(data, "OPINION_TOLERANCE")                       # one constant, in grpo_nb.config
    assert DIRECTION_TOLERANCE == 0.01
    assert [opinion_direction(0.5, 0.509), opinion_direction(0.5, 0.511)] == ["no_change", "increase"]
    rows = [make_row(gun_index=0.5, gun_index_2=0.505)]
    assert clean_rows(rows)[0][0]["opinion_direction"] == "no_change"
    assert clean_rows(rows, direction_tolerance=1e-6)[0][0]["opinion_direction"] == "increase"


def test_a_file_without_split_names_has_no_split(files):
    with pytest.raises(SplitNotFoundError, match="no files for split 'train'") as error:
        load_slates(files / "rows.jsonl", "train")
    assert error.value.available == []
    with pytest.raises(SplitNotFoundError):
        load_slates(str(files / "rows.json*"), "validation")
    with pytest.raises(SplitNotFoundError, match="single saved Dataset"):
        load_slates(files / "saved_one", "train")
    (files / "validation.jsonl").write_text((files / "rows.jsonl").read_text())
    assert load_slates(files / "validation.jsonl", "validation") == ROWS


def test_drop_appended_gold_is_counted():
    full = lambda i: {"id": i, "title": i, "channel_title": "C", "duration_seconds": 9, "view_count": 3}
    appended = make_row(slate_items_json=[full("a"), {"id": "b", "title": "b", "view_count": 1}, full("c")])
    kept, stats = clean_rows([appended, make_row()], drop_appended_gold=True)
    assert stats.dropped == {"appended_gold": 1} and len(kept) == 1
    assert clean_rows([appended])[1].rows_kept == 1                   # off by default


def test_real_gun_appended_gold_drops(grail_sample):
    kept, stats = clean_rows(load_slates(grail_sample / "gun_control.jsonl.gz"), drop_appended_gold=True)
    assert stats.dropped == {"appended_gold": 522} and len(kept) == 26


def test_sample_participants_takes_whole_people():
    rows = [make_row(f"p{i}", s) for i in range(50) for s in range(4)]
    sample, info = sample_participants(rows, 30, seed=0)
    assert (len(sample), info["participants_sampled"], info["participants_available"]) == (28, 7, 50)
    assert info["summary"] == "28 of 200 rows, 7 of 50 participants"
    assert {r["participant_id"] for r in sample} != {f"p{i}" for i in range(7)}
    per = Counter(r["participant_id"] for r in sample)
    assert set(per.values()) == {4}
    assert sample_participants(rows, 30, seed=0) == (sample, info)


def test_uncached_hub_dataset_without_network_fails_at_once_naming_the_recipe_key(monkeypatch):
    import time
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    started = time.monotonic()
    with pytest.raises(SlateSourceError) as e:
        load_slates("od2961/not-cached-anywhere", "validation")
    assert time.monotonic() - started < 10
    msg = str(e.value)
    assert ("'od2961/not-cached-anywhere': it is not in the local cache and the hub cannot be reached "
            "(127.0.0.1:9: Connection refused)") in msg
    assert "set HF_HUB_OFFLINE=1" in msg and "the recipe key `dataset_name` (or `--dataset_name PATH`" in msg
    assert "load_slates(" not in msg
