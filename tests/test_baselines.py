"""Tests of grpo_nb.baselines: baselines learned on train, leak probes and the data audit, on toy and real rows."""
import gzip
import json

import pytest
from conftest import shared_folder

from grpo_nb.baselines import (CHANCE_BASELINES, HONEST_BASELINES, LEAK_PROBES, audit_splits, baseline_picks,
                               learn_popularity, learn_position_prior, pick_accuracy, popularity_choice,
                               position_prior_picks, random_accuracy, row_option_titles)
from grpo_nb.data import clean_rows, load_slates, split_by_participant
from grpo_nb.prompts import prepare_examples


def _toy(ids, gold, pid="p", **extra):
    return {"option_ids": ids, "option_titles": [f"title {i}" for i in ids], "gold_index": gold,
            "n_options": len(ids), "participant_id": pid, **extra}


def test_names_cover_the_contract():
    picks = baseline_picks([_toy(["a", "b"], 1)], [_toy(["a", "b"], 2)])
    for name in ("most_frequent_gold_index_train", "popularity_train", "leak_probe_odd_option", "pick_last_option",
                 "title_length_train"):
        assert set(picks[name]) >= {"picks", "learned_on", "note"}, name
    assert set(LEAK_PROBES) <= set(picks) and set(HONEST_BASELINES) - {"random"} <= set(picks)
    assert set(CHANCE_BASELINES) == {"random", "most_frequent_gold_index_train"}
    assert picks["popularity_train"]["learned_on"] == "train" and picks["pick_last_option"]["learned_on"] == "none"


def test_position_prior_per_slate_size_with_fallback():
    prior = learn_position_prior([_toy(list("abcde"), 5), _toy(list("abcde"), 4), _toy(list("abcde"), 5),
                                  _toy(list("ab"), 2), _toy(list("ab"), 2), _toy(list("ab"), 1)])
    # 5 options: learned 5; 2 options: learned 2; 4 options never seen: overall top (2 and 5 tie at 2) within 1..4
    assert position_prior_picks(prior, [{"n_options": 5}, {"n_options": 2}, {"n_options": 4}]) == [5, 2, 2]
    assert position_prior_picks(prior, [{"n_options": 1}, {}]) == [1, None]


def test_popularity_ties_fallback_and_rate():
    train = [_toy(["hit", "x"], 1), _toy(["hit", "y"], 1), _toy(["x", "y"], 2), _toy(["z", "x"], 1)]
    pop, prior = learn_popularity(train), learn_position_prior(train)
    assert pop["id"]["chosen"] == {"hit": 2, "y": 1, "z": 1} and pop["id"]["shown"]["x"] == 3
    assert popularity_choice(pop, _toy(["x", "hit"], 2), prior) == (2, "top")
    assert popularity_choice(pop, _toy(["y", "z"], 2), prior) == (1, "tie_broken")    # 1 each: prior says 1
    assert popularity_choice(pop, _toy(["new1", "new2"], 1), prior) == (1, "fallback")
    # rate: x shown 3 times never chosen (1/5) loses to an unseen video (1/2); count falls back to the prior
    assert popularity_choice(pop, _toy(["x", "new"], 2), prior, "rate") == (2, "top")
    assert popularity_choice(pop, _toy(["x", "new"], 2), prior, "count") == (1, "fallback")


def test_rows_without_new_fields_never_crash():
    rows = [{"gold_index": 1, "n_options": 2, "messages": "not a prompt"}, {"gold_index": None, "n_options": None}]
    picks = baseline_picks([], rows)
    assert all(len(b["picks"]) == 2 for b in picks.values())
    assert picks["popularity_train"]["picks"] == [None, None]
    assert picks["leak_probe_odd_option"]["outcomes"]["no_signatures"] == 2
    assert pick_accuracy(picks["popularity_train"]["picks"], rows) == {"accuracy": None, "n": 0, "correct": 0,
                                                                      "n_without_pick": 1}
    audit = audit_splits([], rows, n_resamples=10)
    assert json.loads(json.dumps(audit)) == audit and audit["warnings"] == []


def test_audit_warns_on_appended_gold_and_is_quiet_on_fair_data():
    leaky_train = [_toy([f"f{i}", f"g{i}", "hit"][::(1 if i % 2 else -1)], 3 if i % 2 else 1, pid=f"t{i}",
                        issue="gun_control", participant_study="study1") for i in range(40)]
    leaky_eval = [{**r, "participant_id": "e" + r["participant_id"]} for r in leaky_train[:20]]
    audit = audit_splits(leaky_train, leaky_eval, n_resamples=200)
    g = audit["groups"]["gun_control/study1"]
    assert g["popularity_train_accuracy"] == 1.0 and g["chosen_never_shown_unchosen_share"] == 1.0
    assert g["n_participants_in_both"] == 0 and g["gold_share_by_position"] == {"1": 0.5, "3": 0.5}
    identity = [w for w in audit["warnings"] if "video identity" in w and "study1" in w]
    assert identity and "`video_holdout: eval_videos`" in identity[0] and "`drop_appended_gold: true`" in identity[0]
    assert not any(w.startswith("all:") for w in audit["warnings"])      # a single group: not repeated under "all"
    fair = [_toy(["a", "b"], 1 + i % 2, pid=f"p{i}", issue="minimum_wage", participant_study="study2")
            for i in range(40)]
    assert audit_splits(fair[:20], fair[20:], n_resamples=200)["warnings"] == []


# ---- the real sample ------------------------------------------------------------------------------------------

def _real_split(shared_data, name):
    path = shared_folder(shared_data, "grail-sample") / f"{name}.jsonl.gz"
    train, evaluation = split_by_participant(clean_rows(load_slates(path))[0], 0.1, 0)
    prep = lambda rows: prepare_examples(rows, option_order="shuffle", option_fields="common")
    return prep(train), prep(evaluation)


@pytest.fixture(scope="module")
def gun(shared_data):
    train, evaluation = _real_split(shared_data, "gun_control")
    return train, evaluation, audit_splits(train, evaluation)


@pytest.fixture(scope="module")
def wage(shared_data):
    train, evaluation = _real_split(shared_data, "minimum_wage")
    return train, evaluation, audit_splits(train, evaluation)


def test_gun_sample_audit(gun):
    train, evaluation, audit = gun
    g = audit["groups"]["all"]
    assert set(audit["groups"]) == {"all", "gun_control/study1"}
    assert (g["n_rows"], g["n_participants"], g["n_train_rows"], g["n_train_participants"]) == (47, 14, 500, 148)
    assert g["n_participants_in_both"] == 0
    # video identity: of 126 chosen videos only 39 are ever shown unchosen (order-independent, exact)
    assert (g["n_chosen_videos"], g["n_chosen_never_shown_unchosen"]) == (126, 87)
    assert 0.15 <= g["most_frequent_gold_index_train_accuracy"] <= 0.55        # the shuffled prior (0.40 measured)
    assert g["popularity_rate_train_accuracy"] >= 0.85                          # 0.957 measured
    assert g["popularity_train_accuracy"] >= 0.5                                # 0.638 measured
    assert g["title_length_train_accuracy"] >= 0.6                              # 0.723 measured: formatting alone
    # shuffled + common fields: no option stands out, so the odd-option probe is the position prior
    assert g["leak_probe_odd_option_no_option_stood_out"] == g["n_eligible"] == 47
    assert g["leak_probe_odd_option_accuracy"] == g["most_frequent_gold_index_train_accuracy"]
    assert abs(g["random_accuracy"] - 0.356) < 0.001
    warned = " ".join(audit["warnings"])
    assert "video identity" in warned and "option-line formatting" in warned
    assert "`video_holdout: eval_videos`" in warned
    assert "rendered metadata" not in warned
    assert g["margins"]["popularity_rate_train"]["verdict"] == "better"


def test_wage_sample_audit(wage):
    train, evaluation, audit = wage
    g = audit["groups"]["all"]
    assert set(audit["groups"]) == {"all", "minimum_wage/study2", "minimum_wage/study3"}
    assert g["n_participants_in_both"] == 0 and g["n_rows"] == 123
    assert abs(g["random_accuracy"] - 0.256) < 0.001
    assert 0.26 <= g["popularity_rate_train_accuracy"] <= 0.42                  # 0.350 measured (LOPO: 0.31)
    assert g["chosen_never_shown_unchosen_share"] < 0.05                         # videos are shown unchosen too
    assert g["title_length_train_accuracy"] <= g["random_accuracy"] + 0.08      # 0.179: no formatting cue
    assert g["leak_probe_odd_option_no_option_stood_out"] == g["n_eligible"]
    assert not any("option-line formatting" in w or "rendered metadata" in w for w in audit["warnings"])


def test_prediction_rows_without_new_fields_give_the_same_picks(gun):
    train, evaluation, _ = gun
    rows = [{"messages": e["prompt"], "gold_index": e["gold_index"], "n_options": e["n_options"],
             "participant_id": e["participant_id"]} for e in evaluation]
    assert [row_option_titles(r) for r in rows] == [e["option_titles"] for e in evaluation]
    ours, theirs = baseline_picks(train, evaluation), baseline_picks(train, rows)
    for name in ("title_length_train", "leak_probe_odd_option", "pick_last_option", "most_frequent_gold_index_train"):
        assert theirs[name]["picks"] == ours[name]["picks"], name
    a, b = (pick_accuracy(x["popularity_rate_train"]["picks"], evaluation) for x in (ours, theirs))
    assert abs(a["accuracy"] - b["accuracy"]) <= 0.05 and b["n_without_pick"] == 0     # matched by title


def test_published_gun_log_odd_option_matches_next_video(shared_data):
    from grpo_nb.next_video import leak_probe_odd_option
    path = shared_folder(shared_data, "reference-logs", "next_video") / "grpo-gun.predictions.jsonl.gz"
    rows = [json.loads(line) for line in gzip.open(path, "rt")]
    picks = baseline_picks([], rows)
    odd = picks["leak_probe_odd_option"]
    assert odd["outcomes"] == {"odd": leak_probe_odd_option(rows)["n_odd_option"], "no_option_stood_out": 16,
                               "no_signatures": 0}
    assert pick_accuracy(odd["picks"], rows)["correct"] == 531                  # of 548: the logged-order leak
    audit = audit_splits(rows[:300], rows[300:], n_resamples=200)
    assert any(w.startswith("gun_control/study1: option position: the last option (where the published builder")
               for w in audit["warnings"])
    published = json.loads((path.parent / "grpo-gun.metrics.json").read_text())
    assert random_accuracy(rows) == pytest.approx(published["random_baseline_expected_accuracy"], abs=1e-12)
