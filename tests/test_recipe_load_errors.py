"""A recipe file that is not a recipe, values no trainer could use, reward names that do not exist: each fails at
load time with an error that names the file, the line or the key (moved from test_hardening.py, unchanged)."""
import re

import pytest

from grpo_nb.config import RecipeError, load_recipe

BASE = "model_name_or_path: embedded:tiny-qwen2\nbf16: false\n"


RECIPE_FILES = {
    "empty file": ("", "is empty"),
    "comments only": ("# to do\n", "is empty"),
    "a list": ("- model_name_or_path: x\n", "must be a YAML mapping of key: value, got a list"),
    "a scalar": ("gun\n", "must be a YAML mapping of key: value, got a str"),
    "a syntax error": (BASE + "issues: [gun_control\n", "invalid YAML at line 4"),
    "a tab indent": (BASE + "issues:\n\t- gun_control\n", "invalid YAML at line 4"),
    "a key given twice": (BASE + "learning_rate: 1e-5\nlearning_rate: 1e-4\n", "'learning_rate' is given twice (lines 3 and 4)"),
    "a key that is not a name": (BASE + "1: 2\n", "keys must be names, got [1]"),
}


@pytest.mark.parametrize("case", sorted(RECIPE_FILES))
def test_a_file_that_is_not_a_recipe_names_the_file_and_line(tmp_path, case):
    text, message = RECIPE_FILES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError, match=re.escape(message)) as error:
        load_recipe(path)
    assert str(path) in str(error.value)


def test_a_recipe_that_is_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(BASE.encode() + b"system_prompt: caf\xe9\n")
    with pytest.raises(RecipeError, match=r"latin1.yaml: line 3 is not UTF-8 \(byte 0xe9\)"):
        load_recipe(path)


BAD_VALUES = {   # (recipe lines, what the error must say); none of these may reach TRL or the trainer
    "no generations": ("num_generations: 0\n", "num_generations must be at least 2"),   # was a ZeroDivisionError
    "one generation": ("num_generations: 1\n", "num_generations must be at least 2"),
    "negative generations": ("num_generations: -4\n", "num_generations must be at least 2"),
    "zero eval batch": ("per_device_eval_batch_size: 0\n", "per_device_eval_batch_size must be at least 1"),
    "negative warm-up batch": ("sft_warmup_batch_size: -1\n", "sft_warmup_batch_size must be at least 1"),
    "zero steps per generation": ("steps_per_generation: 0\n", "steps_per_generation must be at least 1"),
    "negative learning rate": ("learning_rate: -1e-5\n", "learning_rate must be a number >= 0"),
    "NaN reward weight": ("reward_funcs: [strict_accuracy, format]\nreward_weights: [.nan, 1]\n", "reward_weights must be finite"),
    "negative temperature": ("eval_temperature: -0.5\n", "eval_temperature must be >= 0"),
    "top_p of zero": ("eval_top_p: 0\n", r"eval_top_p must be in \(0, 1\]"),
    "mixture without weight": ("dataset_mixture: [{name: embedded}]\n", "entry 1 needs a 'weight' >= 0"),
    "mixture with a typo": ("dataset_mixture: [{name: embedded, wieght: 1}]\n", r"unknown key\(s\) \['wieght'\]"),
    "mixture negative weight": ("dataset_mixture: [{name: embedded, weight: -1}]\n", "needs a 'weight' >= 0, got -1"),
    "model of only spaces": ("model_name_or_path: '   '\n", "model_name_or_path is missing"),   # the later key wins
}


@pytest.mark.parametrize("case", sorted(BAD_VALUES))
def test_values_no_trainer_could_use_fail_at_load_time(tmp_path, case):
    lines, message = BAD_VALUES[case]
    path = tmp_path / "r.yaml"
    path.write_text(BASE.replace("model_name_or_path: embedded:tiny-qwen2\n", "") + lines
                    if lines.startswith("model_name_or_path") else BASE + lines)
    with pytest.raises(RecipeError, match=message):
        load_recipe(path)


def test_an_unknown_reward_fails_at_load_time_not_after_the_model_is_loaded(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(BASE + "reward_funcs: [strict_accuracy, fromat]\n")
    with pytest.raises(RecipeError, match=r"unknown reward 'fromat' \(did you mean 'format'\?\); known rewards: accuracy"):
        load_recipe(path)
    # overrides are checked the same way, and a reward registered before loading is known
    from grpo_nb.rewards import REWARD_REGISTRY, register_reward
    with pytest.raises(RecipeError, match="unknown reward 'discriminator'"):
        load_recipe(path, ["--reward_funcs", "[discriminator]"])
    register_reward("discriminator", lambda completions, **kw: [0.0] * len(completions))
    try: assert load_recipe(path, ["--reward_funcs", "[discriminator]"]).script.reward_funcs == ["discriminator"]
    finally: REWARD_REGISTRY.pop("discriminator")
