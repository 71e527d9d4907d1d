"""Tests of grpo_nb.next_video: published logs re-scored, predictions files, resumable evaluation."""
import gzip
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
from conftest import shared_folder

from grpo_nb.next_video import (PredictionsFile, evaluate_next_video, read_predictions, rescore_rows, run_resumable,
                                score_next_video, score_predictions_file, wilson_interval, write_json_atomic)

LOGS = ("grpo-gun", "grail-gun", "grail-wage", "grpo-wage")


@pytest.fixture(scope="module")
def logs_dir(shared_data) -> Path:
    return shared_folder(shared_data, "reference-logs", "next_video")


@pytest.mark.parametrize("name", LOGS)
def test_published_logs_reproduce(logs_dir, name, tmp_path):
    out = tmp_path / "metrics.json"
    ours = score_predictions_file(logs_dir / f"{name}.predictions.jsonl.gz", out=out)
    pub = json.loads((logs_dir / f"{name}.metrics.json").read_text())
    assert json.loads(out.read_text()) == ours
    for key in ("n_total", "n_eligible", "gold_index_distribution", "baseline_most_frequent_gold_index",
                "random_baseline_expected_accuracy"):
        assert ours[key] == pub[key], key
    for key in ("hist_seen", "hist_eligible"):
        assert ours["by_n_options"][key] == pub["by_n_options"][key], key
    assert abs(ours["accuracy_overall"] - pub["accuracy_overall"]) < 0.005
    for group in ("by_issue", "by_participant_study"):
        assert {k: v["n_eligible"] for k, v in ours["group_metrics"][group].items()} == \
               {k: v["n_eligible"] for k, v in pub["group_metrics"][group].items()}
    lo, hi = ours["accuracy_ci95"]
    assert lo < ours["accuracy_overall"] < hi


def test_grpo_wage_differs_only_by_the_lenient_parser(logs_dir):
    "The README: a strict parser gives 0.4175 on grpo-wage, where the publishers accepted 2 untagged answers."
    rows = read_predictions(logs_dir / "grpo-wage.predictions.jsonl.gz")
    ours = score_next_video(rescore_rows(rows))
    assert round(ours["accuracy_overall"], 4) == 0.4175
    trusted = sum(bool(r["correct"]) for r in rows)
    assert trusted - ours["n_correct"] == 2


def test_leak_probes_on_published_gun(logs_dir):
    m = score_predictions_file(logs_dir / "grpo-gun.predictions.jsonl.gz")
    odd, last = m["baselines"]["leak_probe_odd_option"], m["baselines"]["pick_last_option"]
    assert odd["n"] == 548 and odd["n_without_signatures"] == 0
    assert odd["accuracy"] > 0.94 and last["accuracy"] > 0.94       # the leak: far above the 0.54 position prior
    assert m["baselines"]["most_frequent_gold_index_eval"]["accuracy"] < 0.55
    wage = score_predictions_file(logs_dir / "grpo-wage.predictions.jsonl.gz")
    assert wage["baselines"]["leak_probe_odd_option"]["accuracy"] < 0.5   # no such leak in the wage prompts


def test_wilson_interval_contains_the_rate_and_narrows():
    for k, n in [(1, 10), (5, 10), (9, 10), (50, 100)]:
        lo, hi = wilson_interval(k, n)
        assert 0 <= lo < k / n < hi <= 1
    assert wilson_interval(500, 1000)[1] - wilson_interval(500, 1000)[0] < wilson_interval(5, 10)[1] - wilson_interval(5, 10)[0]


def test_read_predictions_tolerates_only_a_truncated_last_line(tmp_path, caplog):
    p = tmp_path / "p.jsonl"
    p.write_text('{"example_id": "a"}\n{"example_id": "b"}\n{"example_id": "c", "comp')
    with caplog.at_level("WARNING"):
        assert [r["example_id"] for r in read_predictions(p)] == ["a", "b"]
    assert "truncated last line 3" in caplog.text
    p.write_text('{"example_id": "a"}\n{"example_id": \n{"example_id": "c"}\n')
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        read_predictions(p)
    gz = tmp_path / "p.jsonl.gz"
    with gzip.open(gz, "wt") as f: f.write('{"example_id": "a"}\n{"example_id": "b"}\n')
    assert len(read_predictions(gz)) == 2


def test_write_json_atomic_leaves_no_temporary(tmp_path):
    write_json_atomic({"a": 1}, tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_predictions_file_refuses_foreign_ids(tmp_path):
    p = tmp_path / "p.jsonl"
    PredictionsFile(p).load(["a", "b"]).append([{"example_id": "a"}])
    with pytest.raises(ValueError, match="not among the 2 examples"):
        PredictionsFile(p).load(["x", "y"])


def test_run_resumable_resumes_after_a_crash(tmp_path):
    examples = [{"example_id": str(i)} for i in range(7)]
    seen = []
    def gen(batch):
        seen.extend(e["example_id"] for e in batch)
        return [int(e["example_id"]) * 2 for e in batch]
    def crash(n, rows):
        if n == 2: raise RuntimeError("killed")
    with pytest.raises(RuntimeError):
        run_resumable(examples, tmp_path / "p.jsonl", gen, lambda e, o: {"x": o}, batch_size=2, on_batch=crash, progress=False)
    seen.clear()
    rows = run_resumable(examples, tmp_path / "p.jsonl", gen, lambda e, o: {"x": o}, batch_size=2, progress=False)
    assert seen == ["4", "5", "6"]
    assert [r["x"] for r in rows] == [2 * i for i in range(7)]


# --- evaluation on a tiny random model --------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny():
    from grpo_nb.model import build_tiny_model, build_tiny_tokenizer, example_prompt_texts
    tokenizer = build_tiny_tokenizer(example_prompt_texts(), vocab_size=512)
    return build_tiny_model(tokenizer, hidden_size=32, intermediate_size=64, initializer_range=0.2), tokenizer


def _examples(n=9):
    out = []
    for i in range(n):
        k = 2 + i % 4
        opts = "\n".join(f"{j}. Video {j} on wages (Channel {j}, {20 * j}s long)" for j in range(1, k + 1))
        out.append({"example_id": f"s{i}/{i % 3}/{i}", "gold_index": 1 + i % k, "n_options": k,
                    "prompt": [{"role": "system", "content": "Answer <think>…</think><answer>N</answer>."},
                               {"role": "user", "content": f"VIEWER {20 + i}-year-old\n\nOPTIONS\n{opts}\n\nQUESTIONS\n1. Which?"}],
                    "issue": "minimum_wage", "participant_study": "study2" if i % 2 else "study3",
                    "participant_id": f"p{i}", "session_id": f"s{i}", "step_index": i % 3})
    return out


def test_evaluate_interrupted_and_resumed_equals_uninterrupted(tiny, tmp_path):
    model, tokenizer = tiny
    examples = _examples()
    train = [dict(e, example_id=f"train/{i}", gold_index=1 if i < 2 else 2) for i, e in enumerate(_examples(3))]
    kw = dict(batch_size=2, max_new_tokens=8, progress=False, train_examples=train, bootstrap_resamples=200)
    full = evaluate_next_video(model, tokenizer, examples, tmp_path / "full", **kw)
    assert full["n_total"] == len(examples)
    assert full["baselines"]["most_frequent_gold_index_train"]["learned_on"] == "train"
    assert full["baselines"]["most_frequent_gold_index_train"]["n_train"] == 3

    def kill_after(k):
        def cb(n, rows):
            if n == k: raise KeyboardInterrupt
        return cb
    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        evaluate_next_video(model, tokenizer, examples, cut, on_batch=kill_after(2), **kw)
    assert not (cut / "metrics.json").exists()
    p = cut / "predictions.jsonl"
    assert len(read_predictions(p)) == 4
    p.write_bytes(p.read_bytes()[:-10])                       # and the last line was cut mid-write
    evaluate_next_video(model, tokenizer, examples, cut, **kw)
    rows = read_predictions(p)
    ids = [r["example_id"] for r in rows]
    assert len(rows) == len(examples) and len(set(ids)) == len(ids) == len(examples)
    assert (cut / "metrics.json").read_text() == (tmp_path / "full" / "metrics.json").read_text()
    row = rows[0]
    for key in ("example_id", "messages", "completion", "parsed_index", "gold_index", "n_options", "correct",
                "eligible", "format_ok", "issue", "participant_study", "participant_id"):
        assert key in row, key
    # re-scoring our own file gives the same figures as the run itself
    assert score_predictions_file(p, train_examples=train, bootstrap_resamples=200) == \
        {k: v for k, v in full.items() if k != "settings"}


def test_evaluate_refuses_another_datasets_predictions(tiny, tmp_path):
    model, tokenizer = tiny
    evaluate_next_video(model, tokenizer, _examples(3), tmp_path, batch_size=4, max_new_tokens=4, progress=False)
    other = [dict(e, example_id="other/" + e["example_id"]) for e in _examples(3)]
    with pytest.raises(ValueError, match="belongs to"):
        evaluate_next_video(model, tokenizer, other, tmp_path, batch_size=4, max_new_tokens=4, progress=False)


def test_max_eval_samples(tiny, tmp_path):
    model, tokenizer = tiny
    m = evaluate_next_video(model, tokenizer, _examples(6), tmp_path, batch_size=4, max_new_tokens=4,
                            max_eval_samples=3, progress=False)
    assert m["n_total"] == 3 and len(read_predictions(tmp_path / "predictions.jsonl")) == 3


# --- uncertainty and comparisons on the published logs --------------------------------------------------------------

def test_published_logs_clustered_interval_wider_than_wilson_on_wage(logs_dir):
    "No participant column in the published logs: rows are clustered by the viewer profile in the prompt."
    m = score_predictions_file(logs_dir / "grpo-wage.predictions.jsonl.gz")
    assert m["clusters"] == {"rows_by_source": {"prompt_profile": 618}, "n_clusters": 155}
    (wl, wh), boot = m["accuracy_ci95"], m["accuracy_bootstrap"]
    assert boot["estimate"] == m["accuracy_overall"] and boot["resamples"] == 1000 and boot["seed"] == 0
    cl, ch = boot["ci95"]
    assert 1.05 < (ch - cl) / (wh - wl) < 1.3              # 1.13 with seed 0
    for group in m["group_metrics"]["by_participant_study"].values():
        assert group["accuracy_ci95_clustered"] is not None and group["n_clusters"] > 1
    assert m["by_n_options"]["accuracy_ci95_clustered"]["4"] is not None


def test_published_logs_paired_comparisons(logs_dir):
    gun = score_predictions_file(logs_dir / "grpo-gun.predictions.jsonl.gz")
    c = gun["comparisons"]
    assert c["random"]["verdict"] == "better" and c["most_frequent_gold_index_eval"]["verdict"] == "better"
    assert c["leak_probe_odd_option"]["verdict"] == "indistinguishable"        # the model is as good as the leak
    assert round(c["leak_probe_odd_option"]["estimate"], 4) == round(gun["accuracy_overall"] - gun["baselines"][
        "leak_probe_odd_option"]["accuracy"], 4)
    wage = score_predictions_file(logs_dir / "grpo-wage.predictions.jsonl.gz")
    w = wage["comparisons"]["most_frequent_gold_index_eval"]
    assert w["verdict"] == "worse" and w["ci95"][1] < 0 and w["honest"] is False
    assert abs(w["estimate"] - (258 - 278) / 618) < 1e-12          # 258 right against 278 golds at position 1
    off = score_predictions_file(logs_dir / "grpo-wage.predictions.jsonl.gz", bootstrap_resamples=0)
    assert off["accuracy_bootstrap"]["ci95"] is None and off["comparisons"]["random"]["verdict"] is None
    assert off["n_eligible"] == wage["n_eligible"] and off["baselines"]["random"]["accuracy"] == wage["baselines"]["random"]["accuracy"]
    assert off["baselines"]["random"]["ci95_clustered"] is None


def test_published_grpo_wage_answers_option_one(logs_dir):
    "The distribution shows what accuracy hides: the grpo-wage model picks option 1 on 578 of 618 slates."
    d = score_predictions_file(logs_dir / "grpo-wage.predictions.jsonl.gz")["distribution"]
    pos = d["fidelity"]["position"]["all"]
    assert pos["n_slates"] == 618 and round(pos["model_share"]["1"] * 618) == 578
    assert round(pos["human_share"]["1"] * 618) == 278
    assert abs(pos["tvd"] - 340 / 618) < 1e-12 and pos["ci95"][0] <= pos["tvd"] <= pos["ci95"][1]
    assert d["samples_per_slate"] == {"min": 1, "max": 1} and d["permutations"] is None
    assert abs(d["reliability"]["ece"] - (578 - 258) / 618) < 1e-12    # greedy answers claim certainty (40 none)


# --- the honest comparison: one participant is not a result ---------------------------------------------------------

def _row(i, gold, pick, pid, n=4):
    return {"example_id": str(i), "gold_index": gold, "n_options": n, "parsed_index": pick, "participant_id": pid}


def test_model_equal_to_a_baseline_but_for_one_participant_is_indistinguishable():
    rows = [_row(i, 1 + i % 4, 4, f"p{i // 4}") for i in range(80)]              # = pick_last_option everywhere ...
    rows[:4] = [_row(i, 1 + i % 4, 1 + i % 4, "p0") for i in range(4)]            # ... but right on all of p0's rows
    c = score_next_video(rows)["comparisons"]["pick_last_option"]
    assert c["clusters_differing"] == 1 and c["estimate"] == 3 / 80
    assert c["verdict"] == "indistinguishable"
    everyone = [_row(i, 1 + i % 4, 1 + i % 4, f"p{i // 4}") for i in range(80)]
    assert score_next_video(everyone)["comparisons"]["pick_last_option"]["verdict"] == "better"


def test_headline_uses_permutation_zero_rows_only():
    rows = [_row(i, 1, 1, f"p{i}") for i in range(4)]
    extra = [dict(_row(i, 2, 1, f"p{i}"), example_id=f"{i}#p1", permutation=1) for i in range(4)]
    m = score_next_video(rows + extra)
    assert (m["n_total"], m["n_rows_all_permutations"], m["accuracy_overall"]) == (4, 8, 1.0)
    assert m["gold_index_distribution"] == {"1": 4}


def test_train_examples_feed_grpo_nb_baselines():
    "The position prior is learned from the training examples' rendered gold positions."
    train = [dict(_row(f"t{i}", 3, None, f"t{i}"), option_ids=["a", "b", "c", "d"]) for i in range(5)]
    rows = [dict(_row(i, 3 if i < 3 else 1, 3, f"p{i}"), option_ids=["a", "b", "c", "d"]) for i in range(6)]
    m = score_next_video(rows, train_examples=train)
    b = m["baselines"]
    assert b["most_frequent_gold_index_train"]["top_index"] == 3 and b["most_frequent_gold_index_train"]["correct"] == 3
    assert b["popularity_train"]["learned_on"] == "train" and "picks" not in b["popularity_train"]
    assert b["most_frequent_gold_index_eval"]["learned_on"] == "eval_rows"
    assert m["comparisons"]["most_frequent_gold_index_train"]["estimate"] == 0.0
    assert {name for name, c in m["comparisons"].items() if c["honest"]} >= {"random", "most_frequent_gold_index_train",
                                                                          "popularity_train"}
    assert score_next_video(rows)["baselines"]["most_frequent_gold_index_train"]["accuracy"] is None


def test_evaluate_rejects_the_old_train_gold_indices(tmp_path):
    with pytest.raises(TypeError, match="train_gold_indices"):
        evaluate_next_video(None, None, [], tmp_path, train_gold_indices=[1, 2])


def test_no_training_examples_means_no_train_learned_baseline():
    """Every training row dropped (e.g. video_holdout on the gun sample) must not yield baselines labelled 'train'."""
    from grpo_nb.next_video import score_next_video
    rows = [{"example_id": f"e{i}", "participant_id": f"p{i % 3}", "gold_index": 1 + i % 2, "n_options": 3,
             "option_ids": ["a", "b", "c"], "completion": "<think>x</think><answer>1</answer>", "parsed_index": 1,
             "format_ok": True, "eligible": True, "correct": i % 2 == 0} for i in range(12)]
    for train in (None, []):
        m = score_next_video(rows, train_examples=train, bootstrap_resamples=50)
        assert m["baselines"]["most_frequent_gold_index_train"]["accuracy"] is None
        assert "not computed" in m["baselines"]["most_frequent_gold_index_train"]["note"]
        assert not any(k.startswith("popularity") or k == "title_length_train" for k in m["baselines"])
        assert not any(c.get("learned_on") == "train" for c in m["comparisons"].values())
