"""Family 4 (issue 11): evaluating the wrong model silently. A folder that claims a finished training run
(train_results.json) but whose weights are gone or partial is refused by model loading with a named error — the
pipeline, `grpo-nb evaluate` and vLLM's path all load through `grpo_nb.model.resolve_model_path` — never replaced by
the base model."""
import contextlib
import io
import json
import os
import re
import shutil
from pathlib import Path

import pytest
from trl import ModelConfig

from grpo_nb import model as M
from grpo_nb.cli import main


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    "A folder as `train` leaves it: config, weights, tokenizer and train_results.json."
    folder = tmp_path_factory.mktemp("trained") / "train"
    texts = M.example_prompt_texts(16)
    tok = M.build_tiny_tokenizer(texts)
    M.save_tiny_model(M.build_tiny_model(tok), tok, folder)
    (folder / "train_results.json").write_text(json.dumps({"global_step": 2}))
    return folder


def damaged(trained: Path, tmp_path: Path, how) -> Path:
    folder = tmp_path / "train"
    shutil.copytree(trained, folder)
    how(folder)
    return folder


def cut_half(path: Path):
    data = path.read_bytes(); path.write_bytes(data[:len(data) // 2])


CASES = {
    "weights deleted": (lambda f: (f / "model.safetensors").unlink(),
                        "has train_results.json but no model weights (model.safetensors). The trained model is gone"),
    "weights cut in half": (lambda f: cut_half(f / "model.safetensors"),
                            "has train_results.json but model.safetensors is truncated ("),
    "weights emptied": (lambda f: (f / "model.safetensors").write_bytes(b""),
                        "has train_results.json but model.safetensors is truncated (0 bytes)"),
    "header overwritten": (lambda f: (f / "model.safetensors").write_bytes(b"\x00" * 8 + b"garbage"),
                           "has train_results.json but model.safetensors has a torn header (not valid JSON)"),
    "config and weights gone": (lambda f: [(f / n).unlink() for n in ("config.json", "model.safetensors")],
                                "has train_results.json but no config.json (nor adapter_config.json)"),
    "a shard missing": (lambda f: [(f / "model.safetensors").rename(f / "model-00001-of-00002.safetensors"),
                                   (f / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
                                       "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}))],
                        "has train_results.json but a missing weight shard model-00002-of-00002.safetensors"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_partial_trained_model_is_refused_by_name(trained, tmp_path, case):
    how, message = CASES[case]
    folder = damaged(trained, tmp_path, how)
    with pytest.raises(M.ModelNotAvailableError) as e:
        M.load_model_and_tokenizer(ModelConfig(model_name_or_path=str(folder)), for_training=False)
    assert str(e.value).startswith(f"{folder} "), str(e.value)
    assert message in str(e.value)


def test_the_whole_trained_model_still_loads(trained):
    model, tokenizer = M.load_model_and_tokenizer(ModelConfig(model_name_or_path=str(trained)), for_training=False)
    assert model.config.model_type == "qwen2" and M.model_folder_problem(trained) is None


def test_a_model_folder_without_a_training_marker_is_named_too(trained, tmp_path):
    folder = damaged(trained, tmp_path, lambda f: [(f / "train_results.json").unlink(), (f / "model.safetensors").unlink()])
    with pytest.raises(M.ModelNotAvailableError, match=r"model folder '.*' has no model weights \(model.safetensors\)\.$"):
        M.resolve_model_path(folder)


def test_grpo_nb_evaluate_on_a_run_without_weights_exits_2_with_one_line(trained, tmp_path, monkeypatch):
    monkeypatch.setenv("GRPO_NB_CACHE", str(tmp_path / "cache"))
    folder = damaged(trained, tmp_path, lambda f: (f / "model.safetensors").unlink())
    with contextlib.redirect_stderr(io.StringIO()) as err:
        rc = main(["evaluate", "--recipe", "demo", "--model", str(folder), "--out", str(tmp_path / "eval")])
    assert rc == 2
    assert err.getvalue().strip().splitlines()[-1] == (
        f"grpo-nb evaluate: error: {folder} has train_results.json but no model weights (model.safetensors). The trained "
        "model is gone or partial: restore it, or train again (remove the run's train folder).")
    assert not (tmp_path / "eval" / "next_video" / "predictions.jsonl").exists()   # nothing was scored


# --- round 2: a folder without its tokenizer, a config.json that does not fit the weights ---------------------------
TOKENIZER_CASES = {
    "every tokenizer file gone": (("tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
                                   "special_tokens_map.json"), "has no tokenizer files (tokenizer.json, or vocab.json"),
    "tokenizer.json gone, its config kept": (("tokenizer.json",),
                                             "has no tokenizer files (tokenizer.json, or vocab.json"),
}


@pytest.mark.parametrize("case", list(TOKENIZER_CASES))
def test_a_model_folder_without_its_tokenizer_is_refused_by_name(trained, tmp_path, case):
    """Before: a 3-token fallback tokenizer, every prompt scored as nonsense, exit 0."""
    gone, message = TOKENIZER_CASES[case]
    folder = damaged(trained, tmp_path, lambda f: [(f / n).unlink(missing_ok=True) for n in gone])
    with pytest.raises(M.ModelNotAvailableError) as e:
        M.load_model_and_tokenizer(ModelConfig(model_name_or_path=str(folder)), for_training=False)
    assert str(e.value).startswith(f"model folder {str(folder)!r} {message}"), str(e.value)
    assert "tokenizer.save_pretrained(folder)" in str(e.value)


def test_a_torn_tokenizer_json_is_named_too(trained, tmp_path):
    folder = damaged(trained, tmp_path, lambda f: (f / "tokenizer.json").write_text('{"version": "1.0", "trunc'))
    with pytest.raises(M.ModelNotAvailableError, match=rf"the tokenizer files in {folder} cannot be loaded"):
        M.load_tokenizer(folder)


def test_the_embedded_default_still_builds_and_loads_its_tokenizer(tmp_path, monkeypatch):
    monkeypatch.setenv("GRPO_NB_CACHE", str(tmp_path / "cache"))
    tokenizer = M.load_tokenizer("embedded:tiny-qwen2", texts_fn=lambda: M.example_prompt_texts(8))
    assert len(tokenizer) >= M.MIN_TOKENIZER_TOKENS and tokenizer.chat_template


def with_config(**changes):
    def how(folder):
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, **{k: v(config) for k, v in changes.items()}}))
    return how


CONFIG_CASES = {
    "another hidden size": (with_config(hidden_size=lambda c: 2 * c["hidden_size"]),
                            r"\d+ tensors have other shapes \(.* is \[\d+(, \d+)*\] in the weights "
                            r"but \[\d+(, \d+)*\] by the config"),
    "more layers than saved": (with_config(num_hidden_layers=lambda c: c["num_hidden_layers"] + 1,
                                           layer_types=lambda c: ["full_attention"] * (c["num_hidden_layers"] + 1)),
                               r"\d+ tensors the config needs are not in the weights \(model\.layers\.2\."
                               r".*they would be random"),
    "a config that fails its own checks": (with_config(num_hidden_layers=lambda c: c["num_hidden_layers"] + 2),
                                           r"num_hidden_layers"),
    "a larger vocabulary": (with_config(vocab_size=lambda c: c["vocab_size"] + 64), r"tensors have other shapes"),
}


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_a_config_that_does_not_match_the_weights_is_a_named_error(trained, tmp_path, case):
    how, detail = CONFIG_CASES[case]
    folder = damaged(trained, tmp_path, how)
    with pytest.raises(M.WeightsMismatchError) as e:
        M.load_model(ModelConfig(model_name_or_path=str(folder)), for_training=False)
    message = str(e.value)
    assert message.startswith(f"weights in {folder} do not match its config.json: "), message
    assert re.search(detail, message), message
    assert isinstance(e.value, M.ModelNotAvailableError)                        # a user error for the CLI (exit 2)


@pytest.mark.parametrize("damage,line", [
    (lambda f: [(f / n).unlink(missing_ok=True) for n in ("tokenizer.json", "tokenizer_config.json")],
     "has no tokenizer files"),
    (with_config(hidden_size=lambda c: 2 * c["hidden_size"]), "do not match its config.json: "),
], ids=["no-tokenizer", "config-mismatch"])
def test_grpo_nb_evaluate_on_such_a_folder_exits_2_with_one_line_and_scores_nothing(trained, tmp_path, monkeypatch,
                                                                                     damage, line):
    monkeypatch.setenv("GRPO_NB_CACHE", str(tmp_path / "cache"))
    folder = damaged(trained, tmp_path, damage)
    with contextlib.redirect_stderr(io.StringIO()) as err:
        rc = main(["evaluate", "--recipe", "demo", "--model", str(folder), "--out", str(tmp_path / "eval"),
                   "--max_eval_samples", "4"])
    last = err.getvalue().strip().splitlines()[-1]
    assert rc == 2 and last.startswith("grpo-nb evaluate: error: ") and line in last, err.getvalue()[-2000:]
    assert "Traceback" not in err.getvalue()
    assert not (tmp_path / "eval" / "next_video" / "predictions.jsonl").exists()
    assert not (tmp_path / "eval" / ".lock").exists()                          # the lock was released
