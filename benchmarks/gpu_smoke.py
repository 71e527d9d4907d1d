"""GPU readiness: the gun recipe's training code path on a randomly initialised model of Qwen2.5-1.5B's shape.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/gpu_smoke.py [--steps 3] [--lora] [--compare-vllm]
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/gpu_smoke.py --tiny          # the same path on CPU, in CI

No hub is needed. The model is `Qwen2ForCausalLM` with Qwen2.5-1.5B-Instruct's shape (hidden 1536, 28 layers,
12 attention heads, 2 KV heads, intermediate 8960, vocabulary 151,936, tied embeddings, rope theta 1e6), seeded
random weights, saved in bf16 with a tokenizer built locally (`grpo_nb.model.build_tiny_tokenizer` on the embedded
prompts; its ids are a subset of the model's vocabulary, as Qwen's own tokenizer is). The data is generated slates
(`dataset_name: embedded`). The recipe is `recipes/gun.yaml` as it is — rewards, weights, `num_generations`,
batch, gradient accumulation, bf16, activation checkpointing, vLLM colocate with fallback to transformers, beta,
loss type, completion length, temperature — with only these overrides: the model folder, the data, `max_steps`,
no saving or evaluation during training, and the output folder. `--lora` adds `use_peft: true`.
`--grad-accum N` shrinks the gun's 16 accumulation steps when a quick look is enough.

`--tiny` runs the same code path on CPU with a small shape (hidden 64, 2 layers) and float32 (no bf16 on CPU),
4 accumulation steps and 32-token completions, so CI proves the path runs. Each side runs in its own fresh
process. Prints seconds per step (the median after the first step, which includes compilation and warm-up),
generated tokens per second, peak GPU memory (or peak RSS on CPU), and with `--compare-vllm` the ratio
transformers / vLLM colocate seconds per step, LAST (`ratio vllm_colocate_speedup: N.NNx`).

Anchors to compare with on a GPU: TRL reports vLLM colocate 1.43x faster than server mode at 1.5B; Unsloth
trains Qwen2.5-1.5B GRPO with LoRA in 5-7 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

QWEN25_15B_SHAPE = dict(hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                        intermediate_size=8960, vocab_size=151_936, max_position_embeddings=32_768,
                        rope_theta=1_000_000.0, rms_norm_eps=1e-6, tie_word_embeddings=True)
TINY_SHAPE = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  intermediate_size=192, vocab_size=None, max_position_embeddings=4096,
                  rope_theta=1_000_000.0, rms_norm_eps=1e-6, tie_word_embeddings=True)


def build_model_folder(folder: Path, shape: dict, dtype: str, seed: int = 0) -> Path:
    "A seeded random-init Qwen2 model of `shape` with a locally built tokenizer, saved into `folder`."
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM
    from grpo_nb.model import ENDOFTEXT, IM_END, build_tiny_tokenizer, save_tiny_model
    from grpo_nb.prepare import embedded_tokenizer_texts
    tokenizer = build_tiny_tokenizer(embedded_tokenizer_texts(), vocab_size=4096,
                                     model_max_length=shape["max_position_embeddings"])
    eos, pad = tokenizer.convert_tokens_to_ids(IM_END), tokenizer.convert_tokens_to_ids(ENDOFTEXT)
    config = Qwen2Config(**{**shape, "vocab_size": shape["vocab_size"] or len(tokenizer)},
                         bos_token_id=pad, eos_token_id=eos, pad_token_id=pad, torch_dtype=dtype)
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).to(getattr(torch, dtype))
    model.generation_config = GenerationConfig(bos_token_id=pad, eos_token_id=[eos, pad], pad_token_id=pad)
    return save_tiny_model(model, tokenizer, folder)


class StepTimer:
    "Wall time of every optimizer step (a `TrainerCallback`, built lazily so that importing this file is cheap)."
    @staticmethod
    def make():
        from transformers import TrainerCallback
        class _Timer(TrainerCallback):
            def __init__(self): self.starts, self.seconds = {}, []
            def on_step_begin(self, args, state, control, **kw): self.starts[state.global_step] = time.perf_counter()
            def on_step_end(self, args, state, control, **kw):
                self.seconds.append(time.perf_counter() - self.starts[state.global_step - 1])
        return _Timer()


def run_side(args, use_vllm: bool) -> dict:
    "Train `--steps` steps of the gun recipe on the random model in this process; the figures as a dict."
    import torch
    from grpo_nb.config import load_recipe
    from grpo_nb.train import read_log_history, train
    gpu = torch.cuda.is_available()
    if not gpu and not args.tiny: raise SystemExit("no GPU here: run with --tiny for the CPU check")
    work = Path(args.work or tempfile.mkdtemp(prefix="gpu_smoke_"))
    dtype = "float32" if args.tiny else "bfloat16"
    folder = work / ("model-tiny" if args.tiny else "model-qwen2.5-1.5b-shape")
    if not (folder / "config.json").is_file(): build_model_folder(folder, TINY_SHAPE if args.tiny else QWEN25_15B_SHAPE, dtype)
    overrides = {"model_name_or_path": str(folder), "dtype": dtype, "dataset_name": "embedded",
                 "embedded_participants": args.participants, "max_steps": args.steps, "do_eval": False,
                 "eval_strategy": "no", "save_strategy": "no", "report_to": ["none"], "logging_steps": 1,
                 "log_completions": False, "output_dir": str(work / f"train-{'vllm' if use_vllm else 'hf'}"),
                 "overwrite": True, "use_vllm": use_vllm, "use_peft": args.lora}
    if args.tiny: overrides.update(bf16=False, max_completion_length=32, gradient_accumulation_steps=4)
    if args.grad_accum: overrides["gradient_accumulation_steps"] = args.grad_accum
    cfg = load_recipe("gun", overrides=overrides, hardware_checks=gpu)
    timer = StepTimer.make()
    if gpu: torch.cuda.reset_peak_memory_stats()
    summary = train(cfg, callbacks=[timer])
    entries = [e for e in read_log_history(Path(cfg.training.output_dir) / "log_history.jsonl") if "loss" in e]
    t = cfg.training
    completions_per_step = t.per_device_train_batch_size * t.gradient_accumulation_steps * max(1, summary["world_size"])
    lengths = [e.get("completions/mean_length") for e in entries if e.get("completions/mean_length") is not None]
    steady = timer.seconds[1:] or timer.seconds
    step_s = statistics.median(steady)
    return {"backend": summary["generation"], "steps": len(timer.seconds), "seconds_per_step": round(step_s, 3),
            "first_step_s": round(timer.seconds[0], 3) if timer.seconds else None,
            "completions_per_step": completions_per_step,
            "mean_completion_tokens": round(statistics.mean(lengths), 1) if lengths else None,
            "generated_tokens_per_s": round(statistics.mean(lengths) * completions_per_step / step_s, 1) if lengths else None,
            "peak_gpu_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if gpu else None,
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "device": torch.cuda.get_device_name(0) if gpu else "cpu", "model_shape": "tiny" if args.tiny else "qwen2.5-1.5b",
            "lora": args.lora, "bf16": bool(t.bf16), "activation_checkpointing": bool(t.gradient_checkpointing),
            "rewards": list(cfg.script.reward_funcs), "final_reward": (entries[-1].get("reward") if entries else None)}


def side_in_fresh_process(argv: list[str], use_vllm: bool) -> dict:
    "Run one side in a fresh Python process (vLLM and CUDA state do not leak between sides)."
    cmd = [sys.executable, __file__, *argv, "--side", "vllm" if use_vllm else "transformers"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    sys.stderr.write(proc.stderr[-4000:])
    if proc.returncode: raise SystemExit(f"side {'vllm' if use_vllm else 'transformers'} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def describe(r: dict) -> str:
    mem = f"peak GPU memory {r['peak_gpu_mem_gib']} GiB" if r["peak_gpu_mem_gib"] is not None else f"peak RSS {r['peak_rss_mib']} MiB"
    return (f"{r['backend']:>12}: {r['seconds_per_step']} s/step (first step {r['first_step_s']} s), "
            f"{r['generated_tokens_per_s']} generated tokens/s ({r['completions_per_step']} completions/step, "
            f"{r['mean_completion_tokens']} tokens each), {mem}; {r['device']}, shape {r['model_shape']}, "
            f"bf16 {r['bf16']}, activation checkpointing {r['activation_checkpointing']}, LoRA {r['lora']}, "
            f"rewards {','.join(r['rewards'])}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tiny", action="store_true", help="small shape on CPU (what CI runs)")
    p.add_argument("--steps", type=int, default=3, help="optimizer steps per side (the first one is warm-up)")
    p.add_argument("--lora", action="store_true", help="train LoRA adapters (use_peft: true)")
    p.add_argument("--compare-vllm", action="store_true", help="run vLLM colocate and transformers side by side")
    p.add_argument("--grad-accum", type=int, default=None, help="override the gun's gradient_accumulation_steps")
    p.add_argument("--participants", type=int, default=120, help="generated participants (embedded data)")
    p.add_argument("--work", default=None, help="folder for the model and outputs (default: a new temp folder)")
    p.add_argument("--side", choices=["vllm", "transformers"], default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.side:   # one side, in this process: print its figures as the last line
        print(json.dumps(run_side(args, use_vllm=args.side == "vllm")))
        return
    if args.work is None: args.work = tempfile.mkdtemp(prefix="gpu_smoke_")
    passthrough = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--compare-vllm"]
    passthrough += ["--work", args.work] if "--work" not in passthrough else []
    if args.compare_vllm:
        hf = side_in_fresh_process(passthrough, use_vllm=False)
        colocate = side_in_fresh_process(passthrough, use_vllm=True)
        print(describe(hf)); print(describe(colocate))
        if colocate["backend"] != "vllm": print("vLLM is not installed or has no GPU here: both sides used transformers")
        print(f"ratio vllm_colocate_speedup: {hf['seconds_per_step'] / colocate['seconds_per_step']:.2f}x")
    else:
        r = side_in_fresh_process(passthrough, use_vllm=not args.tiny)
        print(describe(r))
        print(f"seconds per step: {r['seconds_per_step']}")


if __name__ == "__main__":
    main()
