"""Bad rows end to end: dropped by named reason, counted in `prepare_stats`, never scored; a split with no row left
is an error naming the reasons (moved from test_hardening.py, unchanged)."""
import json
from pathlib import Path

import pytest
from conftest import jsonl, make_row

from grpo_nb.config import load_recipe
from grpo_nb.data import clean_rows
from grpo_nb.opinion import opinion_examples


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
