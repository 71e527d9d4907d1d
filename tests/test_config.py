"""Recipes: shipped recipes load offline, bad recipes fail with the key named, legacy keys are never dropped silently."""
import logging

import pytest
import yaml

from grpo_nb.config import (LEGACY_NO_EFFECT, RecipeError, effective_settings, load_recipe, parse_overrides,
                            resolve_recipe_path, save_recipe_snapshot)


def write(tmp_path, **keys):
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({"model_name_or_path": "embedded:tiny-qwen2", "bf16": False, **keys}))
    return path


@pytest.mark.parametrize("name,issue", [("gun", "gun_control"), ("wage", "minimum_wage")])
def test_published_recipes_load_offline_with_published_settings(name, issue):
    cfg = load_recipe(name, hardware_checks=False)
    s = effective_settings(cfg)
    assert s["model"] == "Qwen/Qwen2.5-1.5B-Instruct"
    assert (s["num_generations"], s["per_device_train_batch_size"], s["gradient_accumulation_steps"]) == (4, 8, 16)
    assert (s["learning_rate"], s["lr_scheduler_type"], s["warmup_steps"]) == (5e-5, "cosine", 0.1)
    assert s["beta"] == 0.04 and s["bf16"] is True and s["use_vllm"] is True
    assert s["eval_strategy"] == "steps" and s["eval_steps"] == 50
    assert s["completions_per_optimizer_step"] == 128 and s["prompts_per_optimizer_step"] == 32
    assert cfg.script.issues == [issue]


def test_bf16_recipe_on_cpu_says_what_to_do():
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RecipeError, match="bf16.*--bf16 false"):
        load_recipe("gun")
    assert load_recipe("gun", ["--bf16", "false"]).training.bf16 is False


def test_demo_recipe_loads_and_runs_on_cpu():
    cfg = load_recipe("demo")
    assert cfg.training.bf16 is False and cfg.model.model_name_or_path.startswith("embedded:")
    assert cfg.training.per_device_train_batch_size % cfg.training.num_generations == 0


def test_unknown_key_names_the_nearest_valid_key(tmp_path):
    with pytest.raises(RecipeError, match=r"unknown recipe key 'learnig_rate'; did you mean 'learning_rate'"):
        load_recipe(write(tmp_path, learnig_rate=1e-5))


def test_all_unknown_keys_are_listed_at_once(tmp_path):
    with pytest.raises(RecipeError) as err:
        load_recipe(write(tmp_path, num_generation=4, rewards_funcs=["format"]))
    assert "num_generations" in str(err.value) and "reward_funcs" in str(err.value)


@pytest.mark.parametrize("key,value,message", [
    ("learning_rate", "fast", "'learning_rate' expects a number"),
    ("per_device_train_batch_size", "eight", "'per_device_train_batch_size' expects an integer"),
    ("use_vllm", "sometimes", "'use_vllm' expects true/false"),
    ("per_device_train_batch_size", 0, "per_device_train_batch_size must be at least 1"),
    ("per_device_train_batch_size", -8, "must be at least 1"),
    ("option_order", "random", "option_order 'random' is not one of"),
    ("max_eval_samples", 0, "max_eval_samples must be at least 1"),
    ("reward_funcs", [], "reward_funcs is empty"),
])
def test_wrong_values_name_the_key(tmp_path, key, value, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(write(tmp_path, **{key: value}))


def test_batch_not_divisible_by_generations(tmp_path):
    with pytest.raises(RecipeError, match="divisible by num_generations"):
        load_recipe(write(tmp_path, per_device_train_batch_size=6, num_generations=4))


def test_missing_model(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("bf16: false\n")
    with pytest.raises(RecipeError, match="model_name_or_path is missing"):
        load_recipe(path)


def test_reward_weights_must_match_reward_funcs(tmp_path):
    with pytest.raises(RecipeError, match="reward_weights has 1 values for 2 reward_funcs"):
        load_recipe(write(tmp_path, reward_funcs=["accuracy", "format"], reward_weights=[1.0]))


def test_legacy_keys_are_renamed_or_warned_never_dropped(tmp_path, caplog):
    legacy = {k: 0.1 for k in LEGACY_NO_EFFECT if k not in ("dataset_prompt_column", "dataset_solution_column")}
    legacy.update(evaluation_strategy="steps", eval_steps=10, dataset_prompt_column="prompt", warmup_ratio=0.05)
    with caplog.at_level(logging.WARNING, logger="grpo_nb.config"):
        cfg = load_recipe(write(tmp_path, **legacy))
    assert cfg.training.eval_strategy.value == "steps" and cfg.training.warmup_steps == 0.05
    warned = caplog.text
    for key in [k for k in legacy if k != "eval_steps"]:
        assert key in warned, f"legacy key {key} was not reported"
    assert "has no effect" in warned and "using it as 'eval_strategy'" in warned


def test_overrides_win_and_snapshot_round_trips(tmp_path):
    cfg = load_recipe("demo", ["--max_steps", "7", "learning_rate=2e-5", "--issues", "[minimum_wage]"])
    assert (cfg.training.max_steps, cfg.training.learning_rate, cfg.script.issues) == (7, 2e-5, ["minimum_wage"])
    again = load_recipe(save_recipe_snapshot(cfg, tmp_path / "config.yaml"))
    assert effective_settings(again) == effective_settings(cfg) | {"recipe": again.source}


def test_recipe_lookup_errors_list_known_recipes():
    assert resolve_recipe_path("demo.yaml").name == "demo.yaml"
    with pytest.raises(FileNotFoundError, match="known recipes"):
        resolve_recipe_path("no-such-recipe")


def test_parse_overrides_forms():
    assert parse_overrides(["--a", "1", "--b=x", "c=[1, 2]", "--flag"]) == {"a": 1, "b": "x", "c": [1, 2], "flag": True}
