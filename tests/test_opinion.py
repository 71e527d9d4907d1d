"Tests of grpo_nb.opinion: published-log reproduction (needs GRPO_NB_SHARED_DATA) and resumable evaluation."
import gzip, json, os
from pathlib import Path

import pytest
from conftest import shared_folder

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from grpo_nb.opinion import score_opinion_file

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


def test_published_gun_answers_are_out_of_range(opinion_logs):
    "The gun model answered 2 or 5 (1–7 / option numbers): none is a 0–1 index, so the model only ties no change."
    c = score_opinion_file(opinion_logs / "grpo-gun-study1.predictions.jsonl.gz")["combined"]
    assert c["n_parsed"] == 0 and c["unparsed"] == {"missing": c["n_eligible"]}
    assert c["model"]["mae"] == pytest.approx(c["baselines"]["no_change"]["mae"])


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
    # a folder holding other participants' predictions is refused
    with pytest.raises(ValueError, match="not among"):
        evaluate_opinion(model, tokenizer, examples[10:12], tmp_path / "full", **{**kw, "max_eval_samples": None})
