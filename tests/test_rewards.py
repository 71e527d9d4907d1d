"""Tests of grpo_nb.rewards: strict parsing, reward functions, registry, weights."""
import gzip, json, os

import pytest
from conftest import shared_folder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
from grpo_nb.rewards import (REWARD_REGISTRY, accuracy_reward, combined_reward, completion_text, format_reward,
                             get_reward_funcs, has_valid_format, opinion_direction_reward, parse_answer,
                             parse_opinion_index, parse_opinion_label, resolve_reward_weights, strict_accuracy_reward,
                             valid_answer_reward)

ANSWERS = [("<answer>3</answer>", 3), ("<answer> 3 </answer>", 3), ("<answer>\n3\n</answer>", 3),
           ("<answer>1</answer><answer>2</answer>", 1), ("<answer>3.</answer>", None), ('<answer>"3"</answer>', None),
           ("<answer>Option 3</answer>", None), ("<answer>3/5</answer>", None), ("<answer>-1</answer>", None),
           ("<answer></answer>", None), ("3", None), ("<answer>3", None), ("<answer>３</answer>", None)]


@pytest.mark.parametrize("text,expected", ANSWERS)
def test_parse_answer(text, expected): assert parse_answer(text) == expected


@pytest.mark.parametrize("text,expected", [("<opinion>increase</opinion>", "increase"),
                                           ("<opinion> No_Change </opinion>", "no_change"),
                                           ("<opinion>DECREASE</opinion>", "decrease"),
                                           ("<opinion>no change</opinion>", None), ("<opinion>up</opinion>", None),
                                           ("increase", None)])
def test_parse_opinion_label(text, expected): assert parse_opinion_label(text) == expected


@pytest.mark.parametrize("text,expected", [("<answer>0.42</answer>", 0.42), ("<answer>.5</answer>", 0.5),
                                           ("<answer>1</answer>", 1.0), ("<answer>0</answer>", 0.0),
                                           ("<answer>5</answer>", None), ("<answer>1.5</answer>", None),
                                           ("<answer>-0.2</answer>", None), ("<answer>42%</answer>", None),
                                           ("no tag 0.4", None)])
def test_parse_opinion_index(text, expected): assert parse_opinion_index(text) == expected


@pytest.mark.parametrize("text,plain,with_opinion", [
    ("<think>x</think><answer>3</answer>", True, False),
    ("\n<think>\nx\n</think>\n<answer>\n3\n</answer>\n", True, False),
    ("<think>x</think><answer>3</answer><opinion>increase</opinion>", True, True),
    ("<answer>3</answer>", False, False),
    ("<think>x</think>text<answer>3</answer>", False, False),
    ("<think>x</think><answer>3</answer><think>y</think><answer>3</answer>", False, False),
    ("<answer>3</answer><think>x</think>", False, False),
    ("<think>x <opinion>increase</opinion></think><answer>3</answer>", False, False),
])
def test_has_valid_format(text, plain, with_opinion):
    assert has_valid_format(text) is plain
    assert has_valid_format(text, require_opinion=True) is with_opinion


TEXTS = ["<think>a</think><answer>2</answer><opinion>increase</opinion>", "<answer>2</answer>",
         "<think>a</think><answer>5</answer>", "<think>a</think><answer>two</answer>"]
COLUMNS = dict(gold_index=[2] * 4, n_options=[4] * 4, opinion_direction=["increase", "increase", None, "decrease"],
               prompts=[[{"role": "user", "content": "x"}]] * 4, trainer_state=None)
EXPECTED = {accuracy_reward: [1, 1, 0, 0], strict_accuracy_reward: [1, 0, 0, 0], format_reward: [1, 0, 1, 1],
            valid_answer_reward: [1, 1, 0, 0], opinion_direction_reward: [1, 0, 0, 0]}


@pytest.mark.parametrize("func", list(EXPECTED), ids=lambda f: f.__name__)
@pytest.mark.parametrize("conversational", [False, True])
def test_rewards_on_both_completion_kinds(func, conversational):
    completions = [[{"role": "assistant", "content": t}] for t in TEXTS] if conversational else TEXTS
    rewards = func(completions, **COLUMNS)
    assert rewards == [float(x) for x in EXPECTED[func]] and all(isinstance(r, float) for r in rewards)


def test_completion_text():
    assert completion_text([{"role": "assistant", "content": "hi"}]) == "hi"
    assert completion_text("hi") == "hi"
    with pytest.raises(TypeError): completion_text(3)


def test_missing_column_is_named():
    with pytest.raises(KeyError, match="gold_index"): accuracy_reward(TEXTS, n_options=[4] * 4)


def test_registry_errors():
    assert get_reward_funcs(["accuracy", "format"]) == [accuracy_reward, format_reward]
    with pytest.raises(ValueError, match="Did you mean 'accuracy'") as e: get_reward_funcs(["acuracy"])
    for name in REWARD_REGISTRY: assert name in str(e.value)
    with pytest.raises(ValueError, match="at least one"): get_reward_funcs([])


def test_weights_and_combined():
    assert resolve_reward_weights(["accuracy", "format"], None) == [1.0, 1.0]
    with pytest.raises(ValueError, match="1 reward_weights for 2"): resolve_reward_weights(["accuracy", "format"], [1.0])
    combined = combined_reward(TEXTS, ["strict_accuracy", "format"], [1.0, 0.1], **COLUMNS)
    assert [round(c, 6) for c in combined] == [1.1, 0.0, 0.1, 0.1]


def test_strict_parser_reproduces_published_accuracy(shared_data):
    logs = shared_folder(shared_data, "reference-logs", "next_video")
    for name in ("grpo-gun", "grail-gun", "grail-wage"):
        with gzip.open(logs / f"{name}.predictions.jsonl.gz", "rt") as f: rows = [json.loads(l) for l in f]
        published = json.loads((logs / f"{name}.metrics.json").read_text())["accuracy_overall"]
        eligible = [r for r in rows if r["eligible"]]
        rewards = accuracy_reward([r["gpt_output"] for r in eligible], gold_index=[r["gold_index"] for r in eligible])
        assert sum(rewards) / len(eligible) == pytest.approx(published, abs=1e-9), name
