"""Family 7 (issue 11): values accepted that failed later or did the wrong thing, and the alias bomb of family 10.
Every value is checked when the recipe loads — before any data or model is touched — and each error names the key,
what it must be and the value; a YAML alias bomb is refused at read time and never expanded into a snapshot."""
import contextlib
import io
import os
import time
from pathlib import Path

import pytest

from grpo_nb.config import MAX_RECIPE_NODES, RecipeError, load_recipe, parse_overrides, read_recipe_file
from grpo_nb.cli import main

BASE = "model_name_or_path: embedded:tiny-qwen2\nbf16: false\n"

BAD = {   # recipe line -> the exact sentence of the error
    "temperature: 0": "temperature must be > 0: GRPO samples num_generations completions per prompt and learns from their "
                      "differences (0 would be greedy: identical completions, zero advantage), got 0.0",
    "temperature: -1": "temperature must be > 0",
    "temperature: .nan": "temperature must be > 0",
    "seed: -1": "seed must be in 0 .. 4294967295, got -1",
    "seed: 4294967296": "seed must be in 0 .. 4294967295, got 4294967296",
    "data_seed: -3": "data_seed must be in 0 .. 4294967295 or null, got -3",
    "max_completion_length: 0": "max_completion_length must be >= 1 token, got 0",
    "max_completion_length: -5": "max_completion_length must be >= 1 token, got -5",
    "max_steps: 0": "max_steps must be >= 1, or -1 to train num_train_epochs (0 would train nothing and save the "
                    "untrained model as the result), got 0",
    "max_steps: -7": "max_steps must be >= 1, or -1",
    "num_train_epochs: 0": "num_train_epochs must be > 0 when max_steps is -1 (otherwise nothing is trained), got 0.0",
    "learning_rate: -1e-5": "learning_rate must be a number >= 0, got -1e-05",
    "learning_rate: .nan": "learning_rate must be a number >= 0, got nan",
    "learning_rate: .inf": "learning_rate must be a number >= 0, got inf",
    "sft_warmup_learning_rate: -0.1": "sft_warmup_learning_rate must be a number >= 0, got -0.1",
    "top_p: 0": "top_p must be in (0, 1], got 0.0",
    "top_p: 1.5": "top_p must be in (0, 1], got 1.5",
    "top_k: -1": "top_k must be >= 0 (0 = off), got -1",
    "min_p: 2": "min_p must be in [0, 1] or null, got 2.0",
    "repetition_penalty: 0": "repetition_penalty must be > 0, got 0.0",
    "beta: -0.1": "beta must be >= 0 (the KL coefficient; 0 = no reference model), got -0.1",
    "epsilon: 0": "epsilon must be > 0 (the clipping range), got 0.0",
    "num_iterations: 0": "num_iterations must be >= 1, got 0",
    "save_steps: 0": "save_steps must be > 0",
    "weight_decay: .nan": "weight_decay must be >= 0, got nan",
    "max_grad_norm: -1": "max_grad_norm must be >= 0 (0 = no clipping), got -1.0",
    "sft_warmup_steps: -2": "sft_warmup_steps must be >= 0 (0 = no warm-up), got -2",
    "embedded_participants: 0": "embedded_participants must be >= 1, got 0",
    "split_seed: -1": "split_seed must be in 0 .. 4294967295, got -1",
    "bootstrap_seed: -1": "bootstrap_seed must be in 0 .. 4294967295, got -1",
    "eval_temperature: .inf": "eval_temperature must be a finite number, got inf",
    "use_peft: true\nlora_r: 0": "lora_r must be >= 1 with use_peft, got 0",
    "use_peft: true\nlora_dropout: 1.0": "lora_dropout must be in [0, 1), got 1.0",
    "per_device_train_batch_size: 2\nnum_generations: 4": "generation_batch_size (2) must be divisible by num_generations (4)",
    "per_device_train_batch_size: 6\nnum_generations: 4": "generation_batch_size (6) must be divisible by num_generations (4)",
}


@pytest.mark.parametrize("line", list(BAD))
def test_a_bad_value_is_a_recipe_error_naming_key_and_value(tmp_path, line):
    path = tmp_path / "r.yaml"
    path.write_text(BASE + line + "\n")
    with pytest.raises(RecipeError) as e:
        load_recipe(path)
    assert BAD[line] in str(e.value), str(e.value)


def test_all_bad_values_are_listed_at_once(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(BASE + "temperature: 0\nseed: -1\nmax_steps: 0\nmax_completion_length: 0\n")
    with pytest.raises(RecipeError) as e:
        load_recipe(path)
    for key in ("temperature", "seed", "max_steps", "max_completion_length"):
        assert str(e.value).count(f"{key} must be") == 1, str(e.value)


def test_the_shipped_recipes_still_load():
    for name in ("demo", "gun", "wage"):
        load_recipe(name, hardware_checks=False)


def test_a_bad_value_fails_in_the_cli_before_any_data_model_or_run_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("GRPO_NB_RUNS", str(tmp_path / "runs")); monkeypatch.setenv("GRPO_NB_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("GRPO_NB_CACHE", str(tmp_path / "cache"))
    for override in (["--temperature", "0"], ["--seed", "-1"], ["--max_completion_length", "0"], ["--max_steps", "0"]):
        start = time.perf_counter()
        with contextlib.redirect_stderr(io.StringIO()) as err:
            rc = main(["pipeline", "--recipe", "demo", "--name", "bad", *override])
        assert rc == 2 and time.perf_counter() - start < 5
        line = err.getvalue().strip().splitlines()[-1]
        assert line.startswith("grpo-nb pipeline: error: recipe ") and f"{override[0][2:]} must be" in line, line
    assert not (tmp_path / "runs").exists() and not (tmp_path / "cache").exists()   # no run folder, no model built


# ---------------------------------------------------------------- family 10: the alias bomb

def billion_laughs(levels: int = 9) -> str:
    lines = ["model_name_or_path: embedded:tiny-qwen2", "bf16: false",
             'system_prompt: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    keys = [f"k{i}" for i in range(levels)]
    lines += [f"x{k}: &{k} [" + ",".join([f"*{p}"] * 9) + "]" for p, k in zip(["a", *keys], keys)]
    return "\n".join(lines) + "\n"


def test_a_1kb_alias_bomb_is_refused_at_read_time_in_milliseconds(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs())
    assert path.stat().st_size < 1024
    start = time.perf_counter()
    with pytest.raises(RecipeError, match=rf"aliases expand this recipe to [\d,]+ values, more than {MAX_RECIPE_NODES:,} "
                                          r"\(a YAML alias bomb\?\)"):
        read_recipe_file(path)
    assert time.perf_counter() - start < 0.5


def test_a_recursive_alias_and_a_deep_nest_are_refused(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(BASE + "issues: &i [gun_control, *i]\n")
    with pytest.raises(RecipeError, match="an alias refers to a node that contains it"):
        read_recipe_file(path)
    path.write_text(BASE + "issues: " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(RecipeError, match="nested too deeply"):
        read_recipe_file(path)


def test_modest_aliases_still_work(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(BASE + "issues: &i [gun_control]\nstudies: [study1]\nreward_funcs: &r [strict_accuracy, format]\n")
    assert load_recipe(path).script.issues == ["gun_control"]


def test_an_alias_bomb_in_an_override_is_refused():
    bomb = "[&b [" + ",".join(["x"] * 10) + "], " + ", ".join(["*b"] * 2000) + "]"      # 22,011 values from 8 KB
    with pytest.raises(RecipeError, match="override --issues: aliases expand this recipe to 22,012 values"):
        parse_overrides(["--issues", bomb])


def test_the_pipeline_never_snapshots_a_bomb_and_a_planted_snapshot_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("GRPO_NB_RUNS", str(tmp_path / "runs")); monkeypatch.setenv("GRPO_NB_REPORTS", str(tmp_path / "reports"))
    bomb = tmp_path / "bomb.yaml"; bomb.write_text(billion_laughs())
    for _ in range(2):                                      # the second invocation used to hang expanding the snapshot
        with contextlib.redirect_stderr(io.StringIO()) as err:
            assert main(["pipeline", "--recipe", str(bomb), "--name", "laughs"]) == 2
        assert "a YAML alias bomb?" in err.getvalue() and "Traceback" not in err.getvalue()
    assert not (tmp_path / "runs" / "laughs" / "config.yaml").exists()
    planted = tmp_path / "runs" / "planted" / "config.yaml"
    planted.parent.mkdir(parents=True); planted.write_text(billion_laughs())
    start = time.perf_counter()
    with pytest.raises(RecipeError, match="a YAML alias bomb"):
        load_recipe(planted)
    assert time.perf_counter() - start < 0.5


# ---------------------------------------------------------------- round 2, family 7: every field swept

def recipe_fields_with_choices():
    from grpo_nb.config import CONFIG_CLASSES, field_choices
    import dataclasses
    return [(part, f.name) for part, cls in CONFIG_CLASSES.items() for f in dataclasses.fields(cls)
            if f.init and field_choices(part, f.name)]


ROUND2_BAD = {   # recipe line -> the exact sentence of the error
    "dtype: float8": "dtype 'float8' is not a valid choice (did you mean 'float32'? choices: auto, bfloat16, float16, float32)",
    "logging_steps: -1": "logging_steps must be > 0 (a count of steps, or a fraction of the run below 1), got -1.0",
    "logging_steps: 0": "requires non-zero --logging_steps",   # TRL's own check, first
    "optim: adamw_tourch": "optim 'adamw_tourch' is not a valid choice (did you mean 'adamw_torch'?",
    "lr_scheduler_type: cosin": "lr_scheduler_type 'cosin' is not a valid choice (did you mean 'cosine'?",
    "eval_strategy: step": "eval_strategy 'step' is not a valid choice (did you mean 'steps'?",
    "loss_type: gpro": "loss_type 'gpro' is not a valid choice (did you mean 'grpo'?",
    "vllm_mode: colocated": "vllm_mode 'colocated' is not a valid choice (did you mean 'colocate'?",
    "scale_rewards: groups": "scale_rewards 'groups' is not a valid choice (did you mean 'group'?",
    "report_to: [wandb, tensorbord]": "report_to 'tensorbord' is not a valid choice (did you mean 'tensorboard'?",
    "bnb_4bit_quant_type: nf5": "bnb_4bit_quant_type 'nf5' is not a valid choice (did you mean 'nf4'?",
    "log_level: verbose": "log_level 'verbose' is not a valid choice",
    "option_fields: titles": "option_fields 'titles' is not a valid choice (did you mean 'title'?",
    "dataloader_num_workers: -1": "dataloader_num_workers must be >= 0, got -1",
    "warmup_steps: -0.1": "Got warmup_steps = -0.1, Expected value warmup_steps >= 0",   # transformers'
    "vllm_gpu_memory_utilization: 1.5": "vllm_gpu_memory_utilization must be in (0, 1], got 1.5",
    "vllm_server_port: 70000": "vllm_server_port must be a port in 1 .. 65535, got 70000",
    "adam_beta2: 1.0": "adam_beta2 must be in [0, 1), got 1.0",
    "delta: -1": "delta must be > 0 or null, got -1.0",
    "neftune_noise_alpha: -1": "neftune_noise_alpha must be >= 0 or null, got -1.0",
    "per_device_eval_batch_size: 0": "per_device_eval_batch_size must be at least 1, got 0",
    "eval_max_new_tokens: .nan": "recipe key 'eval_max_new_tokens' expects an integer, got nan",
    "max_title_chars: -1": "max_title_chars must be positive, got -1",
    "dataset_name: " + "d" * 5000: "dataset_name is 5,000 characters, more than 4,096",
    # family 9: unknown issues and studies name the nearest known one
    "issues: [abortion]": "issues 'abortion' is not a valid choice (choices: gun_control, minimum_wage)",
    "issues: ['Gun_Control ']": "issues 'Gun_Control ' is not a valid choice (did you mean 'gun_control'? choices: "
                                "gun_control, minimum_wage)",
    "issues: [gun_control, minimum_wag]": "issues 'minimum_wag' is not a valid choice (did you mean 'minimum_wage'?",
    "studies: [study4]": "studies 'study4' is not a valid choice (did you mean 'study3'? choices: study1, study2, study3)",
    "studies: Study2": "studies 'Study2' is not a valid choice (did you mean 'study2'?",
}


@pytest.mark.parametrize("line", list(ROUND2_BAD))
def test_round2_a_bad_value_is_a_recipe_error_naming_key_and_value(tmp_path, line):
    path = tmp_path / "r.yaml"
    path.write_text(BASE + line + "\n")
    start = time.perf_counter()
    with pytest.raises(RecipeError) as e:
        load_recipe(path)
    assert ROUND2_BAD[line] in str(e.value), str(e.value)
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize("part,key", recipe_fields_with_choices())
def test_every_field_with_choices_refuses_a_value_outside_them(part, key):
    with pytest.raises(RecipeError, match=rf"{key} 'not_a_choice_zz' is not a valid choice \(.*choices: "):
        load_recipe({"model_name_or_path": "embedded:tiny-qwen2", "bf16": False, key: "not_a_choice_zz"})


def test_every_count_like_number_refuses_a_negative_value():
    import dataclasses
    from grpo_nb.config import CONFIG_CLASSES, _field_types
    signed = {"local_rank", "entropy_coef", "entropy_coef_min", "entropy_coef_max"}   # -1 = unset / a signed coefficient
    accepted = []
    for part, cls in CONFIG_CLASSES.items():
        types = _field_types(cls)
        for f in dataclasses.fields(cls):
            if not f.init or f.name in signed or str(types[f.name]) not in ("<class 'int'>", "<class 'float'>",
                                                                           "int | None", "float | None"): continue
            try: load_recipe({"model_name_or_path": "x", "bf16": False, "use_peft": True, f.name: -5})
            except RecipeError as e: assert f.name in str(e), str(e)
            else: accepted.append(f.name)
    assert accepted == ["max_steps"] or accepted == [], accepted     # max_steps -5 is refused too; -1 is its "unset"


def test_a_20mb_system_prompt_is_refused_at_load_in_milliseconds(tmp_path):
    start = time.perf_counter()
    with pytest.raises(RecipeError, match="system_prompt is 20,000,000 characters, more than 20,000"):
        load_recipe("demo", {"system_prompt": "x" * 20_000_000})
    path = tmp_path / "r.yaml"; path.write_text(BASE + "system_prompt: " + "x" * 20_000_000 + "\n")
    with pytest.raises(RecipeError, match=r"is larger than 1,000,000 bytes \(a real recipe is about 2 KB\)"):
        load_recipe(path)
    assert time.perf_counter() - start < 2
    assert load_recipe("demo", {"system_prompt": "y" * 20_000}).script.system_prompt == "y" * 20_000   # the cap itself


def test_a_scale_rewards_bool_is_trls_spelling():
    assert load_recipe("demo", {"scale_rewards": True}).training.scale_rewards == "group"
    assert load_recipe("demo", {"scale_rewards": False}).training.scale_rewards == "none"


# ---------------------------------------------------------------- round 2, family 10: recipe size at read

def test_a_2_million_item_list_is_refused_in_milliseconds(tmp_path):
    import tracemalloc
    path = tmp_path / "big.yaml"
    path.write_text(BASE + "issues: [" + ",".join(["gun_control"] * 2_000_000) + "]\n")
    tracemalloc.start(); start = time.perf_counter()
    with pytest.raises(RecipeError, match=r"larger than 1,000,000 bytes"):
        load_recipe(path)
    elapsed, peak = time.perf_counter() - start, tracemalloc.get_traced_memory()[1]; tracemalloc.stop()
    assert elapsed < 0.5 and peak < 10_000_000, (elapsed, peak)


@pytest.mark.parametrize("body", ["issues: [" + ",".join(["a"] * 20_000) + "]",                 # one flat list, 60 KB
                                  "\n".join(f"k{i}: {i}" for i in range(12_000)),               # 12,000 keys
                                  "issues:\n" + "\n".join("  - a" for _ in range(15_000))])      # block list
def test_a_recipe_of_more_than_10000_values_is_refused_while_reading(tmp_path, body):
    path = tmp_path / "r.yaml"; path.write_text(BASE + body + "\n")
    start = time.perf_counter()
    with pytest.raises(RecipeError, match=rf"holds more than {MAX_RECIPE_NODES:,} values"):
        read_recipe_file(path)
    assert time.perf_counter() - start < 2      # ~0.2 s: parsing stops at the 10,001st value (2 cores shared)


def test_an_oversized_override_is_refused():
    with pytest.raises(RecipeError, match=r"override --issues: the text is 1,200,002 characters, more than 1,000,000"):
        parse_overrides(["--issues", "[" + "a," * 600_000 + "]"])
