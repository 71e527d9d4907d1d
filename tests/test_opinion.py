"""Tests of grpo_nb.opinion: answer reading, clustered verdicts, published-log reproduction (needs GRPO_NB_SHARED_DATA)
and resumable evaluation."""
import gzip, json, os, random, time
from pathlib import Path

import pytest
from conftest import shared_folder

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from grpo_nb.opinion import (ANSWER_OUTCOMES, DIRECTION_TOLERANCE, opinion_examples, parse_opinion_answer,
                             read_opinion_completion, score_opinion, score_opinion_file)

PUBLISHED = ["grpo-gun-study1", "grpo-wage-study2", "grpo-wage-study3"]
PUBLISHED_NO_CHANGE_MAE = {"grpo-gun-study1": 0.0371, "grpo-wage-study2": 0.0962, "grpo-wage-study3": 0.0841}  # metrics.json, 4 d.p.


@pytest.fixture(scope="module")
def opinion_logs(shared_data) -> Path:
    return shared_folder(shared_data, "reference-logs", "opinion")


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_figures_reproduce(opinion_logs, name, tmp_path):
    published = json.loads((opinion_logs / f"{name}.metrics.json").read_text())
    out = tmp_path / "metrics.json"
    ours = score_opinion_file(opinion_logs / f"{name}.predictions.jsonl.gz", out, tolerance=0)
    assert json.loads(out.read_text()) == json.loads(json.dumps(ours)), "the written metrics.json is the returned dict"
    assert not list(tmp_path.glob("*.tmp")), "atomic write leaves no temporary file"
    c = ours["combined"]
    assert c["n_eligible"] == published["metrics"]["eligible"]
    assert c["baselines"]["no_change"]["mae"] == pytest.approx(published["baseline"]["mae_using_before"], abs=1e-6)
    assert c["baselines"]["no_change"]["mae"] == pytest.approx(PUBLISHED_NO_CHANGE_MAE[name], abs=1e-4)
    assert c["baselines"]["no_change"]["rmse"] == pytest.approx(published["baseline"]["rmse_using_before"], abs=1e-6)
    assert c["baselines"]["global_mean"]["value"] == pytest.approx(published["baseline"]["global_mean_after"], abs=1e-6)
    assert c["baselines"]["global_mean"]["mae"] == pytest.approx(published["baseline"]["mae_global_mean_after"], abs=1e-6)
    # the publishers compared directions exactly (tolerance 0)
    assert c["baselines"]["no_change"]["direction_accuracy"] == pytest.approx(published["baseline"]["direction_accuracy"])
    assert list(ours["by_study"]) == [name.rsplit("-", 1)[1]]
    # no published model beats no change, and the verdict says so
    assert c["beats_no_change"] is False and "no-change baseline" in c["verdict"]
    # every prompt asked for 1–7, so the published numbers are flagged, never read as indices
    pub = ours["published"]
    assert pub["n_prompts_asking_1_to_7"] == c["n_rows"] and pub["warning"]
    assert sum(pub["answer_outcomes"].values()) == c["n_rows"]
    assert pub["answer_outcomes"].get("parsed", 0) == c["n_parsed"]
    assert pub["rescaled_1_7"]["combined"]["beats_no_change"] is False


def test_published_gun_answers_are_option_numbers(opinion_logs):
    "The gun model answered 2 or 5 (1–7 / option numbers): integers are never a 0–1 index, so the model only ties no change."
    c = score_opinion_file(opinion_logs / "grpo-gun-study1.predictions.jsonl.gz")["combined"]
    assert c["n_parsed"] == 0 and c["unparsed"] == {"option_number": 162}
    assert c["model"]["mae"] == pytest.approx(c["baselines"]["no_change"]["mae"])
    assert (c["answer_tag_rate"], c["opinion_tag_rate"], c["format_rate"]) == (1.0, 0.0, 0.0)
    assert c["verdicts"]["no_change"] == "indistinguishable" and c["beats_no_change"] is False


@pytest.mark.parametrize("name, n_option_number, n_no_tag", [("grpo-wage-study2", 160, 5), ("grpo-wage-study3", 251, 6)])
def test_published_wage_ones_are_option_numbers_not_index_one(opinion_logs, name, n_option_number, n_no_tag):
    "The wage models answered '1' (an option number): the old parser scored it as the index 1.0; now it is counted, not read."
    m = score_opinion_file(opinion_logs / f"{name}.predictions.jsonl.gz")
    c = m["combined"]
    n = n_option_number + n_no_tag
    assert c["n_eligible"] == n and c["n_parsed"] == 0 and c["parsed_rate"] == 0.0
    assert c["unparsed"] == {"no_answer_tag": n_no_tag, "option_number": n_option_number}
    assert c["answer_outcomes"] == {"parsed": 0, "option_number": n_option_number, "integer_zero": 0, "out_of_range": 0,
                                    "malformed": 0, "no_answer_tag": n_no_tag}
    assert c["answer_tag_rate"] == pytest.approx(n_option_number / n) and c["format_rate"] == 0.0
    assert m["published"]["answer_outcomes"] == {"option_number": n_option_number, "no_answer_tag": n_no_tag}
    assert c["verdict"].startswith("no answer parsed on the 0–1 scale") and c["beats_no_change"] is False


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_clustered_intervals(opinion_logs, name):
    "One row per participant: as many clusters as rows; intervals bracket the estimate, are seeded and reproducible."
    path = opinion_logs / f"{name}.predictions.jsonl.gz"
    m = score_opinion_file(path, bootstrap_resamples=300, bootstrap_seed=5)
    c = m["combined"]
    nc = c["intervals"]["no_change"]
    assert nc["mae"]["estimate"] == pytest.approx(PUBLISHED_NO_CHANGE_MAE[name], abs=1e-4)
    for key in ("mae", "rmse", "direction_accuracy"):
        b = nc[key]
        assert b["n_rows"] == b["n_clusters"] == c["n_eligible"] and b["resamples"] == 300 and b["seed"] == 5
        assert b["ci95"][0] <= b["estimate"] <= b["ci95"][1] and b["ci95"][0] < b["ci95"][1]
    assert m["bootstrap"] == {"resamples": 300, "seed": 5, "cluster": m["bootstrap"]["cluster"], "interval": "95% percentile"}
    assert score_opinion_file(path, bootstrap_resamples=300, bootstrap_seed=5) == m
    other = score_opinion_file(path, bootstrap_resamples=300, bootstrap_seed=6)["combined"]["intervals"]["no_change"]
    assert other["mae"]["ci95"] != nc["mae"]["ci95"] and other["mae"]["estimate"] == nc["mae"]["estimate"]
    # the model only ties no change: exactly zero difference, indistinguishable; the peeking global mean is beaten
    d = c["comparisons"]["no_change"]["mae"]
    assert (d["estimate"], d["ci95"], d["clusters_differing"], d["verdict"]) == (0.0, [0.0, 0.0], 0, "indistinguishable")
    assert c["verdicts"] == {"no_change": "indistinguishable", "global_mean": "better"}
    assert c["baselines"]["global_mean"]["name"] == "global_mean_eval"


# --- reading answers: an index only from the asked 0–1 answer format -------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("<answer>0.45</answer>", (0.45, "parsed")), ("<answer>.45</answer>", (0.45, "parsed")),
    ("<answer>1.0</answer>", (1.0, "parsed")), ("<answer>0.0</answer>", (0.0, "parsed")),
    ("<answer>1</answer>", (None, "option_number")), ("<answer> 3 </answer>", (None, "option_number")),
    ("<answer>0</answer>", (None, "integer_zero")), ("<answer>1.5</answer>", (None, "out_of_range")),
    ("<answer>-0.1</answer>", (None, "out_of_range")), ("<answer>45%</answer>", (None, "malformed")),
    ("<answer>about 0.4</answer>", (None, "malformed")), ("<answer>0.4", (None, "no_answer_tag")),
    ("", (None, "no_answer_tag")), (None, (None, "no_answer_tag"))])
def test_parse_opinion_answer(text, expected):
    assert parse_opinion_answer(text) == expected


def test_reading_is_linear_on_unclosed_tags():
    hostile = "<answer><opinion>0.5 " * 100_000
    start = time.perf_counter()
    read = read_opinion_completion(hostile)
    assert time.perf_counter() - start < 2
    assert (read["answer_outcome"], read["has_answer_tag"], read["has_opinion_tag"], read["format_ok"]) == \
        ("no_answer_tag", False, False, False)


def test_a_model_answering_option_one_parses_nothing():
    "The demo model answers <answer>1</answer> to every opinion prompt: 0% parsed, counted, tied with no change."
    rows = [{"participant_id": f"p{i}", "study": "study2", "before": 0.5, "after": 0.5 + (i % 3 - 1) * 0.1,
             "completion": "<think>x</think><answer>1</answer><opinion>increase</opinion>"} for i in range(30)]
    c = score_opinion(rows)["combined"]
    assert (c["n_parsed"], c["parsed_rate"], c["unparsed"]) == (0, 0.0, {"option_number": 30})
    assert (c["answer_tag_rate"], c["opinion_tag_rate"], c["format_rate"]) == (1.0, 1.0, 1.0)
    assert c["model"]["mae"] == pytest.approx(0.2 / 3) == c["baselines"]["no_change"]["mae"]
    assert c["label"]["n_parsed"] == 30 and c["label"]["accuracy"] == pytest.approx(10 / 30)
    assert c["beats_no_change"] is False


# --- verdicts decided by participant-clustered uncertainty ---------------------------------------------------

def _panel(n=60, seed=11):
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        before = round(rng.uniform(0.1, 0.9), 4)
        rows.append({"participant_id": f"p{i:03d}", "issue": "minimum_wage", "study": "study3", "before": before,
                     "after": round(min(1.0, max(0.0, before + rng.gauss(0, 0.1))), 4), "prediction": before})
    return rows


def test_model_equal_to_no_change_but_one_participant_is_indistinguishable():
    rows = _panel()
    rows[7] = dict(rows[7], prediction=rows[7]["after"])             # right for one participant, no change for the rest
    c = score_opinion(rows)["combined"]
    gap = abs(rows[7]["after"] - rows[7]["before"])
    assert c["model"]["mae"] == pytest.approx(c["baselines"]["no_change"]["mae"] - gap / 60)   # lower point MAE
    d = c["comparisons"]["no_change"]["mae"]
    assert d["estimate"] == pytest.approx(-gap / 60) and d["clusters_differing"] == 1 and d["p_value"] == 1.0
    assert d["ci95"][1] == 0.0 and d["verdict"] == "indistinguishable"
    assert c["verdicts"]["no_change"] == "indistinguishable" and c["beats_no_change"] is False
    assert c["verdict"].startswith("indistinguishable from the no-change baseline")
    assert "1 of 60 participants differ" in c["verdict"]


def test_model_closer_for_most_participants_is_better_and_far_model_worse():
    rows = _panel()
    good = score_opinion([dict(r, prediction=round(r["before"] + 0.6 * (r["after"] - r["before"]), 4)) for r in rows])["combined"]
    assert good["verdicts"]["no_change"] == "better" and good["beats_no_change"] is True
    assert good["comparisons"]["no_change"]["rmse"]["verdict"] == "better"
    assert good["verdict"].startswith("better than the no-change baseline")
    bad = score_opinion([dict(r, prediction=min(1.0, r["before"] + 0.2)) for r in rows])["combined"]
    assert bad["verdicts"]["no_change"] == "worse" and bad["beats_no_change"] is False


def test_intervals_do_not_depend_on_row_order():
    rows = _panel()
    rows = [dict(r, prediction=round(r["before"] + 0.5 * (r["after"] - r["before"]), 4)) for r in rows]
    assert score_opinion(rows) == score_opinion(rows[::-1])


# --- one direction tolerance; baselines from training only ---------------------------------------------------

def test_one_direction_tolerance_recorded():
    import grpo_nb.config
    assert DIRECTION_TOLERANCE is grpo_nb.config.DIRECTION_TOLERANCE == 0.01
    rows = [{"participant_id": "a", "study": "s", "before": 0.50, "after": 0.515, "prediction": 0.50},
            {"participant_id": "b", "study": "s", "before": 0.50, "after": 0.505, "prediction": 0.50}]
    default, wide, exact = score_opinion(rows), score_opinion(rows, tolerance=0.02), score_opinion(rows, tolerance=0)
    assert (default["direction_tolerance"], wide["direction_tolerance"], exact["tolerance"]) == (0.01, 0.02, 0)
    assert default["combined"]["model"]["direction_accuracy"] == 0.5     # 0.015 moved, 0.005 did not
    assert wide["combined"]["model"]["direction_accuracy"] == 1.0
    assert exact["combined"]["model"]["direction_accuracy"] == 0.0


def test_global_mean_baseline_says_where_it_was_learned():
    rows = _panel(10)
    peek = score_opinion(rows)["combined"]["baselines"]["global_mean"]
    assert (peek["name"], peek["learned_on"], peek["source"]) == \
        ("global_mean_eval", "eval_rows", "global_mean_eval (peeking at the evaluated rows)")
    assert peek["value"] == pytest.approx(sum(r["after"] for r in rows) / 10)
    train = score_opinion(rows, train_after_mean={"study3": 0.25})["combined"]["baselines"]["global_mean"]
    assert (train["name"], train["learned_on"], train["value"]) == ("global_mean_train", "train", 0.25)


def test_opinion_examples_pass_profile_text_columns(monkeypatch):
    import grpo_nb.opinion as op
    seen = []
    monkeypatch.setattr(op, "build_opinion_messages", lambda row, **kw: seen.append(kw) or {"prompt": []})
    rows = [dict(r, opinion_before=r["before"], opinion_after=r["after"], step_index=0, session_id="s") for r in _panel(3)]
    op.opinion_examples(rows, profile_text_columns=["viewer_profile_sentence"], max_history=4)
    op.opinion_examples(rows)
    assert seen[:3] == [{"profile_text_columns": ["viewer_profile_sentence"], "max_history": 4}] * 3
    assert seen[3:] == [{}] * 3


def test_published_prediction_column_is_not_read_as_an_index(opinion_logs, tmp_path):
    "Without raw text, a 1–7 `prediction` column is range-checked: out-of-range numbers are counted, not scored."
    rows = [json.loads(l) for l in gzip.open(opinion_logs / "grpo-gun-study1.predictions.jsonl.gz", "rt")]
    path = tmp_path / "no_raw.jsonl"
    path.write_text("".join(json.dumps({k: r[k] for k in ("study", "before", "after", "prediction")}) + "\n" for r in rows))
    c = score_opinion_file(path)["combined"]
    assert c["n_parsed"] == 0 and c["unparsed"] == {"out_of_range": len(rows)}


# --- evaluation on a tiny random Qwen2 model: interrupted + resumed == uninterrupted -------------------------

@pytest.fixture(scope="module")
def tiny_setup():
    from grpo_nb.data import clean_rows
    from grpo_nb.model import build_tiny_model, build_tiny_tokenizer
    from grpo_nb.opinion import opinion_examples
    from grpo_nb.synthetic import generate_rows
    clean, _ = clean_rows(generate_rows(24, seed=1))
    examples = opinion_examples(clean)
    tokenizer = build_tiny_tokenizer([m["content"] for e in examples for m in e["prompt"]], vocab_size=1024)
    return build_tiny_model(tokenizer, seed=3), tokenizer, examples


class Killed(Exception): pass


def kill_after(k):
    def on_batch(n, rows):
        if n == k: raise Killed()
    return on_batch


def test_opinion_examples_one_per_participant(tiny_setup):
    _, _, examples = tiny_setup
    assert examples.n_participants == len(examples) + sum(examples.dropped.values())
    assert len({e["example_id"] for e in examples}) == len({(e["issue"], e["study"], e["participant_id"]) for e in examples}) == len(examples)
    for e in examples:
        assert 0 <= e["before"] <= 1 and 0 <= e["after"] <= 1
        assert e["prompt"][0]["role"] == "system" and e["prompt"][1]["role"] == "user"


def test_evaluate_opinion_resumes_to_identical_metrics(tiny_setup, tmp_path):
    from grpo_nb.next_video import read_predictions
    from grpo_nb.opinion import evaluate_opinion
    model, tokenizer, examples = tiny_setup
    kw = dict(batch_size=2, max_new_tokens=6, max_eval_samples=7, progress=False)
    full = evaluate_opinion(model, tokenizer, examples, tmp_path / "full", **kw)
    with pytest.raises(Killed): evaluate_opinion(model, tokenizer, examples, tmp_path / "cut", on_batch=kill_after(2), **kw)
    preds = tmp_path / "cut" / "predictions.jsonl"
    assert len(read_predictions(preds)) == 4
    preds.write_bytes(preds.read_bytes() + b'{"example_id": "half a li')   # killed while writing a line
    resumed = evaluate_opinion(model, tokenizer, examples, tmp_path / "cut", **kw)
    rows = read_predictions(preds)
    ids = [r["example_id"] for r in rows]
    assert len(ids) == len(set(ids)) == 7 and set(ids) == {e["example_id"] for e in examples[:7]}
    assert (tmp_path / "cut" / "metrics.json").read_bytes() == (tmp_path / "full" / "metrics.json").read_bytes()
    assert resumed == full
    full_rows = {r["example_id"]: r for r in read_predictions(tmp_path / "full" / "predictions.jsonl")}
    assert {r["example_id"]: r for r in rows} == full_rows
    need = {"example_id", "participant_id", "issue", "study", "step_index", "before", "after", "messages",
            "completion", "prediction", "predicted_direction"}
    assert all(need <= set(r) for r in rows)
    assert full["combined"]["n_eligible"] == 7 and full["combined"]["verdict"]
    assert all(set(ANSWER_OUTCOMES) >= {r["answer_outcome"]} for r in rows)
    assert sum(full["combined"]["answer_outcomes"].values()) == 7
    assert full["settings"]["opinion_task_trained"] is None and full["settings"]["direction_tolerance"] == DIRECTION_TOLERANCE
    # the caller records that the recipe never trained the task; rescoring settings reuse the predictions file
    untrained = evaluate_opinion(model, tokenizer, examples, tmp_path / "full", opinion_task_trained=False,
                                 tolerance=0.02, bootstrap_resamples=50, **kw)
    assert untrained["settings"]["opinion_task_trained"] is False and untrained["settings"]["direction_tolerance"] == 0.02
    assert untrained["notes"][0].startswith("the recipe did not train the opinion task (ask_opinion: false)")
    assert untrained["combined"]["intervals"]["model"]["mae"]["resamples"] <= 50
    # a folder holding other participants' predictions is refused
    with pytest.raises(ValueError, match="not among"):
        evaluate_opinion(model, tokenizer, examples[10:12], tmp_path / "full", **{**kw, "max_eval_samples": None})
