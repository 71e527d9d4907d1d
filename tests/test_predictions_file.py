"""Predictions files as a killed or careless run leaves them: a partial last line is dropped with a warning, a broken
middle line, an empty file, repeated ids and a resume onto other prompts are errors (moved from test_hardening.py,
unchanged)."""
import json
import logging

import pytest
from conftest import jsonl, make_row, nv_row, op_row

from grpo_nb.data import clean_rows
from grpo_nb.next_video import (PredictionsFile, example_row_mismatch, prediction_row, read_predictions, run_resumable,
                                score_predictions_file)
from grpo_nb.opinion import score_opinion_file
from grpo_nb.prompts import prepare_examples

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
@pytest.mark.parametrize("broken", [b'{"example_id": \n', b"[1, 2]\n"])   # a non-UTF-8 line is a counted drop (bad_encoding)
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
