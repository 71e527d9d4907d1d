"""Tests for grpo_nb.model: the tiny offline Qwen2 model, its tokenizer round trip, and the loading errors."""
import gzip
import json
import logging
import os
import unicodedata
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
from conftest import shared_folder
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import ModelConfig

from grpo_nb import model as M

EMBEDDED = "embedded:tiny-qwen2"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    "An empty GRPO_NB_CACHE for this module, restored afterwards."
    old = os.environ.get("GRPO_NB_CACHE")
    os.environ["GRPO_NB_CACHE"] = str(tmp_path_factory.mktemp("grpo_nb_cache"))
    yield Path(os.environ["GRPO_NB_CACHE"])
    if old is None: os.environ.pop("GRPO_NB_CACHE", None)
    else: os.environ["GRPO_NB_CACHE"] = old


@pytest.fixture(scope="module")
def texts():
    return M.example_prompt_texts(32)


@pytest.fixture(scope="module")
def built(cache, texts):
    "The embedded model, built once: (folder, tokenizer as built)."
    folder = M.ensure_embedded_model(M.embedded_model_dir("tiny-qwen2"), lambda: texts)
    return folder, M.build_tiny_tokenizer(texts)


def chat_of(tokenizer, text):
    messages = [{"role": "system", "content": "Answer with <think>…</think><answer>N</answer>."},
                {"role": "user", "content": text}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


# --- tokenizer -------------------------------------------------------------------------------------------------

def test_tokenizer_round_trip_through_auto_tokenizer(built, texts):
    folder, tok = built
    reloaded = AutoTokenizer.from_pretrained(folder)
    assert type(reloaded).__name__ == "Qwen2Tokenizer"
    samples = M.tokenizer_round_trip_samples() + texts[:5] + [chat_of(tok, texts[0])]
    assert M.tokenizer_mismatches(tok, reloaded, samples) == []
    assert chat_of(reloaded, texts[0]) == chat_of(tok, texts[0])
    for s in samples:
        ids = reloaded(s)["input_ids"]
        assert reloaded.decode(ids) == unicodedata.normalize("NFC", s)


def test_tokenizer_special_tokens_and_chat_words(built):
    _, tok = built
    assert (tok.pad_token, tok.eos_token, tok.padding_side) == ("<|endoftext|>", "<|im_end|>", "left")
    for w in M.CHAT_WORDS:
        assert len(tok(w, add_special_tokens=False)["input_ids"]) == 1, tok.tokenize(w)
    chat = chat_of(tok, "hi")
    assert chat.endswith("<|im_end|>\n<|im_start|>assistant\n")
    ids = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True)["input_ids"]
    assert ids.count(tok.convert_tokens_to_ids("<|im_start|>")) == 2


def test_tokenizer_built_on_real_prompts_round_trips(tmp_path, shared_data):
    "Train on the published prompts (real unicode, real lengths) and reload: identical ids on real chats."
    logs = sorted(shared_folder(shared_data, "reference-logs", "next_video").glob("*.predictions.jsonl.gz"))
    if not logs: pytest.skip(f"no reference predictions under {shared_data}")
    rows = []
    for path in logs[:2]:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            rows += [json.loads(line) for _, line in zip(range(150), f)]
    users = [next(m["content"] for m in r["messages"] if m["role"] == "user") for r in rows]
    tok = M.build_tiny_tokenizer(users)
    folder = M.save_tiny_model(M.build_tiny_model(tok), tok, tmp_path / "real-prompts")
    reloaded = AutoTokenizer.from_pretrained(folder)
    chats = [tok.apply_chat_template(r["messages"] + [{"role": "assistant", "content": r.get("gpt_output") or ""}],
                                     tokenize=False) for r in rows]
    assert M.tokenizer_mismatches(tok, reloaded, chats) == []


# --- model -------------------------------------------------------------------------------------------------------

def test_model_reload_gives_identical_logits(built, texts, tmp_path):
    _, tok = built
    model = M.build_tiny_model(tok, seed=7)
    folder = M.save_tiny_model(model, tok, tmp_path / "m")
    reloaded = AutoModelForCausalLM.from_pretrained(folder).eval()
    batch = tok(texts[:4], return_tensors="pt", padding=True)
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, reloaded(**batch).logits)


def test_build_is_seeded(built):
    _, tok = built
    a, b, c = (M.build_tiny_model(tok, seed=s) for s in (0, 0, 1))
    w = lambda m: m.model.embed_tokens.weight
    assert torch.equal(w(a), w(b)) and not torch.equal(w(a), w(c))


def test_left_padded_batch_matches_single_prompts(built, texts):
    folder, _ = built
    model, tok = M.load_model_and_tokenizer(ModelConfig(model_name_or_path=EMBEDDED), for_training=False)
    loud = M.build_tiny_model(tok, initializer_range=1.0, seed=5)   # varied outputs, so the check can fail
    prompts = [chat_of(tok, t) for t in ("Pick one.", texts[3], texts[9][:200])]
    assert len({len(tok(p)["input_ids"]) for p in prompts}) == 3
    batched = M.greedy_completions(loud, tok, prompts, max_new_tokens=12)
    alone = [M.greedy_completions(loud, tok, [p], max_new_tokens=12)[0] for p in prompts]
    assert batched == alone
    assert len({tuple(c) for c in alone}) > 1


# --- embedded model cache ------------------------------------------------------------------------------------

def test_ensure_embedded_model_builds_once_and_atomically(tmp_path, texts):
    calls = []
    def texts_fn():
        calls.append(1); return texts
    out = tmp_path / "models" / "tiny"
    assert M.ensure_embedded_model(out, texts_fn) == out
    assert M.ensure_embedded_model(out, texts_fn) == out
    assert len(calls) == 1
    assert json.loads((out / M.EMBEDDED_METADATA_FILE).read_text())["n_texts"] == len(texts)

    broken = tmp_path / "models" / "broken"
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        M.ensure_embedded_model(broken, lambda: ["ok", 5])
    assert not broken.exists()
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["tiny"]


def test_embedded_name_resolution(cache, built):
    assert M.resolve_model_path(EMBEDDED) == str(cache / "models" / "tiny-qwen2")
    with pytest.raises(ValueError, match="did you mean embedded:tiny-qwen2"):
        M.resolve_model_path("embedded:tiny-qwn2")


def test_embedded_model_not_built_without_texts(tmp_path):
    with pytest.raises(M.ModelNotAvailableError, match="not built yet"):
        M.ensure_embedded_model(tmp_path / "nothing", None)


# --- dtype, device, attention ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["bfloat16", "float16"])
def test_half_precision_on_cpu_falls_back_with_one_warning(name, caplog):
    with caplog.at_level(logging.WARNING, logger="grpo_nb.model"):
        assert M.resolve_torch_dtype(name, "cpu") == torch.float32
    msgs = [r.getMessage() for r in caplog.records if r.name == "grpo_nb.model"]
    assert len(msgs) == 1 and name in msgs[0] and "\n" not in msgs[0]


@pytest.mark.parametrize("name", ["float32", "auto", None])
def test_full_precision_on_cpu_is_silent(name, caplog):
    with caplog.at_level(logging.WARNING, logger="grpo_nb.model"):
        assert M.resolve_torch_dtype(name, "cpu") == torch.float32
    assert not caplog.records


def test_unknown_dtype_suggests():
    with pytest.raises(ValueError, match="bfloat16"):
        M.resolve_torch_dtype("bfloat", "cpu")


def test_flash_attention_falls_back_to_sdpa_on_cpu(caplog):
    with caplog.at_level(logging.WARNING, logger="grpo_nb.model"):
        assert M.resolve_attn_implementation("flash_attention_2", "cpu") == "sdpa"
    assert "flash_attention_2" in caplog.text
    assert M.resolve_attn_implementation(None, "cpu") == "sdpa"


def test_pick_device_matches_cuda_availability():
    assert M.pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_load_model_applies_fallbacks(built, caplog):
    args = ModelConfig(model_name_or_path=EMBEDDED, dtype="bfloat16", attn_implementation="flash_attention_2")
    with caplog.at_level(logging.WARNING, logger="grpo_nb.model"):
        model = M.load_model(args, for_training=False)
    if not torch.cuda.is_available():
        assert model.dtype == torch.float32 and model.config._attn_implementation == "sdpa"
        assert "bfloat16" in caplog.text and "flash_attention_2" in caplog.text
    assert not model.training


# --- errors ----------------------------------------------------------------------------------------------------

def test_offline_hub_id_error_names_id_and_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(M.ModelNotAvailableError) as e:
        M.load_model_and_tokenizer(ModelConfig(model_name_or_path="Qwen/Qwen2.5-1.5B-Instruct-not-in-cache"))
    msg = str(e.value)
    assert "'Qwen/Qwen2.5-1.5B-Instruct-not-in-cache'" in msg and "model_name_or_path: /path/to/folder" in msg
    assert e.value.__traceback__ is not None and e.value.__cause__ is None


def test_missing_local_folder_is_a_clear_error(tmp_path):
    (tmp_path / "qwen-1.5b").mkdir()
    with pytest.raises(M.ModelNotAvailableError, match="does not exist.*qwen-1.5b"):
        M.load_model(ModelConfig(model_name_or_path=str(tmp_path / "qwen-15b")))
    with pytest.raises(M.ModelNotAvailableError, match="has no config.json"):
        M.load_model(ModelConfig(model_name_or_path=str(tmp_path / "qwen-1.5b")))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU error")
@pytest.mark.parametrize("flag", ["load_in_4bit", "load_in_8bit"])
def test_quantisation_on_cpu_is_a_clear_error(flag, built):
    args = ModelConfig(model_name_or_path=EMBEDDED, use_peft=True, **{flag: True})
    with pytest.raises(M.QuantizationUnavailableError, match="needs a CUDA GPU and the bitsandbytes package"):
        M.load_model(args)


def test_tokenizer_gets_a_pad_token(built, tmp_path, texts):
    _, tok = built
    bare = M.build_tiny_tokenizer(texts)
    bare.pad_token = None
    folder = M.save_tiny_model(M.build_tiny_model(tok), bare, tmp_path / "nopad")
    loaded = M.load_tokenizer(folder)
    assert loaded.pad_token == loaded.eos_token == "<|im_end|>" and loaded.padding_side == "left"


# --- LoRA ------------------------------------------------------------------------------------------------------

def test_lora_config_only_with_use_peft():
    assert M.lora_config_from(ModelConfig(model_name_or_path="x")) is None
    cfg = M.lora_config_from(ModelConfig(model_name_or_path="x", use_peft=True, lora_r=8, lora_alpha=16))
    assert (cfg.r, cfg.lora_alpha) == (8, 16)


def test_lora_trains_only_adapters(built, texts):
    from peft import get_peft_model
    args = ModelConfig(model_name_or_path=EMBEDDED, use_peft=True, lora_r=4, lora_alpha=8, lora_dropout=0.0)
    model, tok = M.load_model_and_tokenizer(args)
    full = M.model_summary(model)
    peft_model = get_peft_model(model, M.lora_config_from(args))
    summary = M.model_summary(peft_model)
    names = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n for n in names)
    assert 0 < summary["trainable"] < 0.1 * full["parameters"]
    assert summary["parameters"] == full["parameters"] + summary["trainable"]
    assert (summary["dtype"], summary["device"], summary["peft"]) == ("float32", "cpu", True)


def test_tokenizer_without_chat_template_warns(built, tmp_path, texts, caplog):
    _, tok = built
    plain = M.build_tiny_tokenizer(texts)
    plain.chat_template = None
    folder = M.save_tiny_model(M.build_tiny_model(tok), plain, tmp_path / "plain")
    (folder / "chat_template.jinja").unlink(missing_ok=True)
    with caplog.at_level(logging.WARNING, logger="grpo_nb.model"):
        M.load_tokenizer(folder)
    assert "no chat template" in caplog.text


def test_torch_threads_follow_the_affinity_mask_and_omp_num_threads():
    """Issue 13: one thread per core this process may use (not per core of the machine), OMP_NUM_THREADS when set."""
    import subprocess, sys
    if not hasattr(os, "sched_setaffinity"): pytest.skip("no CPU affinity here")
    code = ("import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
            "from grpo_nb.model import configure_torch_threads; print(configure_torch_threads())")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "LOCAL_WORLD_SIZE")}
    one_core = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert one_core.stdout.strip() == "1", one_core.stderr[-2000:]
    told = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_NUM_THREADS": "2"}, capture_output=True,
                          text=True, timeout=120)
    assert told.stdout.strip() == "2", told.stderr[-2000:]


def test_uncached_hub_id_without_network_fails_at_once(monkeypatch):
    "No network and not cached: ModelNotCachedError at once (not after the loaders' retries), naming the fix."
    import time
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")          # nothing listens on the discard port
    started = time.monotonic()
    with pytest.raises(M.ModelNotCachedError) as e:
        M.load_model_and_tokenizer(ModelConfig(model_name_or_path="Qwen/Qwen2.5-1.5B-Instruct-not-in-cache"))
    assert time.monotonic() - started < 5
    msg = str(e.value)
    assert msg.startswith("model 'Qwen/Qwen2.5-1.5B-Instruct-not-in-cache' is not in the local Hugging Face cache and "
                          "the hub cannot be reached (127.0.0.1:9: Connection refused)")
    assert "set HF_HUB_OFFLINE=1" in msg and "model_name_or_path: /path/to/folder" in msg
    assert isinstance(e.value, M.ModelNotAvailableError)


def test_offline_error_is_model_not_cached(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(M.ModelNotCachedError, match="not in the local Hugging Face cache and HF_HUB_OFFLINE=1 is set"):
        M.resolve_model_path("Qwen/Qwen2.5-1.5B-Instruct-not-in-cache")
