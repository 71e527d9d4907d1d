"""Issue 11, round 2 — prediction files, scoring and evaluation sampling.

Family 6: every field of a prediction row (next-video and opinion) is checked by one schema; a bad row is a counted
drop `bad_value:<field>`, never a traceback nor a silently wrong count; nothing is sized by a row's value; a line that
cannot be read is a counted drop (too long, too deep, a number Python cannot hold) or an error naming the file and
the line (not JSON); files are read in bounded pieces. Family 1: sampled evaluation is a function of the model, the
examples and the seed — identical on a rerun, with other batches, and after a kill at any row and a resume.
Family 12: metrics record their provenance; the recorded source path keeps no credential."""
import contextlib
import gzip
import io
import json
import math
import time
import tracemalloc
from pathlib import Path

import pytest

import grpo_nb
from grpo_nb.cli import main
from grpo_nb.next_video import (MAX_PREDICTION_LINE_BYTES, PredictionsFile, evaluate_next_video, example_seed,
                                next_video_row_problem, read_predictions, read_predictions_report, rescore_rows,
                                sample_completions, score_next_video, score_predictions_file, valid_rows)
from grpo_nb.opinion import evaluate_opinion, opinion_row_problem, score_opinion, score_opinion_file


def run_cli(*args) -> tuple[int, str, str]:
    with contextlib.redirect_stderr(io.StringIO()) as err, contextlib.redirect_stdout(io.StringIO()) as out:
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


def nv_row(i, **extra):
    row = {"example_id": f"s{i}/0/{i}", "completion": "<think>t</think><answer>2</answer>", "gold_index": 2,
           "n_options": 3, "issue": "gun_control", "participant_study": "study1", "participant_id": f"p{i}",
           "messages": [{"role": "user", "content": f"VIEWER {i}"}], "permutation": 0, "option_ids": ["a", "b", "c"]}
    return {**row, **extra}


def op_row(i, **extra):
    return {"example_id": f"gun_control/study1/p{i}", "participant_id": f"p{i}", "issue": "gun_control",
            "study": "study1", "step_index": 3, "before": 0.4, "after": 0.5 + i / 100,
            "completion": "<think>t</think><answer>0.5</answer>", "messages": [{"role": "user", "content": "x"}],
            **extra}


def jsonl(rows) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in rows)


# ================================================================ family 6: bad values are counted drops

NEXT_VIDEO_BAD = [
    ("messages", 7), ("messages", [{"role": "user", "content": 5}]), ("messages", [[1, 2]]),
    ("completion", 5), ("completion", ["<answer>2</answer>"]),
    ("permutation", "abc"), ("permutation", -1), ("permutation", 0.5), ("permutation", True),
    ("n_options", "3.0"), ("n_options", "3"), ("n_options", 1e8), ("n_options", 51), ("n_options", -2),
    ("n_options", {"n": 3}),
    ("gold_index", True), ("gold_index", "2"), ("gold_index", 2.5), ("gold_index", [2]),
    ("option_ids", "abc"), ("option_ids", {"a": 1}), ("option_ids", ["a", "b"]), ("option_ids", [["a"], "b", "c"]),
    ("option_titles", "A"), ("option_stances", [{"s": 1}, 0, 1]),
    ("parsed_index", "2"), ("samples", [1, 2, 3]), ("samples", "<answer>2</answer>"), ("parsed_samples", ["x"]),
    ("participant_id", {"a": [[[1]]]}), ("participant_study", ["study1"]), ("issue", {"x": 1}),
    ("example_id", ["s1"]), ("example_id", True), ("step_index", "①"), ("format_ok", "yes"),
]


@pytest.mark.parametrize("field,value", NEXT_VIDEO_BAD, ids=[f"{f}={v!r}"[:40] for f, v in NEXT_VIDEO_BAD])
def test_a_bad_next_video_value_is_one_counted_drop(tmp_path, field, value):
    path = tmp_path / "p.jsonl"
    path.write_bytes(jsonl([nv_row(i) for i in range(4)] + [nv_row(9, **{field: value})]))
    started = time.perf_counter()
    m = score_predictions_file(path, bootstrap_resamples=20)
    assert time.perf_counter() - started < 10                                  # nothing sized by the value
    assert (m["n_total"], m["n_correct"], m["n_dropped"]) == (4, 4, 1)
    assert m["dropped"] == {f"bad_value:{field}": 1}
    json.dumps(m, allow_nan=False)


@pytest.mark.parametrize("literal,field", [(b"NaN", "gold_index"), (b"Infinity", "n_options"),
                                           (b"-Infinity", "permutation"), (b"1e400", "gold_index")])
def test_nan_and_infinite_numbers_are_bad_values(tmp_path, literal, field):
    bad = json.dumps(nv_row(9, **{field: 0})).encode()
    bad = bad.replace(f'"{field}": 0'.encode(), f'"{field}": '.encode() + literal)
    path = tmp_path / "p.jsonl"
    path.write_bytes(jsonl([nv_row(0), bad, nv_row(1)]))
    m = score_predictions_file(path, bootstrap_resamples=0)
    assert (m["n_total"], m["dropped"]) == (2, {f"bad_value:{field}": 1})


def test_values_that_are_unknown_not_bad_stay_scored_as_ineligible():
    """Absent / null fields are unknown: the row is ineligible, not dropped; whole floats are whole numbers."""
    rows = [nv_row(0, gold_index=None), nv_row(1, gold_index=0), nv_row(2, gold_index=7), nv_row(3, n_options=0,
            option_ids=[]), {k: v for k, v in nv_row(4).items() if k != "gold_index"}, nv_row(5, gold_index=2.0,
            n_options=3.0), nv_row(6, completion=None)]
    m = score_next_video(rescore_rows(rows), bootstrap_resamples=0)
    assert (m["n_total"], m["n_eligible"], m["n_correct"], m["dropped"]) == (7, 2, 1, {})


def test_gold_values_that_are_not_whole_numbers_are_bad_values_not_ineligible():
    """Replaces test_hardening's `..._are_ineligible_not_wrong` expectations for "x", 2.5, True, NaN and "3":
    they are not missing golds, they are wrong values, dropped and counted by field."""
    def row(i, gold=2, n=3, answer=2):
        return {"example_id": f"s{i}/0/{i}", "completion": f"<answer>{answer}</answer>", "gold_index": gold,
                "n_options": n}
    ineligible = [row(1, gold=0, answer=1), row(2, gold=-1, answer=1), row(3, gold=None), row(8, n=0, gold=1, answer=1),
                  row(9, gold=7, n=5, answer=7), {k: v for k, v in row(10).items() if k != "gold_index"}]
    bad = [row(4, gold="x"), row(5, gold=2.5), row(6, gold=True, answer=1), row(7, gold=float("nan")),
           row(22, gold="3", n="3", answer=3), row(23, n="3")]
    eligible = [row(20, gold=2, answer=2), row(21, gold=1, answer=3)]
    m = score_next_video(rescore_rows(ineligible + bad + eligible), bootstrap_resamples=0)
    assert (m["n_total"], m["n_eligible"], m["n_correct"]) == (8, 2, 1)
    assert m["dropped"] == {"bad_value:gold_index": 5, "bad_value:n_options": 1} and m["n_dropped"] == 6
    json.dumps(m, allow_nan=False)


def test_a_file_of_only_bad_rows_scores_nothing_and_says_why(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(jsonl([nv_row(i, n_options=1e8) for i in range(3)]))
    m = score_predictions_file(path, bootstrap_resamples=0)
    assert (m["n_total"], m["n_eligible"], m["accuracy_overall"], m["dropped"]) == (0, 0, None,
                                                                                    {"bad_value:n_options": 3})


OPINION_BAD = [("completion", 5), ("completion", {"t": "x"}), ("messages", 7), ("prediction", "0.5"),
               ("prediction", True), ("participant_id", {"x": [1]}), ("example_id", [1]), ("study", ["s"]),
               ("step_index", "3"), ("opinion_label", 1), ("format_ok", "no")]


@pytest.mark.parametrize("field,value", OPINION_BAD, ids=[f"{f}={v!r}"[:40] for f, v in OPINION_BAD])
def test_a_bad_opinion_value_is_one_counted_drop(tmp_path, field, value):
    path = tmp_path / "p.jsonl"
    path.write_bytes(jsonl([op_row(i) for i in range(4)] + [op_row(9, **{field: value})]))
    m = score_opinion_file(path, bootstrap_resamples=20)
    assert (m["combined"]["n_rows"], m["n_dropped"], m["dropped"]) == (4, 1, {f"bad_value:{field}": 1})
    json.dumps(m, allow_nan=False)


def test_published_opinion_rows_with_a_bad_raw_output_are_dropped_before_rescoring(tmp_path):
    rows = [{"participant_id": f"p{i}", "issue": "gun_control", "study": "study1", "step_index": 3, "before": 0.4,
             "after": 0.5, "prediction": 2.0, "raw_output": "<answer>0.5</answer>", "messages": []} for i in range(3)]
    rows.append({**rows[0], "participant_id": "p9", "raw_output": 5})
    path = tmp_path / "published.jsonl"
    path.write_bytes(jsonl(rows))
    m = score_opinion_file(path, bootstrap_resamples=0)
    assert (m["combined"]["n_rows"], m["dropped"], m["published"]["n_rows"]) == (3, {"bad_value:raw_output": 1}, 3)


def test_opinion_numbers_written_as_strings_are_ineligible_by_name():
    rows = [op_row(0, before="0.4"), op_row(1, after="0.5"), op_row(2, before=[0.4]), op_row(3)]
    m = score_opinion(rows, bootstrap_resamples=0)["combined"]
    assert (m["n_rows"], m["n_eligible"]) == (4, 1)
    assert m["ineligible"] == {"after_not_a_number": 1, "before_not_a_number": 2}


def test_the_schema_functions_name_the_first_bad_field():
    assert next_video_row_problem(nv_row(0)) is None and opinion_row_problem(op_row(0)) is None
    assert next_video_row_problem(nv_row(0, messages=7, n_options="3")) == "bad_value:messages"
    assert next_video_row_problem([1, 2]) == "bad_value:row" and opinion_row_problem("x") == "bad_value:row"
    kept, dropped = valid_rows([nv_row(0), nv_row(1, permutation=-1), nv_row(2, permutation="abc")])
    assert [r["example_id"] for r in kept] == ["s0/0/0"] and dropped == {"bad_value:permutation": 2}


def test_cli_scores_a_file_with_bad_rows_and_writes_the_counts(tmp_path):
    path, out = tmp_path / "p.jsonl", tmp_path / "metrics.json"
    path.write_bytes(jsonl([nv_row(i) for i in range(3)] + [nv_row(7, n_options=1e8), nv_row(8, messages=7)]))
    rc, stdout, err = run_cli("score", "--predictions", str(path), "--out", str(out))
    assert rc == 0 and "Traceback" not in err
    m = json.loads(out.read_text())
    assert (m["n_total"], m["dropped"]) == (3, {"bad_value:messages": 1, "bad_value:n_options": 1})
    assert m["provenance"]["package_version"] == grpo_nb.__version__


# ---------------------------------------------------------------- lines that cannot be read

def test_a_5000_digit_number_and_a_100000_deep_line_are_counted_drops_naming_their_line(tmp_path, caplog):
    digits = json.dumps(nv_row(8))[:-1].encode() + b', "score": ' + b"7" * 5000 + b"}"
    deep = b'{"example_id": "deep", "messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    path = tmp_path / "p.jsonl"
    path.write_bytes(jsonl([nv_row(0), digits, nv_row(1), deep, nv_row(2)]))
    with caplog.at_level("WARNING"):
        m = score_predictions_file(path, bootstrap_resamples=0)
    assert (m["n_total"], m["dropped"]) == (3, {"bad_value:score": 1, "malformed_json:messages": 1})
    assert "line 2 dropped (bad_value:score)" in caplog.text
    assert "line 4 dropped (malformed_json:messages)" in caplog.text
    rows, report = read_predictions_report(path)
    assert report["dropped_at"] == {"bad_value:score": [2], "malformed_json:messages": [4]}
    path.write_bytes(jsonl([nv_row(0), b"7" * 5000, nv_row(1)]))             # a bare number Python cannot hold
    assert read_predictions_report(path)[1]["dropped"] == {"bad_value:row": 1}


def _peak_reading(path, **kw):
    tracemalloc.start()
    try:
        rows, report = read_predictions_report(path, **kw)
        return rows, report, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_line_over_the_cap_is_skipped_without_being_held(tmp_path):
    big = b'{"example_id": "big", "completion": "' + b"a" * (40 << 20) + b'"}'          # 40 MB, cap 1 MiB
    path = tmp_path / "p.jsonl"
    path.write_bytes(jsonl([nv_row(0), big, nv_row(1)]))
    rows, report, peak = _peak_reading(path, max_line_bytes=1 << 20)
    assert [r["example_id"] for r in rows] == ["s0/0/0", "s1/0/1"] and report["dropped"] == {"line_too_long": 1}
    assert report["dropped_at"] == {"line_too_long": [2]}
    assert peak < 5 << 20, f"peak {peak:,} bytes while reading a {len(big):,}-byte line"


def test_the_default_cap_drops_a_line_just_over_16_mib_and_memory_is_bounded_by_the_cap(tmp_path):
    big = b'{"example_id": "big", "completion": "' + b"a" * MAX_PREDICTION_LINE_BYTES + b'"}'
    path = tmp_path / "p.jsonl"
    path.write_bytes(jsonl([nv_row(0), big, nv_row(1)]))
    rows, report, peak = _peak_reading(path)
    assert len(rows) == 2 and report["dropped"] == {"line_too_long": 1}
    assert peak < MAX_PREDICTION_LINE_BYTES + (4 << 20)
    assert score_predictions_file(path, bootstrap_resamples=0)["dropped"] == {"line_too_long": 1}


def test_a_gzip_bomb_line_is_bounded_too(tmp_path):
    path = tmp_path / "p.jsonl.gz"
    with gzip.open(path, "wb") as f:
        f.write(jsonl([nv_row(0)]))
        f.write(b'{"example_id": "bomb", "completion": "')
        for _ in range(48): f.write(b"a" * (1 << 20))
        f.write(b'"}\n' + jsonl([nv_row(1)]))
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        rows, report = read_predictions_report(path, max_line_bytes=1 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(rows) == 2 and report["dropped"] == {"line_too_long": 1} and report["damage"] is None
    assert peak < 12 << 20, f"peak {peak:,} bytes for a 48 MB decompressed line"


@pytest.mark.parametrize("broken,what", [(b'{"example_id": "x", "gold', "is not valid JSON"),   # not UTF-8: a drop now
                                         (b"[1, 2, 3]", "is a JSON list"),
                                         (b'"a row"', "is a JSON str"), (b"null", "is a JSON NoneType")])
def test_a_line_that_is_not_a_row_is_an_error_naming_the_file_and_line(tmp_path, broken, what):
    path = tmp_path / "p.jsonl"
    path.write_bytes(jsonl([nv_row(0), nv_row(1), broken, nv_row(3)]))
    with pytest.raises(ValueError, match=f"p.jsonl: line 3 {what}"):
        score_predictions_file(path)
    rc, _, err = run_cli("score", "--predictions", str(path))
    line = err.strip().splitlines()[-1]
    assert rc == 2 and "Traceback" not in err and line.startswith("grpo-nb score: error: ")
    assert f"{path}: line 3 {what}" in line


def test_a_non_json_file_names_its_first_line_through_the_cli(tmp_path):
    path = tmp_path / "notes.jsonl"
    path.write_text("these are not predictions\nat all\n")
    rc, _, err = run_cli("score", "--predictions", str(path), "--kind", "opinion")
    assert rc == 2 and "Traceback" not in err and f"{path}: line 1 is not valid JSON" in err


def test_resuming_onto_unreadable_or_bad_rows_is_a_named_error(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_bytes(jsonl([{"example_id": ["a"]}]))
    with pytest.raises(ValueError, match=r"row 1 has a list example_id \(bad_value:example_id\)"):
        PredictionsFile(path).load(["a"])
    deep = b'{"example_id": "b", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    path.write_bytes(jsonl([{"example_id": "a"}, deep]))
    with pytest.raises(ValueError, match=r"line 2 cannot be read \(malformed_json:x\)"):
        PredictionsFile(path).load(["a", "b"])
    examples = [{"example_id": f"e{i}", "prompt": [{"role": "user", "content": "x"}], "gold_index": 1, "n_options": 3}
                for i in range(3)]
    out = tmp_path / "run"
    out.mkdir()
    (out / "predictions.jsonl").write_bytes(jsonl([{"example_id": "e0", "completion": "x", "n_options": "3"}]))
    with pytest.raises(ValueError, match=r"were not made from .*bad_value:n_options"):
        evaluate_next_video(None, None, examples, out, generate_fn=lambda p: ["<answer>1</answer>"] * len(p),
                            progress=False, bootstrap_resamples=0)


# ================================================================ family 1: seeded sampled evaluation

@pytest.fixture(scope="module")
def tiny():
    from grpo_nb.model import build_tiny_model, build_tiny_tokenizer, example_prompt_texts
    tokenizer = build_tiny_tokenizer(example_prompt_texts(), vocab_size=512)
    return build_tiny_model(tokenizer, hidden_size=32, intermediate_size=64, initializer_range=0.2), tokenizer


def _examples(n=8):
    out = []
    for i in range(n):
        k = 2 + i % 3
        opts = "\n".join(f"{j}. Video {j} on guns ({'long ' * (i % 4)}title)" for j in range(1, k + 1))
        out.append({"example_id": f"s{i}/0/{i}", "gold_index": 1 + i % k, "n_options": k, "participant_id": f"p{i}",
                    "prompt": [{"role": "system", "content": "Answer <answer>N</answer>."},
                               {"role": "user", "content": f"VIEWER {i}\nOPTIONS\n{opts}"}]})
    return out


SAMPLED = dict(num_samples=3, temperature=1.0, max_new_tokens=6, progress=False, bootstrap_resamples=50, seed=11)


def test_sampled_evaluation_is_identical_on_a_rerun_and_with_other_batches(tiny, tmp_path):
    import torch
    model, tokenizer = tiny
    torch.manual_seed(123); expected = torch.rand(3)
    torch.manual_seed(123)
    evaluate_next_video(model, tokenizer, _examples(), tmp_path / "a", batch_size=3, **SAMPLED)
    assert torch.equal(torch.rand(3), expected)                     # the caller's random state is left alone
    evaluate_next_video(model, tokenizer, _examples(), tmp_path / "b", batch_size=3, **SAMPLED)
    evaluate_next_video(model, tokenizer, _examples()[::-1], tmp_path / "c", batch_size=5, **SAMPLED)
    a = (tmp_path / "a" / "predictions.jsonl").read_bytes()
    assert (tmp_path / "b" / "predictions.jsonl").read_bytes() == a
    assert (tmp_path / "a" / "metrics.json").read_text() == (tmp_path / "b" / "metrics.json").read_text()
    by_id = lambda p: {r["example_id"]: r["samples"] for r in read_predictions(p)}
    assert by_id(tmp_path / "c" / "predictions.jsonl") == by_id(tmp_path / "a" / "predictions.jsonl")
    rows = read_predictions(tmp_path / "a" / "predictions.jsonl")
    assert all(len(r["samples"]) == 3 for r in rows) and len({tuple(r["samples"]) for r in rows}) > 1
    assert any(len(set(r["samples"])) > 1 for r in rows)            # K samples, not K copies of one
    other = evaluate_next_video(model, tokenizer, _examples(), tmp_path / "d", batch_size=3, **{**SAMPLED, "seed": 12})
    assert by_id(tmp_path / "d" / "predictions.jsonl") != by_id(tmp_path / "a" / "predictions.jsonl")
    assert other["settings"]["seed"] == 12


@pytest.mark.parametrize("cut", [0.2, 0.5, 0.93])
def test_sampled_evaluation_killed_at_any_row_resumes_to_the_same_file(tiny, tmp_path, cut):
    model, tokenizer = tiny
    evaluate_next_video(model, tokenizer, _examples(), tmp_path / "full", batch_size=3, **SAMPLED)
    whole = (tmp_path / "full" / "predictions.jsonl").read_bytes()
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "predictions.jsonl").write_bytes(whole[:int(len(whole) * cut)])   # kill -9 mid-line
    evaluate_next_video(model, tokenizer, _examples(), tmp_path / "cut", batch_size=3, **SAMPLED)
    assert (tmp_path / "cut" / "predictions.jsonl").read_bytes() == whole
    assert (tmp_path / "cut" / "metrics.json").read_text() == (tmp_path / "full" / "metrics.json").read_text()


def test_sampled_opinion_answers_are_seeded_per_participant(tiny, tmp_path):
    model, tokenizer = tiny
    exs = [{"example_id": f"i/s/p{i}", "participant_id": f"p{i}", "study": "s", "before": 0.4, "after": 0.5,
            "prompt": [{"role": "user", "content": f"opinion of viewer {i} " * (i % 3 + 1)}]} for i in range(6)]
    kw = dict(max_new_tokens=6, temperature=1.0, seed=5, progress=False, bootstrap_resamples=0)
    evaluate_opinion(model, tokenizer, exs, tmp_path / "a", batch_size=2, **kw)
    evaluate_opinion(model, tokenizer, exs[::-1], tmp_path / "b", batch_size=4, **kw)
    texts = lambda p: {r["example_id"]: r["completion"] for r in read_predictions(p / "predictions.jsonl")}
    assert texts(tmp_path / "a") == texts(tmp_path / "b") and len(set(texts(tmp_path / "a").values())) > 1


def test_example_seeds_and_sample_completions_contract(tiny):
    model, tokenizer = tiny
    assert example_seed(0, "a") == example_seed(0, "a") != example_seed(1, "a") != example_seed(0, "b")
    assert 0 <= example_seed(2 ** 40, "x" * 1000) < 2 ** 63
    prompts = [[{"role": "user", "content": "hello"}], [{"role": "user", "content": "another prompt"}]]
    seeds = [example_seed(0, "a"), example_seed(0, "b")]
    both = sample_completions(model, tokenizer, prompts, seeds, num_samples=2, max_new_tokens=4)
    alone = sample_completions(model, tokenizer, prompts[1:], seeds[1:], num_samples=2, max_new_tokens=4)
    assert [len(s) for s in both] == [2, 2] and both[1] == alone[0]
    with pytest.raises(ValueError, match="one seed per prompt"):
        sample_completions(model, tokenizer, prompts, seeds[:1])
    with pytest.raises(ValueError, match="temperature must be > 0"):
        sample_completions(model, tokenizer, prompts, seeds, temperature=0)


# ================================================================ family 12: provenance and redacted sources

def test_metrics_record_provenance_given_or_the_package_version(tmp_path):
    examples = [{"example_id": f"e{i}", "prompt": [{"role": "user", "content": "x"}], "gold_index": 1, "n_options": 2}
                for i in range(3)]
    answer = lambda p: ["<answer>1</answer>"] * len(p)
    prov = {"package_version": grpo_nb.__version__, "commit": "abc123", "dirty": False, "source": "/src"}
    m = evaluate_next_video(None, None, examples, tmp_path / "nv", generate_fn=answer, provenance=prov,
                            progress=False, bootstrap_resamples=0)
    assert m["provenance"] == prov and json.loads((tmp_path / "nv" / "metrics.json").read_text())["provenance"] == prov
    scored = score_predictions_file(tmp_path / "nv" / "predictions.jsonl", bootstrap_resamples=0)
    assert scored["provenance"] == {"package_version": grpo_nb.__version__}
    assert score_predictions_file(tmp_path / "nv" / "predictions.jsonl", bootstrap_resamples=0,
                                  provenance=prov)["provenance"] == prov
    path = tmp_path / "op.jsonl"
    path.write_bytes(jsonl([op_row(i) for i in range(3)]))
    assert score_opinion_file(path, bootstrap_resamples=0)["provenance"] == {"package_version": grpo_nb.__version__}
    assert score_opinion_file(path, bootstrap_resamples=0, provenance=prov)["provenance"] == prov


def test_the_source_recorded_in_opinion_metrics_keeps_no_credential(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_" + "Q" * 30)
    name = ("op.jsonl?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIAEXAMPLE%2F20240101&X-Amz-Signature=deadbeef0123"
            "&token=" + "hf_" + "Q" * 30)
    path = tmp_path / name
    path.write_bytes(jsonl([op_row(i) for i in range(3)]))
    out = tmp_path / "metrics.json"
    m = score_opinion_file(path, out, bootstrap_resamples=0)
    text = out.read_text()
    for secret in ("deadbeef0123", "AKIAEXAMPLE", "Q" * 30):
        assert secret not in m["source"] and secret not in text, secret
    assert m["source"].startswith(str(tmp_path / "op.jsonl?"))


# ================================================================ a resumed evaluation and a retrained model

def test_resuming_onto_weights_retrained_in_the_same_folder_is_refused(tmp_path):
    "The folder's name is unchanged by retraining; the rows already written came from the old weights: refuse."
    import os
    folder = tmp_path / "train"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights of the first training")
    model = type("Loaded", (), {"name_or_path": str(folder)})()
    examples = [{"example_id": f"e{i}", "prompt": [{"role": "user", "content": "x"}], "gold_index": 1, "n_options": 3}
                for i in range(4)]
    calls = []

    def answer(prompts):
        calls.append(len(prompts))
        if len(calls) == 2: raise KeyboardInterrupt       # the first run is cut after one batch
        return ["<answer>1</answer>"] * len(prompts)

    out = tmp_path / "eval"
    with pytest.raises(KeyboardInterrupt):
        evaluate_next_video(model, None, examples, out, generate_fn=answer, batch_size=2, progress=False,
                            bootstrap_resamples=0)
    assert len((out / "predictions.jsonl").read_text().splitlines()) == 2
    (folder / "model.safetensors").write_bytes(b"weights of the second training")   # retrained, same folder
    os.utime(folder / "model.safetensors", ns=(10**18, 10**18))
    with pytest.raises(ValueError, match=r"other settings \(model_weights: "):
        evaluate_next_video(model, None, examples, out, generate_fn=lambda p: ["<answer>1</answer>"] * len(p),
                            batch_size=2, progress=False, bootstrap_resamples=0)
