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
    ("option_order", "random", r"option_order 'random' is not a valid choice \(choices: as_logged, shuffle\)"),
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


# ---------------------------------------------------------------- issue 12: TRL's shape, choices on the fields, fast start

def test_script_arguments_extend_trls_and_keep_grpo_nbs_defaults():
    import trl
    from grpo_nb.config import ScriptArguments
    assert issubclass(ScriptArguments, trl.ScriptArguments)
    s = load_recipe("demo").script
    assert (s.dataset_name, s.dataset_train_split, s.dataset_test_split) == ("embedded", "train", "validation")


@pytest.mark.parametrize("key,value,reason", [
    ("dataset_config", "plain_text", "grpo_nb loads a hub dataset's default configuration"),
    ("dataset_streaming", True, "grpo_nb reads each source once"),
    ("ignore_bias_buffers", True, "grpo_nb's training does not apply TRL's DDP bias-buffer workaround")])
def test_a_trl_key_grpo_nb_does_not_honour_is_refused_unless_default(key, value, reason):
    from grpo_nb.config import ScriptArguments, fixed_keys
    default = ScriptArguments.__dataclass_fields__[key].default
    with pytest.raises(RecipeError) as e:
        load_recipe("demo", {key: value})
    assert f"{key} {value!r} is not supported: {reason}" in str(e.value)
    assert f"only its default ({default!r}) is accepted" in str(e.value)
    assert getattr(load_recipe("demo", {key: default}).script, key) == default
    assert reason in fixed_keys()[key]


def test_config_keys_marks_the_keys_accepted_only_at_their_default(capsys):
    from grpo_nb.cli import main
    assert main(["config", "--keys"]) == 0
    lines = dict(line.split("\t", 1) for line in capsys.readouterr().out.splitlines())
    assert lines["dataset_streaming"].startswith("script\tdefault only: ")
    assert lines["learning_rate"] == "training" and lines["option_order"] == "script"


def test_choices_live_on_the_fields_and_match_the_data_module():
    import dataclasses
    from grpo_nb import data
    from grpo_nb.config import ScriptArguments, field_choices
    meta = {f.name: f.metadata for f in dataclasses.fields(ScriptArguments)}
    assert meta["option_order"]["choices"] == ("as_logged", "shuffle") and "help" in meta["option_order"]
    assert field_choices("script", "issues") == tuple(data.KNOWN_ISSUES)
    assert field_choices("script", "studies") == tuple(data.KNOWN_STUDIES)
    assert field_choices("training", "loss_type")[0] == "grpo"         # a TRL field, its choices attached by grpo_nb
    import trl
    assert "choices" not in {f.name: f for f in dataclasses.fields(trl.GRPOConfig)}["loss_type"].metadata


def test_problems_of_all_three_objects_are_listed_at_once():
    with pytest.raises(RecipeError) as e:
        load_recipe({"model_name_or_path": "x", "bf16": False, "option_order": "random", "load_in_4bit": True,
                     "load_in_8bit": True, "temperature": 0})
    assert [p.split(" ")[0] for p in e.value.problems] == ["option_order", "load_in_4bit", "temperature"]
    assert str(e.value).startswith("recipe <dict>: option_order 'random' is not a valid choice")


def test_the_training_config_pickles_like_a_top_level_class():
    import pickle
    from grpo_nb.config import GRPOTrainingConfig
    cfg = load_recipe("demo")
    again = pickle.loads(pickle.dumps(cfg.training))
    assert type(again) is GRPOTrainingConfig is type(cfg.training) and again.max_steps == cfg.training.max_steps


def _timed(*args):
    import subprocess, sys, time
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120)
    return proc, time.perf_counter() - start


def test_importing_config_and_cli_loads_neither_torch_nor_trls_trainer():
    proc, _ = _timed("-c", "import grpo_nb.config, grpo_nb.cli, sys; "
                           "print(sorted(m for m in ('torch', 'transformers', 'trl.trainer.grpo_config') if m in sys.modules))")
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_a_misspelt_recipe_and_help_answer_within_two_seconds():
    proc, seconds = _timed("-m", "grpo_nb", "config", "--recipe", "demoo")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("grpo-nb config: error: no recipe 'demoo' (looked in ")
    assert "Did you mean 'demo'?" in proc.stderr and seconds < 2, (seconds, proc.stderr)
    for args in (["--help"], ["report", "--help"]):
        proc, seconds = _timed("-m", "grpo_nb", *args)
        assert proc.returncode == 0 and "usage: grpo-nb" in proc.stdout and seconds < 2, (args, seconds)
