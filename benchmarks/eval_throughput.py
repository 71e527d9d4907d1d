"""Throughput of next-video generation: the demo model on the demo prompts, one at a time vs in batches.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/eval_throughput.py [--prompts demo|full|short] [--n 64]
        [--batch-size 64] [--max-new-tokens 256] [--threads N]

The model is the demo recipe's: the embedded tiny Qwen2 (`embedded:tiny-qwen2`, loaded with
`grpo_nb.model.load_model_and_tokenizer(cfg.model, texts_fn=grpo_nb.prepare.embedded_tokenizer_texts)`). The prompts
(`--prompts`) are the chat prompts of the first `--n` prepared examples of
* `demo` (default): the demo recipe's validation split, `prepare_split(load_recipe("demo"), "validation")` - short
  prompts (two history items, option titles, a one-line system prompt; ~225 tokens);
* `full`: the embedded data with `prepare_examples`' default prompt options (~550 tokens; this benchmark's default
  before the demo recipe shortened its prompts);
* `short`: `full` cut to the viewer line and the OPTIONS block, with a one-line system prompt.
Both runs generate with `grpo_nb.next_video.generate_completions`, greedy; every prompt generates exactly
`--max-new-tokens` tokens in both runs (`min_new_tokens`), so both runs do the same work; 256 is
`generate_completions`' default budget (published completions run to 100-200 tokens; the demo recipe's own
evaluation stops at 24). Each mode runs in its own fresh process (so each peak-RSS figure is its own), after a
warm-up. Prints both times, peak memory, whether both runs gave the same completions, and the ratio LAST.

The one-at-a-time side is `model.generate` per prompt (`generate_completions` keeps it for a batch of one: the
predecessor's way); the batched side is `generate_completions`' own decode loop for greedy batches
(`grpo_nb.generation.greedy_decode`, with a preallocated KV cache), the path `evaluate` takes.

What bounds the ratio on a CPU: one-at-a-time decoding costs ~1 ms of fixed Python/dispatch overhead per
token, which batching shares; but the tiny model (hidden size 64) is so narrow that attention over the prompt
and the cache dominates the batched step (about a third of it), and that grows with batch x length. Shorter
prompts and more new tokens give a higher ratio; on a GPU with a real model the gain is far larger.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import torch

from grpo_nb.config import load_recipe
from grpo_nb.data import clean_rows
from grpo_nb.model import load_model_and_tokenizer, resolve_model_path
from grpo_nb.generation import _greedy_or_sampling_config, greedy_decode_unsupported
from grpo_nb.next_video import generate_completions
from grpo_nb.prepare import embedded_tokenizer_texts, prepare_split
from grpo_nb.prompts import prepare_examples
from grpo_nb.synthetic import generate_rows

RECIPE = "demo"


def demo_prompts(n: int, kind: str = "demo") -> list[list[dict]]:
    "The chat prompts of the first `n` examples: the demo recipe's validation split, or the embedded data in `full` / `short`."
    if kind == "demo":
        examples, _ = prepare_split(load_recipe(RECIPE), "validation")
        source = f"the {RECIPE} recipe's validation split"
    else:
        rows, _ = clean_rows(generate_rows(n_participants=max(20, n), seed=0))
        examples, source = prepare_examples(rows), "the embedded data"
    if len(examples) < n: raise SystemExit(f"{source} gave {len(examples)} examples, fewer than --n {n}")
    prompts = [e["prompt"] for e in examples[:n]]
    if kind == "short": prompts = [_short(p) for p in prompts]
    return prompts


def _short(prompt: list[dict]) -> list[dict]:
    user = prompt[-1]["content"]
    short_user = user.splitlines()[0] + "\n\n" + user[user.index("OPTIONS"):]
    return [{"role": "system", "content": "Answer <think>…</think><answer>N</answer>."}, {"role": "user", "content": short_user}]


def _rss_mib() -> float:
    "Peak resident memory of this process so far, MiB (Linux reports KiB)."
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load_1min() -> str:
    "The 1-minute load average (`/proc/loadavg`), or '?' where there is none."
    try: return open("/proc/loadavg").read().split()[0]
    except OSError: return "?"


def run_mode(mode: str, kind: str, n: int, batch_size: int, max_new_tokens: int, threads: int | None) -> dict:
    "In a fresh process: build the prompts, load the demo model, warm up, time one mode; its completions, seconds, memory."
    import transformers
    transformers.utils.logging.disable_progress_bar()
    if threads: os.environ["OMP_NUM_THREADS"] = str(threads)     # so that loading the model keeps the count
    prompts = demo_prompts(n, kind)
    model, tokenizer = load_model_and_tokenizer(load_recipe(RECIPE).model, for_training=False, texts_fn=embedded_tokenizer_texts)
    if threads: torch.set_num_threads(threads)                   # (whatever loading chose)
    kw = dict(max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens, progress=False)
    generate_completions(model, tokenizer, prompts[:2], batch_size=2, **kw)          # warm-up
    rss_before = _rss_mib()
    start = time.perf_counter()
    if mode == "single": out = [generate_completions(model, tokenizer, [p], batch_size=1, **kw)[0] for p in prompts]
    else: out = generate_completions(model, tokenizer, prompts, batch_size=batch_size, **kw)
    seconds = time.perf_counter() - start
    lengths = [len(tokenizer.apply_chat_template(p, tokenize=True, add_generation_prompt=True)["input_ids"]) for p in prompts]
    config = _greedy_or_sampling_config(model, tokenizer, max_new_tokens, 0.0, 1.0, tokenizer.pad_token_id)
    why_not = greedy_decode_unsupported(model, config, config.update(min_new_tokens=max_new_tokens))
    path = "model.generate" if mode == "single" or batch_size == 1 else (f"model.generate ({why_not})" if why_not else
                                                                         "greedy_decode")
    return {"completions": out, "seconds": seconds, "rss_before": rss_before, "rss_peak": _rss_mib(), "lengths": lengths,
            "n_params": sum(p.numel() for p in model.parameters()), "threads": torch.get_num_threads(), "path": path}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", choices=("demo", "full", "short"), default="demo",
                    help="demo: the demo recipe's validation prompts (default); full / short: the embedded data's default-option prompts")
    ap.add_argument("--n", type=int, default=64, help="number of prompts")
    ap.add_argument("--batch-size", type=int, default=64, help="default: all 64 prompts in one batch")
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1: with more, threads spin-waiting for cores that other jobs "
                         "hold made single-prompt timings swing by 5x on this shared CPU; 0 = torch's default)")
    args = ap.parse_args(argv)
    load_before = _load_1min()
    model_name = load_recipe(RECIPE).model.model_name_or_path
    resolve_model_path(model_name, texts_fn=embedded_tokenizer_texts)   # build the embedded model once, before the two runs
    # each mode in its own fresh process, so that each peak-memory figure is its own
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        single = pool.submit(run_mode, "single", args.prompts, args.n, args.batch_size, args.max_new_tokens, args.threads).result()
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        batched = pool.submit(run_mode, "batched", args.prompts, args.n, args.batch_size, args.max_new_tokens, args.threads).result()
    lengths = single["lengths"]
    print(f"model: {model_name} (the {RECIPE} recipe's), {single['n_params']:,} parameters; torch {torch.__version__}, "
          f"{single['threads']} thread(s)")
    print(f"prompts: {len(lengths)} {args.prompts} examples, {min(lengths)}-{max(lengths)} tokens (mean {sum(lengths) / len(lengths):.0f}); "
          f"{args.max_new_tokens} new tokens each, greedy")
    for name, r in (("one at a time:      ", single), (f"batched (size {args.batch_size:>3}):", batched)):
        print(f"{name} {r['seconds']:8.2f} s  ({len(lengths) / r['seconds']:6.2f} prompts/s)  "
              f"peak RSS {r['rss_peak']:6.0f} MiB (+{r['rss_peak'] - r['rss_before']:.0f} MiB while generating)  "
              f"[{r['path']}]")
    same = sum(a == b for a, b in zip(single["completions"], batched["completions"]))
    print(f"identical completions: {same}/{len(lengths)}")
    print(f"1-minute load: {load_before} before the start, {_load_1min()} at the end")
    print(f"ratio batched_vs_single: {single['seconds'] / batched['seconds']:.2f}x")


if __name__ == "__main__":
    main()
