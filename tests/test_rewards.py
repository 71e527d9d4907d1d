"""What the rewards notebook cannot hold: properties over many generated completions, and the published accuracy
reproduced on the real prediction logs. The truth tables (parsing, format, each reward) live in `nbs/03_rewards.ipynb`
and run with `nbdev_test`."""
import gzip
import json
import random

import pytest
from conftest import shared_folder

from grpo_nb.rewards import (accuracy_reward, completion_text, first_tag_content, format_reward, has_valid_format,
                             opinion_format_reward, parse_answer, parse_opinion_index, parse_opinion_label,
                             strict_accuracy_reward, valid_answer_reward)

PIECES = ["<think>", "</think>", "<answer>", "</answer>", "<opinion>", "</opinion>", "<ANSWER>", "</Think>", "3", "07",
          "12", "-1", "0.5", ".5", "1.", "x", " ", "\n", "Option 2", "increase", "no_change", "３", "<", ">", "/"]


def completions(n: int = 3000, seed: int = 0) -> list[str]:
    "Seeded completions stitched from tag and answer fragments: mostly malformed, some well-formed."
    rng = random.Random(seed)
    made = [f"<think>{rng.choice(PIECES)}</think><answer>{rng.choice(PIECES)}</answer>" for _ in range(n // 3)]
    return made + ["".join(rng.choices(PIECES, k=rng.randint(0, 12))) for _ in range(n - len(made))]


TEXTS = completions()


def test_generated_completions_cover_both_outcomes():
    assert 100 < sum(map(has_valid_format, TEXTS)) < len(TEXTS) - 100
    assert 100 < sum(parse_answer(t) is not None for t in TEXTS) < len(TEXTS) - 100


def test_parsers_return_their_type_or_none():
    for text in TEXTS:
        answer, index, label = parse_answer(text), parse_opinion_index(text), parse_opinion_label(text)
        assert answer is None or (type(answer) is int and answer >= 0), text
        assert index is None or (type(index) is float and 0.0 <= index <= 1.0), text
        assert label in (None, "increase", "decrease", "no_change"), text


def test_a_parsed_answer_is_the_first_answer_tag_stripped():
    for text in TEXTS:
        answer = parse_answer(text)
        if answer is not None: assert int(first_tag_content(text, "answer").strip()) == answer, text


def test_a_valid_format_with_opinion_is_a_valid_format_and_holds_an_answer_tag():
    for text in TEXTS:
        if has_valid_format(text, require_opinion=True): assert has_valid_format(text), text
        if has_valid_format(text): assert first_tag_content(text, "answer") is not None, text


def test_rewards_are_zero_or_one_and_strict_accuracy_is_accuracy_times_format():
    golds, sizes = [3] * len(TEXTS), [5] * len(TEXTS)
    accuracy, fmt = accuracy_reward(TEXTS, gold_index=golds), format_reward(TEXTS)
    strict = strict_accuracy_reward(TEXTS, gold_index=golds)
    valid, opinion_fmt = valid_answer_reward(TEXTS, n_options=sizes), opinion_format_reward(TEXTS)
    for rewards in (accuracy, fmt, strict, valid, opinion_fmt): assert set(rewards) <= {0.0, 1.0}
    assert strict == [a * f for a, f in zip(accuracy, fmt)]
    assert all(v >= a for a, v in zip(accuracy, valid))          # a right answer (3 of 5) is a valid one
    assert all(f >= o for f, o in zip(fmt, opinion_fmt))


def test_conversational_and_plain_completions_are_paid_alike():
    conversational = [[{"role": "assistant", "content": t}] for t in TEXTS]
    assert [completion_text(c) for c in conversational] == TEXTS
    golds = [3] * len(TEXTS)
    assert accuracy_reward(conversational, gold_index=golds) == accuracy_reward(TEXTS, gold_index=golds)


def test_strict_parser_reproduces_published_accuracy(shared_data):
    logs = shared_folder(shared_data, "reference-logs", "next_video")
    for name in ("grpo-gun", "grail-gun", "grail-wage"):
        with gzip.open(logs / f"{name}.predictions.jsonl.gz", "rt") as f: rows = [json.loads(l) for l in f]
        published = json.loads((logs / f"{name}.metrics.json").read_text())["accuracy_overall"]
        eligible = [r for r in rows if r["eligible"]]
        rewards = accuracy_reward([r["gpt_output"] for r in eligible], gold_index=[r["gold_index"] for r in eligible])
        assert sum(rewards) / len(eligible) == pytest.approx(published, abs=1e-9), name
