"""Bad input, tried on purpose: every case ends in a clear error that names the problem, or in a counted, reported
drop — never in a wrong metric.

A catalogue, one section per kind of input. Cases already pinned down elsewhere are not repeated here:
unknown keys, wrong types, zero batch sizes and a batch not divisible by `num_generations` (`test_config.py`);
each row-level drop reason of `clean_rows` and missing columns (`test_data.py`); a truncated last predictions line,
a broken middle line and another dataset's ids on resume (`test_next_video.py`, `test_opinion.py`); a report
render interrupted half-way (`test_reports.py`).

    recipes       a file that is not a recipe, values no trainer could use, reward names that do not exist
    datasets      encodings, empty files, bad rows counted end to end, opinions off the 0-1 scale, hostile titles
    predictions   killed runs, corrupt lines, repeated ids, empty files, resuming onto other prompts
    metrics       ineligible and invalid rows are never counted as wrong, nor as right
    atomic writes metrics.json, prepare_stats.json and reports survive a SIGKILL or a failed rename
"""
import gzip
import json
import logging
import math
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

from grpo_nb.config import RecipeError, load_recipe
from grpo_nb.data import SlateSourceError, clean_rows, load_slates
from grpo_nb.next_video import (PredictionsFile, example_row_mismatch, prediction_row, read_predictions, run_resumable,
                                score_next_video, score_predictions_file)
from grpo_nb.opinion import opinion_examples, score_opinion, score_opinion_file
from grpo_nb.prompts import option_block_lines, prepare_examples

REPO = Path(__file__).resolve().parent.parent
BASE = "model_name_or_path: embedded:tiny-qwen2\nbf16: false\n"


def make_row(pid="p1", step=1, slate=("a", "b", "c"), gold="b", **extra):
    "One cleaned-slate row in the published schema (study 1), with one earlier video in its history."
    row = dict(issue="gun_control", participant_study="study1", participant_id=pid, session_id=f"{pid}-s",
               step_index=step, current_video_id="cur", current_video_title="Now playing", current_video_channel="Chan",
               next_video_id=gold, slate_items_json=[{"id": i, "title": f"Video {i}", "channel_title": "C"} for i in slate],
               watched_detailed_json=[{"id": "old", "title": "Earlier"}, {"id": "cur", "title": "Now playing"}],
               gun_index=0.25, gun_index_2=0.5)
    row.update(extra)
    return row


def jsonl(rows) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def user_text(example) -> str:
    return example["prompt"][1]["content"]


# ================================================================ recipes

RECIPE_FILES = {
    "empty file": ("", "is empty"),
    "comments only": ("# to do\n", "is empty"),
    "a list": ("- model_name_or_path: x\n", "must be a YAML mapping of key: value, got a list"),
    "a scalar": ("gun\n", "must be a YAML mapping of key: value, got a str"),
    "a syntax error": (BASE + "issues: [gun_control\n", "invalid YAML at line 4"),
    "a tab indent": (BASE + "issues:\n\t- gun_control\n", "invalid YAML at line 4"),
    "a key given twice": (BASE + "learning_rate: 1e-5\nlearning_rate: 1e-4\n", "'learning_rate' is given twice (lines 3 and 4)"),
    "a key that is not a name": (BASE + "1: 2\n", "keys must be names, got [1]"),
}


@pytest.mark.parametrize("case", sorted(RECIPE_FILES))
def test_a_file_that_is_not_a_recipe_names_the_file_and_line(tmp_path, case):
    text, message = RECIPE_FILES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError, match=re.escape(message)) as error:
        load_recipe(path)
    assert str(path) in str(error.value)


def test_a_recipe_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.encode() + b"system_prompt: caf\xe9\n")
    with pytest.raises(RecipeError, match=r"latin1.yaml: line 3 is not UTF-8 \(byte 0xe9\)"):
        load_recipe(path)


BAD_VALUES = {   # (recipe lines, what the error must say); none of these may reach TRL or the trainer
    "no generations": ("num_generations: 0\n", "num_generations must be at least 2"),   # was a ZeroDivisionError
    "one generation": ("num_generations: 1\n", "num_generations must be at least 2"),
    "negative generations": ("num_generations: -4\n", "num_generations must be at least 2"),
    "zero eval batch": ("per_device_eval_batch_size: 0\n", "per_device_eval_batch_size must be at least 1"),
    "negative warm-up batch": ("sft_warmup_batch_size: -1\n", "sft_warmup_batch_size must be at least 1"),
    "zero steps per generation": ("steps_per_generation: 0\n", "steps_per_generation must be at least 1"),
    "negative learning rate": ("learning_rate: -1e-5\n", "learning_rate must be a number >= 0"),
    "NaN reward weight": ("reward_funcs: [strict_accuracy, format]\nreward_weights: [.nan, 1]\n", "reward_weights must be finite"),
    "negative temperature": ("eval_temperature: -0.5\n", "eval_temperature must be >= 0"),
    "top_p of zero": ("eval_top_p: 0\n", r"eval_top_p must be in \(0, 1\]"),
    "mixture without weight": ("dataset_mixture: [{name: embedded}]\n", "entry 1 needs a 'weight' >= 0"),
    "mixture with a typo": ("dataset_mixture: [{name: embedded, wieght: 1}]\n", r"unknown key\(s\) \['wieght'\]"),
    "mixture negative weight": ("dataset_mixture: [{name: embedded, weight: -1}]\n", "needs a 'weight' >= 0, got -1"),
    "model of only spaces": ("model_name_or_path: '   '\n", "model_name_or_path is missing"),   # the later key wins
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_values_no_trainer_could_use_fail_at_load_time(tmp_path, case):
    lines, message = BAD_VALUES[case]
    path = tmp_path / "r.yaml"
    path.write_text(BASE.replace("model_name_or_path: embedded:tiny-qwen2\n", "") + lines
                    if lines.startswith("model_name_or_path") else BASE + lines)
    with pytest.raises(RecipeError, match=message):
        load_recipe(path)


def test_an_unknown_reward_fails_at_load_time_not_after_the_model_is_loaded(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(BASE + "reward_funcs: [strict_accuracy, fromat]\n")
    with pytest.raises(RecipeError, match=r"unknown reward 'fromat' \(did you mean 'format'\?\); known rewards: accuracy"):
        load_recipe(path)
    # overrides are checked the same way, and a reward registered before loading is known
    from grpo_nb.rewards import REWARD_REGISTRY, register_reward
    with pytest.raises(RecipeError, match="unknown reward 'discriminator'"):
        load_recipe(path, ["--reward_funcs", "[discriminator]"])
    register_reward("discriminator", lambda completions, **kw: [0.0] * len(completions))
    try: assert load_recipe(path, ["--reward_funcs", "[discriminator]"]).script.reward_funcs == ["discriminator"]
    finally: REWARD_REGISTRY.pop("discriminator")


# ================================================================ datasets: files

@pytest.mark.parametrize("name", ["rows.jsonl", "rows.jsonl.gz", "rows.csv"])
def test_bytes_that_are_not_utf8_refuse_the_file_naming_file_and_line(tmp_path, name):
    """Refused, not dropped: a wrong encoding hits exactly the rows with accented or non-Latin titles, so dropping
    them would bias the sample by language; re-encoding the file is the fix, and the message says how."""
    good = json.dumps(make_row()).encode()
    bad = good.replace(b"Now playing", b"Caf\xe9 con leche")
    if name.endswith(".csv"):
        data = b"issue,participant_id,current_video_title\ngun_control,p1,ok\ngun_control,p2,Caf\xe9\n"
    else:
        data = good + b"\n" + good + b"\n" + bad + b"\n"
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    with pytest.raises(SlateSourceError, match=rf"{name}: line 3 is not UTF-8 \(byte 0xe9\).*iconv"):
        load_slates(path)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + jsonl([make_row(), make_row(step=2)]))
    assert len(load_slates(path)) == 2


def _write_empty(path: Path):
    import pyarrow as pa, pyarrow.parquet as pq
    if path.name == "schema_only.parquet": pq.write_table(pa.table({"issue": pa.array([], pa.string())}), path)
    elif path.name == "header_only.csv": path.write_text("issue,participant_study,participant_id,next_video_id\n")
    elif path.name == "blank_lines.jsonl": path.write_text("\n  \n\n")
    elif path.name == "empty_array.json": path.write_text("[]")
    elif path.name.endswith(".gz"): path.write_bytes(gzip.compress(b""))
    else: path.write_bytes(b"")


EMPTY_FILES = {"empty.jsonl": "empty file", "empty.jsonl.gz": "empty file", "blank_lines.jsonl": "empty file",
               "empty.csv": "empty file", "header_only.csv": "header only, no data rows", "empty.parquet": "empty file",
               "schema_only.parquet": "no rows", "empty_array.json": "no rows"}


@pytest.mark.parametrize("name", sorted(EMPTY_FILES))
def test_a_source_without_rows_is_an_error_that_says_what_the_file_held(tmp_path, name):
    path = tmp_path / name
    _write_empty(path)
    with pytest.raises(SlateSourceError, match=rf"no rows to load: .*{name}: {EMPTY_FILES[name]}"):
        load_slates(path)


def test_an_empty_file_beside_real_ones_is_skipped_with_a_warning(tmp_path, caplog):
    (tmp_path / "a.jsonl").write_bytes(jsonl([make_row()]))
    (tmp_path / "b.csv").write_text("issue,participant_id\n")
    with caplog.at_level(logging.WARNING, logger="grpo_nb.data"):
        assert len(load_slates(tmp_path)) == 1
    assert "hold no rows and were skipped" in caplog.text and "b.csv" in caplog.text


def test_a_cut_gzip_file_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl([make_row()] * 50))[:-20])
    with pytest.raises(SlateSourceError, match="cut.jsonl.gz: not a complete gzip file"):
        load_slates(path)


# ================================================================ datasets: rows, end to end

def _recipe(data: Path, *extra):
    return load_recipe("demo", ["--dataset_name", str(data), *extra])


def test_bad_rows_are_dropped_counted_and_reported_in_prepare_stats(tmp_path):
    from grpo_nb.prepare import prepare_split, write_prepared
    good = [make_row(pid=f"g{i}") for i in range(4)]
    bad = [make_row(pid="b1", slate_items_json="[]"),                            # empty slate
           make_row(pid="b2", gold="zz"),                                        # gold not on the slate
           make_row(pid="b3", slate_items_json='[{"id": "a", "title": '),         # malformed JSON
           make_row(pid="b4", watched_detailed_json='[{"id": "old"'),
           make_row(pid="b5", next_video_id=None),                               # missing value
           make_row(pid="b6", slate_items_json=[{"id": "b"}, {"title": "no id"}])]
    off_scale = [make_row(pid="o1", gun_index=float("nan")), make_row(pid="o2", gun_index_2=1.7),   # kept, opinion nulled
                 make_row(pid="o3", gun_index="n/a"), make_row(pid="o4", gun_index=-0.2)]
    data = tmp_path / "validation.jsonl"
    data.write_bytes(jsonl(good + bad + off_scale))
    examples, stats = prepare_split(_recipe(data), "validation")
    assert (stats["rows_in"], stats["rows_kept"], stats["rows_dropped"]) == (14, 8, 6)
    assert stats["dropped"] == {"empty_slate": 1, "gold_not_on_slate": 1, "malformed_json:slate_items_json": 1,
                                "malformed_json:watched_detailed_json": 1, "malformed_slate_item": 1,
                                "missing_value:next_video_id": 1}
    assert stats["notes"] == {"opinion_set_to_none:gun_index": 3, "opinion_set_to_none:gun_index_2": 1}
    assert len(examples) == 8 and not any(e["participant_id"].startswith("b") for e in examples)
    assert [e["opinion_before"] for e in examples if e["participant_id"].startswith("o")] == [None, 0.25, None, None]
    written = json.loads(write_prepared(examples, stats, tmp_path / "out")["stats"].read_text())
    assert written["dropped"] == stats["dropped"] and written["notes"] == stats["notes"]


def test_a_split_whose_rows_are_all_dropped_is_an_error_naming_the_reasons(tmp_path):
    from grpo_nb.prepare import prepare_split
    data = tmp_path / "validation.jsonl"
    data.write_bytes(jsonl([make_row(gold="zz"), make_row(slate_items_json=[])]))
    with pytest.raises(ValueError, match=r"no examples in split 'validation'.*every row was dropped .*"
                                         r"empty_slate=1, gold_not_on_slate=1"):
        prepare_split(_recipe(data), "validation")
    data.write_bytes(jsonl([make_row()]))
    with pytest.raises(ValueError, match="none left after the filters issues=\\['minimum_wage'\\]"):
        prepare_split(_recipe(data, "--issues", "[minimum_wage]"), "validation")


def test_a_missing_column_is_named_with_the_nearest_one(tmp_path):
    from grpo_nb.data import MissingColumnError
    from grpo_nb.prepare import prepare_split
    rows = [{("slate_item_json" if k == "slate_items_json" else k): v for k, v in make_row().items()}]
    (tmp_path / "validation.jsonl").write_bytes(jsonl(rows))
    with pytest.raises(MissingColumnError, match="'slate_items_json' \\(did you mean 'slate_item_json'\\?\\)"):
        prepare_split(_recipe(tmp_path / "validation.jsonl"), "validation")


OFF_SCALE = {"NaN": float("nan"), "negative": -0.1, "above one": 1.7, "text": "abc", "a boolean": True,
             "infinite": float("inf"), "a 1-7 answer": 5}


def test_opinions_off_the_0_1_scale_are_nulled_and_counted_or_dropped_by_reason():
    rows = [make_row(pid=f"p{i}", gun_index=v) for i, v in enumerate(OFF_SCALE.values())] + [make_row(pid="ok")]
    kept, stats = clean_rows(rows)
    assert stats.rows_kept == len(rows) and stats.notes == {"opinion_set_to_none:gun_index": len(OFF_SCALE)}
    assert [r["opinion_before"] for r in kept] == [None] * len(OFF_SCALE) + [0.25]
    assert [r["opinion_direction"] for r in kept] == [None] * len(OFF_SCALE) + ["increase"]
    assert clean_rows(rows, require_opinion=True)[1].dropped == {"bad_opinion_value": len(OFF_SCALE)}
    # the opinion task then sees one valid participant; the others are dropped by named reason, never scored
    examples = opinion_examples(kept)
    assert len(examples) == 1 and examples.dropped == {"opinion_before_missing": len(OFF_SCALE)}


HOSTILE = "Bad\x00title\x1b[31m red\x1b[0m\nsecond line\r\u2028sep\u2029para\x85nel\u202eRTL\u200bzw\x7f\ttab"


def test_control_characters_in_titles_never_reach_an_option_line():
    slate = [{"id": "a", "title": HOSTILE, "channel_title": "Ch\x00an\nnel"}, {"id": "b", "title": "ok\r\n", "channel_title": "x"}]
    row = make_row(slate_items_json=slate, gold="b", current_video_title=HOSTILE, current_video_channel="A\nB",
                   watched_detailed_json=[{"id": "old", "title": HOSTILE}, {"id": "cur", "title": "Now"}],
                   viewer_profile_sentence="A viewer\x1b[2J who\nlikes guns")
    kept, _ = clean_rows([row])
    example = prepare_examples(kept)[0]
    text = user_text(example)
    for ch in "\x00\x1b\r\u2028\u2029\x85\u202e\u200b\x7f\t":
        assert ch not in text, repr(ch)
    options = option_block_lines(text)
    assert len(options) == example["n_options"] == 2
    assert options[0].startswith("Badtitle[31m red[0m second line sep para nel") and options[1] == "ok (x)"
    blocks = text.split("\n\n")
    assert [len(b.splitlines()) for b in blocks[:3]] == [1, 1, 2]      # viewer, current video, one history line


def test_10000_character_fields_are_truncated_and_the_prompt_is_bounded():
    from grpo_nb.prompts import MAX_CHANNEL_CHARS, MAX_CONTEXT_CHARS
    huge, words = "x" * 10_000, "word " * 2_000
    slate = [{"id": "a", "title": huge, "channel_title": huge}, {"id": "b", "title": words, "channel_title": huge},
             {"id": "c" * 10_000}]                                    # no title: the id stands in, cut too
    row = make_row(slate_items_json=slate, gold="b", current_video_title=huge, current_video_channel=huge,
                   viewer_profile_sentence=words, initial_viewpoint=huge, survey_highlights=words,
                   watched_detailed_json=[{"id": "old", "title": huge, "channel_title": huge}, {"id": "cur"}])
    example = prepare_examples(clean_rows([row])[0], max_title_chars=120)[0]
    text = user_text(example)
    options = option_block_lines(text)
    assert len(options) == 3 and all(len(line) <= 120 + MAX_CHANNEL_CHARS + 5 for line in options)
    assert max(len(line) for line in text.splitlines()) <= MAX_CONTEXT_CHARS + len("Initial Viewpoint: ")
    assert len(text) < 3 * MAX_CONTEXT_CHARS + 5 * (120 + MAX_CHANNEL_CHARS) + 500
    assert "…" in options[0] and options[1].startswith("word word") and example["gold_index"] == 2


# ================================================================ predictions files

def nv_row(i, gold=2, n=3, answer=2, **extra):
    return {"example_id": f"s{i}/0/{i}", "completion": f"<think>t</think><answer>{answer}</answer>", "gold_index": gold,
            "n_options": n, "issue": "gun_control", "participant_study": "study1", **extra}


def op_row(i, before=0.4, after=0.5, answer="0.5", **extra):
    return {"example_id": f"gun_control/study1/p{i}", "participant_id": f"p{i}", "issue": "gun_control", "study": "study1",
            "step_index": 3, "before": before, "after": after,
            "completion": f"<think>t</think><answer>{answer}</answer>", **extra}


SCORERS = {"next_video": (score_predictions_file, nv_row, lambda m: m["n_total"]),
           "opinion": (score_opinion_file, op_row, lambda m: m["combined"]["n_rows"])}


@pytest.mark.parametrize("task", sorted(SCORERS))
def test_a_killed_runs_partial_last_line_is_dropped_with_a_warning_and_the_rest_scored(tmp_path, task, caplog):
    score, make, n_rows = SCORERS[task]
    path = tmp_path / "predictions.jsonl"
    whole = jsonl([make(i) for i in range(5)])
    path.write_bytes(whole + json.dumps(make(5)).encode()[:25])
    with caplog.at_level(logging.WARNING):
        metrics = score(path)
    assert n_rows(metrics) == 5 and "truncated last line 6" in caplog.text
    path.write_bytes(whole)
    assert {k: v for k, v in metrics.items() if k != "source"} == {k: v for k, v in score(path).items() if k != "source"}


@pytest.mark.parametrize("task", sorted(SCORERS))
@pytest.mark.parametrize("broken", [b'{"example_id": \n', b"\xff\xfe not utf-8\n", b"[1, 2]\n"])
def test_a_broken_line_in_the_middle_is_an_error_naming_its_line(tmp_path, task, broken):
    score, make, _ = SCORERS[task]
    path = tmp_path / "predictions.jsonl"
    path.write_bytes(jsonl([make(0), make(1)]) + broken + jsonl([make(3)]))
    with pytest.raises(ValueError, match="line 3 is (not valid JSON|a JSON list)"):
        score(path)


@pytest.mark.parametrize("task", sorted(SCORERS))
def test_a_broken_last_line_that_was_written_whole_is_corruption_not_a_killed_run(tmp_path, task):
    score, make, _ = SCORERS[task]
    path = tmp_path / "predictions.jsonl"
    path.write_bytes(jsonl([make(0), make(1)]) + b'{"example_id": "x", "comple\n')      # ends with its newline
    with pytest.raises(ValueError, match="line 3 is not valid JSON"):
        score(path)


@pytest.mark.parametrize("task", sorted(SCORERS))
@pytest.mark.parametrize("content", [b"", b"\n\n", b'{"example_id": "s0/0/0", "compl'])
def test_an_empty_predictions_file_is_an_error_not_a_metric(tmp_path, task, content):
    score, _, _ = SCORERS[task]
    path = tmp_path / "predictions.jsonl"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="no (complete )?prediction rows"):
        score(path)


@pytest.mark.parametrize("task", sorted(SCORERS))
def test_repeated_example_ids_are_refused_never_counted_twice(tmp_path, task):
    score, make, _ = SCORERS[task]
    path = tmp_path / "predictions.jsonl"
    rows = [make(i) for i in range(4)]
    path.write_bytes(jsonl(rows + rows[1:3]))                     # a file appended twice, in part
    with pytest.raises(ValueError, match="2 row\\(s\\) repeat an example_id \\(first: .* in rows 2 and 5\\)"):
        score(path)


def test_published_opinion_rows_repeating_a_participant_are_refused(tmp_path):
    rows = [{"participant_id": f"p{i}", "issue": "gun_control", "study": "study1", "step_index": 3, "before": 0.4,
             "after": 0.5, "prediction": 2, "raw_output": "<answer>0.5</answer>", "messages": []} for i in range(3)]
    path = tmp_path / "published.jsonl"
    path.write_bytes(jsonl(rows + rows[:1]))
    with pytest.raises(ValueError, match="one per participant"):
        score_opinion_file(path)


def test_resuming_onto_rows_made_from_other_prompts_is_refused(tmp_path):
    """Example ids are `{session}/{step}/{row}`: the same data rendered with another option order has the same ids
    but other prompts and gold positions. Resuming would mix the two, so it is refused."""
    rows = [make_row(pid=f"p{i}") for i in range(4)]
    kept, _ = clean_rows(rows)
    logged = prepare_examples(kept)
    shuffled = prepare_examples(kept, option_order="shuffle", option_seed=3)
    assert [e["example_id"] for e in logged] == [e["example_id"] for e in shuffled]
    assert [e["gold_index"] for e in logged] != [e["gold_index"] for e in shuffled]
    path = tmp_path / "predictions.jsonl"
    answer = lambda batch: ["<think>t</think><answer>1</answer>"] * len(batch)
    kw = dict(batch_size=2, progress=False, check_row=example_row_mismatch)
    run_resumable(logged[:2], path, answer, prediction_row, **kw)              # killed after the first batch
    with pytest.raises(ValueError, match="were not made from the examples being evaluated"):
        run_resumable(shuffled, path, answer, prediction_row, **kw)
    assert len(run_resumable(logged, path, answer, prediction_row, **kw)) == 4   # the same examples resume fine


def test_resuming_a_file_with_a_repeated_id_is_refused(tmp_path):
    path = tmp_path / "predictions.jsonl"
    path.write_bytes(jsonl([{"example_id": "a"}, {"example_id": "b"}, {"example_id": "a"}]))
    with pytest.raises(ValueError, match="duplicate example_id 'a' at row 3"):
        PredictionsFile(path).load(["a", "b", "c"])


# ================================================================ metrics never wrong

def test_rows_whose_gold_is_not_on_the_slate_are_ineligible_not_wrong():
    from grpo_nb.next_video import rescore_rows
    ineligible = [nv_row(1, gold=0, answer=1), nv_row(2, gold=-1, answer=1), nv_row(3, gold=None),
                  nv_row(8, n=0, gold=1, answer=1),
                  nv_row(9, gold=7, n=5, answer=7),              # gold outside its own slate: was eligible AND correct
                  {k: v for k, v in nv_row(10).items() if k != "gold_index"}]
    # not whole numbers: bad values, counted and left out (2.5 was once read as 2 and counted correct)
    bad = [nv_row(4, gold="x"), nv_row(5, gold=2.5, answer=2), nv_row(6, gold=True, answer=1),
           nv_row(7, gold=float("nan")), nv_row(22, gold="3", n="3", answer=3)]
    eligible = [nv_row(20, gold=2, answer=2), nv_row(21, gold=1, answer=3)]
    m = score_next_video(rescore_rows(ineligible + bad + eligible))
    assert (m["n_total"], m["n_eligible"], m["n_correct"]) == (8, 2, 1)
    assert m["dropped"] == {"bad_value:gold_index": 5} and m["n_dropped"] == 5
    assert m["accuracy_overall"] == 1 / 2 and m["gold_index_distribution"] == {"1": 1, "2": 1}
    assert m["baselines"]["pick_last_option"]["n"] == 2
    json.dumps(m, allow_nan=False)


def test_answers_outside_the_slate_are_invalid_never_correct(tmp_path):
    rows = [nv_row(1, gold=3, n=3, answer=4), nv_row(2, gold=1, n=3, answer=0), nv_row(3, gold=2, n=3, answer=99),
            nv_row(4, gold=1, n=3, answer="-1"), nv_row(5, gold=1, n=3, answer="1.0"), nv_row(6, gold=2, n=3, answer=2)]
    path = tmp_path / "p.jsonl"
    path.write_bytes(jsonl(rows))
    m = score_predictions_file(path)
    assert (m["n_eligible"], m["n_correct"]) == (6, 1)
    assert m["parsed_rate"] == 4 / 6 and m["valid_rate"] == 1 / 6           # 4, 0, 99 parse; only 2 is an option


def test_a_file_with_no_eligible_row_gives_empty_rates_not_zeros():
    m = score_next_video([nv_row(1, gold=-1, parsed_index=1), nv_row(2, n=0, parsed_index=1)])
    assert (m["n_total"], m["n_eligible"]) == (2, 0)
    assert m["accuracy_overall"] is None and m["parsed_rate"] is None and m["random_baseline_expected_accuracy"] is None
    json.dumps(m, allow_nan=False)


def test_opinion_rows_off_the_scale_are_ineligible_and_bad_answers_unparsed():
    rows = [op_row(0, before=float("nan")), op_row(1, after=1.7), op_row(2, before=None), op_row(3, before="x"),
            op_row(4, answer="7"), op_row(5, answer="-0.2"), op_row(6, answer="nan"), op_row(7, answer="0.5"),
            op_row(8, answer="0.6")]
    from grpo_nb.rewards import parse_opinion_index
    m = score_opinion([dict(r, prediction=parse_opinion_index(r["completion"])) for r in rows])["combined"]
    assert (m["n_rows"], m["n_eligible"], m["n_parsed"]) == (9, 5, 2)
    assert m["ineligible"] == {"after_out_of_range": 1, "before_missing": 1, "before_nan": 1, "before_not_a_number": 1}
    # each non-answer under its own name ("7" is an option number, not an index), scored as no change, and said so
    assert m["unparsed"] == {"option_number": 1, "out_of_range": 1, "malformed": 1}
    assert math.isclose(m["model"]["mae"], (0.1 + 0.1 + 0.1 + 0.0 + 0.1) / 5)


# ================================================================ atomic writes

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


# ================================================================ on the real data (GRPO_NB_SHARED_DATA)

def test_real_titles_reach_prompts_clean_and_bounded(shared_data):
    from grpo_nb.prompts import MAX_CHANNEL_CHARS
    kept, stats = clean_rows(load_slates(shared_data / "grail-sample"))
    assert stats.rows_kept == stats.rows_in - stats.rows_dropped > 1000
    for example in prepare_examples(kept, max_title_chars=120):
        text = user_text(example)
        assert not any(ch in text for ch in "\x00\x1b\r\t\u2028\u2029")
        options = option_block_lines(text)
        assert len(options) == example["n_options"]
        assert all(len(line) <= 120 + MAX_CHANNEL_CHARS + 80 for line in options)


def test_a_real_predictions_log_cut_or_doubled(shared_data, tmp_path, caplog):
    logs = shared_data / "reference-logs" / "next_video"
    if not logs.is_dir(): pytest.skip(f"{logs} does not exist")
    rows = read_predictions(logs / "grpo-gun.predictions.jsonl.gz")
    whole = jsonl(rows)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(whole[: whole.rindex(b"\n", 0, len(whole) - 1) + 40])          # killed in the last line
    first = tmp_path / "first.jsonl"
    first.write_bytes(jsonl(rows[:-1]))
    with caplog.at_level(logging.WARNING):
        assert score_predictions_file(cut) == score_predictions_file(first)
    assert "truncated last line" in caplog.text
    ided = [dict(r, example_id=f"pub/{i}") for i, r in enumerate(rows)]
    doubled = tmp_path / "doubled.jsonl"
    doubled.write_bytes(jsonl(ided + ided[:10]))
    with pytest.raises(ValueError, match="10 row\\(s\\) repeat an example_id"):
        score_predictions_file(doubled)
