"""Family 5 (issue 11): hostile completions. Every parser is one pass over the text and bounds what it converts:
huge, unclosed or digit-bomb completions are unparsed (None / 0.0 reward / invalid format), never slow, never raise."""
import time

import pytest

from grpo_nb.rewards import (MAX_ANSWER_CHARS, accuracy_reward, first_tag_content, format_reward, has_valid_format,
                             opinion_direction_reward, parse_answer, parse_opinion_index, parse_opinion_label,
                             valid_answer_reward)

MB = 1_000_000
PARSERS = {"parse_answer": parse_answer, "parse_opinion_index": parse_opinion_index,
           "parse_opinion_label": parse_opinion_label, "has_valid_format": has_valid_format}
UNPARSED = {"parse_answer": None, "parse_opinion_index": None, "parse_opinion_label": None, "has_valid_format": False}

HOSTILE = {
    "10 MB of <answer> never closed": "<answer>" * (10 * MB // 8),
    "10 MB of <ANSWER> in capitals, never closed": "<ANSWER>" * (10 * MB // 8),
    "10 MB of <opinion> never closed": "<opinion>" * (10 * MB // 9),
    "10 MB of closing tags only": "</answer>" * (10 * MB // 9),
    "an opening tag then 10 MB of text": "<answer>" + "x" * (10 * MB),
    "a million think blocks": "<think></think>" * MB,
    "5,000 digits": "<answer>" + "7" * 5000 + "</answer>",
    "100,000 digits in a valid structure": "<think>x</think><answer>" + "1" * 100_000 + "</answer>",
    "5,000-digit decimal": "<answer>0." + "1" * 5000 + "</answer>",
    "10 MB of whitespace inside the tag": "<answer>" + " " * (10 * MB) + "3</answer>",
    "alternating open tags of all kinds": "<think><answer><opinion>" * 400_000,
}

# the two cases where a parser does read something: whitespace around an answer is allowed, and a digit bomb inside a
# well-formed structure is still well-formed (its answer is unparsed)
EXCEPTIONS = {("10 MB of whitespace inside the tag", "parse_answer"): 3,
              ("100,000 digits in a valid structure", "has_valid_format"): True}


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.parametrize("parser", list(PARSERS))
def test_hostile_completion_is_unparsed_in_well_under_a_second(case, parser):
    text = HOSTILE[case]
    start = time.perf_counter()
    result = PARSERS[parser](text)
    elapsed = time.perf_counter() - start
    expected = EXCEPTIONS.get((case, parser), UNPARSED[parser])
    assert result == expected
    assert elapsed < 0.5, f"{parser} took {elapsed:.2f} s on {case}"


def test_a_5000_digit_answer_is_unparsed_not_a_value_error():
    text = "<think>x</think><answer>" + "9" * 5000 + "</answer>"
    assert parse_answer(text) is None
    assert has_valid_format(text) is True                      # the structure is fine; the answer is not
    assert accuracy_reward([text], gold_index=[9]) == [0.0]
    assert valid_answer_reward([text], n_options=[5]) == [0.0]
    assert format_reward([text]) == [1.0]


def test_answer_length_bound_is_exactly_max_answer_chars():
    assert MAX_ANSWER_CHARS == 32
    assert parse_answer("<answer>" + "0" * (MAX_ANSWER_CHARS - 1) + "4</answer>") == 4
    assert parse_answer("<answer>" + "0" * MAX_ANSWER_CHARS + "4</answer>") is None
    assert parse_answer("<answer>  \n" + "0" * (MAX_ANSWER_CHARS - 1) + "4\n  </answer>") == 4   # whitespace is free
    assert parse_opinion_index("<answer>0." + "5" * (MAX_ANSWER_CHARS - 2) + "</answer>") == pytest.approx(0.5555, abs=1e-3)
    assert parse_opinion_index("<answer>0." + "5" * (MAX_ANSWER_CHARS - 1) + "</answer>") is None


def test_a_huge_gold_or_size_column_never_raises():
    assert accuracy_reward(["<answer>7</answer>"] * 3, gold_index=[10 ** 5000, "9" * 5000, float("inf")]) == [0.0] * 3
    assert valid_answer_reward(["<answer>7</answer>"], n_options=[10 ** 5000]) == [0.0]


def test_first_tag_semantics_are_unchanged_by_the_linear_scan():
    # the first opening tag and the first closing tag after it; no second chance on later tags
    assert first_tag_content("a <answer>1</answer> <answer>2</answer>", "answer") == "1"
    assert first_tag_content("</answer> <answer>2</answer>", "answer") == "2"
    assert first_tag_content("<answer><answer>3</answer>", "answer") == "<answer>3"
    assert parse_answer("<answer><answer>3</answer>") is None
    assert first_tag_content("<answer>1" + "<answer>" * 1000, "answer") is None
    assert parse_opinion_label("<Opinion> DECREASE </OPINION>") == "decrease"
    assert opinion_direction_reward(["<opinion>" + "increase" * 10_000 + "</opinion>"], opinion_direction=["increase"]) == [0.0]


def test_format_check_counts_each_tag_once_and_rejects_a_seventh():
    valid = "<think>x</think><answer>1</answer><opinion>increase</opinion>"
    assert has_valid_format(valid, require_opinion=True)
    assert not has_valid_format(valid + "<think>", require_opinion=True)
    assert not has_valid_format("<think>x</think>\u00a0text<answer>1</answer>")
    assert has_valid_format("\u2003<think>x</think>\u00a0<answer>1</answer>\n")   # unicode whitespace is whitespace
