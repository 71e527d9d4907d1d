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
