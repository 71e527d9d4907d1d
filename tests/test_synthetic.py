"""Tests of grpo_nb.synthetic: schema, determinism, the behaviour model's learnability, opinion directions."""
import gzip
import json
from collections import Counter

import pytest

from grpo_nb.data import clean_rows, load_slates
from grpo_nb.synthetic import (ISSUES, OPINION_COLUMNS, generate_rows, lean_rule_choice, video_stance, viewer_lean,
                               write_rows)

SURVEY = ("age", "q26", "q29", "q31", "pid1", "ideo1", "pol_interest", "freq_youtube", "college")
SLATE_ITEM_KEYS = {"id", "title", "channel_title", "duration", "view_count", "like_count", "comment_count"}


@pytest.fixture(scope="module")
def rows():
    return generate_rows()


@pytest.fixture(scope="module")
def cleaned(rows):
    kept, stats = clean_rows(rows, require_opinion=True)
    assert stats.rows_dropped == 0 and stats.notes == {}
    return kept


def test_schema_of_the_published_data(rows):
    for row in rows:
        assert "viewer_profile_sentence" not in row
        assert all(column in row for column in SURVEY)
        assert isinstance(row["age"], int) and isinstance(row["college"], bool)
        assert row["q26"] in ("Man", "Woman") and row["pid1"] in ("Democrat", "Republican", "Independent")
        assert row["ideo1"] in ("Liberal", "Conservative", "Moderate")
        before, after = OPINION_COLUMNS[row["issue"]]
        assert 0 <= row[before] <= 1 and 0 <= row[after] <= 1
        assert all(set(option) == SLATE_ITEM_KEYS for option in row["slate_items_json"])
        assert 2 <= len(row["slate_items_json"]) <= 5
        assert len({o["id"] for o in row["slate_items_json"]}) == len(row["slate_items_json"])
        assert row["next_video_id"] in {o["id"] for o in row["slate_items_json"]}
        expected_study = {"study1"} if row["issue"] == "gun_control" else {"study2", "study3"}
        assert row["participant_study"] in expected_study


def test_history_covers_the_whole_session(rows):
    sessions = {}
    for row in rows:
        sessions.setdefault(row["session_id"], []).append(row)
    assert set(Counter(len(steps) for steps in sessions.values())) == {2, 3, 4, 5}
    for steps in sessions.values():
        history = steps[0]["watched_detailed_json"]
        assert [r["step_index"] for r in steps] == list(range(len(steps)))
        assert len(history) == len(steps) + 1  # the video chosen at the last step is watched too
        for row in steps:
            assert row["watched_detailed_json"] == history
            assert history[row["step_index"]]["id"] == row["current_video_id"]
            assert history[row["step_index"] + 1]["id"] == row["next_video_id"]
        assert all({"watch_seconds", "total_length_seconds"} <= set(h) for h in history)
        assert all(0 < h["watch_seconds"] <= h["total_length_seconds"] for h in history)


def test_every_row_cleans_without_drops(rows, cleaned):
    assert len(cleaned) == len(rows)
    assert all(r["opinion_direction"] in ("increase", "decrease", "no_change") for r in cleaned)


def test_deterministic_by_seed(tmp_path):
    first, second = generate_rows(200, seed=3), generate_rows(200, seed=3)
    assert json.dumps(first) == json.dumps(second)
    assert json.dumps(generate_rows(200, seed=4)) != json.dumps(first)
    a, b = write_rows(first, tmp_path / "a.jsonl.gz"), write_rows(second, tmp_path / "b.jsonl.gz")
    assert a.read_bytes() == b.read_bytes()


def test_default_size():
    rows = generate_rows(600)
    assert len(rows) >= 2000


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rule_is_learnable_not_positional(seed):
    kept, _ = clean_rows(generate_rows(seed=seed))
    n = len(kept)
    positions = Counter(r["gold_index"] for r in kept)
    rule = sum(lean_rule_choice(r) == r["gold_index"] for r in kept) / n
    majority = max(positions.values()) / n
    random_pick = sum(1 / r["n_options"] for r in kept) / n
    assert rule > majority + 0.2 and rule > random_pick + 0.4
    assert set(positions) == {1, 2, 3, 4, 5} and majority < 0.6
    # the rule needs both the viewer and the options: flipping the viewer's lean ruins it
    flipped = [dict(r, ideo1={"Liberal": "Conservative", "Conservative": "Liberal"}.get(r["ideo1"], r["ideo1"]),
                    pid1={"Democrat": "Republican", "Republican": "Democrat"}.get(r["pid1"], r["pid1"])) for r in kept]
    assert sum(lean_rule_choice(r) == r["gold_index"] for r in flipped) / n < majority


def test_stance_shows_in_channels(cleaned):
    assert all(video_stance(o, r["issue"]) in (1, -1) for r in cleaned for o in r["slate_items"])
    assert all({video_stance(o, r["issue"]) for o in r["slate_items"]} == {1, -1} for r in cleaned)
    leans = Counter(viewer_lean(r) for r in cleaned)
    assert leans[1] and leans[-1] and leans[0]


def test_opinion_directions_mix(cleaned):
    last = {r["participant_id"]: r["opinion_direction"] for r in cleaned}
    shares = {d: c / len(last) for d, c in Counter(last.values()).items()}
    assert all(shares.get(d, 0) > 0.05 for d in ("increase", "decrease", "no_change")), shares


def test_issues_argument():
    assert {r["issue"] for r in generate_rows(30, issues=("minimum_wage",))} == {"minimum_wage"}
    assert {r["issue"] for r in generate_rows(30, issues="gun_control")} == {"gun_control"}
    assert {r["issue"] for r in generate_rows(30)} == set(ISSUES)
    with pytest.raises(ValueError, match="known issues: gun_control, minimum_wage"):
        generate_rows(issues=["abortion"])


def test_write_rows_round_trip(tmp_path, rows):
    path = write_rows(rows[:50], tmp_path / "sub" / "rows.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        assert [json.loads(line) for line in f] == rows[:50]
    assert load_slates(write_rows(rows[:7], tmp_path / "rows.jsonl")) == rows[:7]
