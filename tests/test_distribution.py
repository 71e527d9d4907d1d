"""Distributional fidelity of next-video choices: K samples per prompt, calibration, fidelity tables, option orders."""
import math
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

from grpo_nb.next_video import (EXAMPLE_FIELDS, NO_ANSWER, distribution_metrics, evaluate_next_video, prediction_row,
                                read_predictions, rescore_rows, score_next_video, score_predictions_file)


def _slate(i, gold, samples, **kw):
    return {"example_id": f"e{i}", "gold_index": gold, "n_options": 2, "parsed_index": samples[0],
            "parsed_samples": samples, "participant_id": f"p{i}", **kw}


def test_always_option_one_where_humans_pick_it_half_the_time():
    rows = [_slate(i, 1 + i % 2, [1, 1, 1, 1], participant_study="study1" if i < 4 else "study2",
                   viewer_party="Democrat" if i % 4 < 2 else "Republican", option_watched=[True, False])
            for i in range(8)]
    d = distribution_metrics(rows, n_resamples=200)
    assert d["modal_accuracy"]["estimate"] == 0.5 and d["expected_accuracy"]["estimate"] == 0.5
    assert d["brier"]["estimate"] == 1.0                                        # 0 when right, 2 when wrong
    assert math.isclose(d["log_loss"]["estimate"], (-math.log(4.5 / 5) - math.log(0.5 / 5)) / 2)
    assert d["reliability"]["ece"] == 0.5 and d["reliability"]["bins"][-1]["n"] == 8
    pos = d["fidelity"]["position"]
    assert pos["all"]["tvd"] == 0.5 and pos["all"]["model_share"] == {"1": 1.0, "2": 0.0}
    assert sorted(pos["by_study"]) == ["study1", "study2"] and sorted(pos["by_viewer_party"]) == ["Democrat", "Republican"]
    assert "by_viewer_ideology" not in pos                                      # no row says
    assert d["fidelity"]["watched"]["all"]["human_share"] == {"not watched": 0.5, "watched": 0.5}
    assert set(d["fidelity"]) == {"position", "watched"}                        # no channels or stances in these rows
    assert d["permutations"] is None


def test_invalid_samples_carry_no_probability():
    d = distribution_metrics([_slate(0, 1, [1, None, 7, 1])], n_resamples=0)
    assert d["expected_accuracy"]["estimate"] == 0.5 and d["valid_sample_rate"]["estimate"] == 0.5
    assert d["brier"]["estimate"] == 0.25 and math.isclose(d["log_loss"]["estimate"], -math.log(2.5 / 5))
    assert d["fidelity"]["position"]["all"]["model_share"] == {"1": 0.5, "2": 0.0, NO_ANSWER: 0.5}
    assert d["modal_accuracy"]["ci95"] is None                                  # bootstrap off


def test_stance_and_channel_tables_when_the_data_has_them():
    rows = [_slate(i, 1, [2], option_stances=[1, -1], option_channels=["Fox", "CNN"]) for i in range(4)]
    f = distribution_metrics(rows, n_resamples=0)["fidelity"]
    assert f["stance"]["all"]["tvd"] == 1.0 and f["stance"]["all"]["human_share"] == {"-1": 0.0, "+1": 1.0}
    assert f["channel"]["all"]["model_share"] == {"CNN": 1.0, "Fox": 0.0}


def _fake_generate(prompts):
    "Three samples of four say 1, the fourth says 2, whatever the prompt."
    return [f"<think>.</think><answer>{2 if i % 4 == 3 else 1}</answer>" for i in range(len(prompts))]


def _examples():
    out = []
    for i in range(6):
        for perm in (0, 1):
            out.append({"example_id": f"s{i}/0/{i}" + (f"#p{perm}" if perm else ""), "gold_index": 1 + perm,
                        "n_options": 2, "prompt": [{"role": "user", "content": f"slate {i} order {perm}"}],
                        "participant_id": f"p{i // 2}", "participant_study": "study2", "slate_id": f"s{i}",
                        "permutation": perm, "option_ids": ["a", "b"][::1 - 2 * perm],
                        "option_titles": ["A", "B"][::1 - 2 * perm], "viewer_ideology": "Liberal"})
    return out


def test_k_samples_and_two_orders_with_a_fake_generator(tmp_path):
    kw = dict(num_samples=4, temperature=0.7, batch_size=5, progress=False, bootstrap_resamples=200)
    m = evaluate_next_video(None, None, _examples(), tmp_path, generate_fn=_fake_generate, **kw)
    assert (m["n_total"], m["n_rows_all_permutations"], m["accuracy_overall"]) == (6, 12, 1.0)
    assert m["settings"]["num_samples"] == 4
    d = m["distribution"]
    assert d["expected_accuracy"]["estimate"] == 0.75 and math.isclose(d["reliability"]["ece"], 0.25)
    p = d["permutations"]
    assert (p["n_slates"], p["n_permutations"]) == (6, 2)
    assert p["all_orders_agree"]["estimate"] == 0.0 and p["pairwise_same_position_other_video"]["estimate"] == 1.0
    assert p["position_bias"]["tvd"] == 0.5 and p["position_bias"]["gold_share"] == {"2": 1.0}
    assert p["accuracy_by_permutation"] == {"0": {"n": 6, "accuracy": 1.0}, "1": {"n": 6, "accuracy": 0.0}}
    assert set(d["fidelity"]["position"]) == {"all", "by_study", "by_viewer_ideology"}
    rows = read_predictions(tmp_path / "predictions.jsonl")
    assert all(len(r["samples"]) == 4 and r["parsed_samples"] == [1, 1, 1, 2] for r in rows)
    assert all(r["completion"] == r["samples"][0] for r in rows)
    assert score_predictions_file(tmp_path / "predictions.jsonl", bootstrap_resamples=200) == \
        {k: v for k, v in m.items() if k != "settings"}
    with pytest.raises(ValueError, match="num_samples: 4 -> 1"):
        evaluate_next_video(None, None, _examples(), tmp_path, generate_fn=_fake_generate, **{**kw, "num_samples": 1})


def test_k_samples_resume_after_a_kill(tmp_path):
    calls = []
    def gen(prompts):
        calls.append(len(prompts))
        return _fake_generate(prompts)
    def kill(n, rows):
        if n == 1: raise KeyboardInterrupt
    kw = dict(num_samples=4, temperature=1.0, batch_size=5, progress=False, bootstrap_resamples=50)
    with pytest.raises(KeyboardInterrupt):
        evaluate_next_video(None, None, _examples(), tmp_path / "cut", generate_fn=gen, on_batch=kill, **kw)
    assert calls == [20] and len(read_predictions(tmp_path / "cut" / "predictions.jsonl")) == 5
    resumed = evaluate_next_video(None, None, _examples(), tmp_path / "cut", generate_fn=gen, **kw)
    assert calls == [20, 20, 8]                                   # 5 + 5 + 2 examples, 4 prompts each
    full = evaluate_next_video(None, None, _examples(), tmp_path / "full", generate_fn=_fake_generate, **kw)
    assert resumed == full


def test_sampling_needs_a_temperature_and_a_generator_must_answer_every_prompt(tmp_path):
    with pytest.raises(ValueError, match="needs temperature > 0"):
        evaluate_next_video(None, None, _examples(), tmp_path, generate_fn=_fake_generate, num_samples=2)
    with pytest.raises(RuntimeError, match="returned 3 completions for 4 prompts"):
        evaluate_next_video(None, None, _examples()[:2], tmp_path / "x", generate_fn=lambda p: ["x"] * (len(p) - 1),
                            num_samples=2, temperature=1.0, progress=False)


def test_prediction_rows_copy_the_contract_fields():
    ex = {**_examples()[1], "option_channels": ["C1", None], "option_watched": [False, True],
          "option_stances": [None, 1], "viewer_party": "Democrat"}
    row = prediction_row(ex, "<answer>2</answer>")
    for key in EXAMPLE_FIELDS:
        assert row[key] == ex.get(key), key
    assert row["slate_id"] == "s0" and row["permutation"] == 1 and row["option_ids"] == ["b", "a"]
    assert "samples" not in row
    bare = prediction_row({"example_id": "x", "prompt": [], "gold_index": 1, "n_options": 2}, "no answer")
    assert bare["slate_id"] is None and bare["option_stances"] is None             # unknown, not a crash
    rescored = rescore_rows([dict(prediction_row(ex, ["<answer>2</answer>", "<answer>1</answer>"]), parsed_samples=[9, 9])])
    assert rescored[0]["parsed_samples"] == [2, 1]
    assert score_next_video(rescored)["distribution"]["expected_accuracy"]["estimate"] is None   # only a p1 row
