"""Metrics are never wrong: ineligible and invalid rows are counted as neither right nor wrong, and a file without an
eligible row gives empty rates, not zeros (moved from test_hardening.py, unchanged)."""
import json
import math

from conftest import jsonl, nv_row, op_row

from grpo_nb.next_video import score_next_video, score_predictions_file
from grpo_nb.opinion import score_opinion


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
