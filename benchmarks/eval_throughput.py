"""Throughput of next-video generation: the same prompts one at a time vs in batches, on the tiny model.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/eval_throughput.py [--prompts demo|short] [--n 64]
        [--batch-size 64] [--max-new-tokens 256] [--threads N]

Prompts are prepared examples of the embedded demo data (synthetic slates -> clean_rows -> prepare_examples),
in full (`demo`, ~550 tokens with the tiny tokenizer) or cut to the viewer line and the OPTIONS block
(`short`, ~270 tokens). The tiny model's tokenizer is trained on them, as the pipeline's embedded model is
trained on its data. Every prompt generates exactly `--max-new-tokens` tokens in both runs
(`min_new_tokens`), so both runs do the same work; 256 is the evaluation's default budget (published
completions run to 100-200 tokens). Each mode runs in its own fresh process (so each peak-RSS figure is its
own), after a warm-up. Prints both times, peak memory, whether both runs gave the same completions, and the
ratio LAST.

What bounds the ratio on a CPU: one-at-a-time decoding costs ~1 ms of fixed Python/dispatch overhead per
token, which batching shares; but the tiny model (hidden size 64) is so narrow that attention over a long
prompt and the KV-cache copies dominate the batched step, and those grow with batch x length. Shorter
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

import torch

from grpo_nb.data import clean_rows
from grpo_nb.model import build_tiny_model, build_tiny_tokenizer
from grpo_nb.next_video import generate_completions
from grpo_nb.prompts import prepare_examples
from grpo_nb.synthetic import generate_rows


def demo_prompts(n: int, kind: str = "demo") -> list[list[dict]]:
    "The chat prompts of the first `n` prepared examples of the demo data (`short`: viewer line + OPTIONS only)."
    rows, _ = clean_rows(generate_rows(n_participants=max(20, n), seed=0))
    examples = prepare_examples(rows)
    if len(examples) < n: raise SystemExit(f"the demo data gave {len(examples)} examples, fewer than --n {n}")
    prompts = [e["prompt"] for e in examples[:n]]
    if kind == "short": prompts = [_short(p) for p in prompts]
    return prompts


def _short(prompt: list[dict]) -> list[dict]:
    system, user = prompt[0]["content"], prompt[-1]["content"]
    short_user = user.splitlines()[0] + "\n\n" + user[user.index("OPTIONS"):]
    return [{"role": "system", "content": "Answer <think>…</think><answer>N</answer>."}, {"role": "user", "content": short_user}]


def _rss_mib() -> float:
    "Peak resident memory of this process so far, MiB (Linux reports KiB)."
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_mode(mode: str, kind: str, n: int, batch_size: int, max_new_tokens: int, threads: int | None) -> dict:
    "In a fresh process: build prompts and the tiny model, warm up, time one mode; its completions, seconds, memory."
    if threads: torch.set_num_threads(threads)
    prompts = demo_prompts(n, kind)
    tokenizer = build_tiny_tokenizer([m["content"] for p in demo_prompts(n) for m in p])
    model = build_tiny_model(tokenizer)
    kw = dict(max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens, progress=False)
    generate_completions(model, tokenizer, prompts[:2], batch_size=2, **kw)          # warm-up
    rss_before = _rss_mib()
    start = time.perf_counter()
    if mode == "single": out = [generate_completions(model, tokenizer, [p], batch_size=1, **kw)[0] for p in prompts]
    else: out = generate_completions(model, tokenizer, prompts, batch_size=batch_size, **kw)
    seconds = time.perf_counter() - start
    lengths = [len(tokenizer.apply_chat_template(p, tokenize=True, add_generation_prompt=True)["input_ids"]) for p in prompts]
    return {"completions": out, "seconds": seconds, "rss_before": rss_before, "rss_peak": _rss_mib(), "lengths": lengths,
            "n_params": sum(p.numel() for p in model.parameters()), "threads": torch.get_num_threads()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", choices=("demo", "short"), default="demo")
    ap.add_argument("--n", type=int, default=64, help="number of prompts")
    ap.add_argument("--batch-size", type=int, default=64, help="default: all 64 prompts in one batch")
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (default 1: with more, threads spin-waiting for cores that other jobs "
                         "hold made single-prompt timings swing by 5x on this shared CPU; 0 = torch's default)")
    args = ap.parse_args(argv)
    # each mode in its own fresh process, so that each peak-memory figure is its own
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        single = pool.submit(run_mode, "single", args.prompts, args.n, args.batch_size, args.max_new_tokens, args.threads).result()
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        batched = pool.submit(run_mode, "batched", args.prompts, args.n, args.batch_size, args.max_new_tokens, args.threads).result()
    lengths = single["lengths"]
    print(f"model: tiny Qwen2, {single['n_params']:,} parameters; torch {torch.__version__}, {single['threads']} thread(s)")
    print(f"prompts: {len(lengths)} {args.prompts} examples, {min(lengths)}-{max(lengths)} tokens (mean {sum(lengths) / len(lengths):.0f}); "
          f"{args.max_new_tokens} new tokens each, greedy")
    for name, r in (("one at a time:      ", single), (f"batched (size {args.batch_size:>3}):", batched)):
        print(f"{name} {r['seconds']:8.2f} s  ({len(lengths) / r['seconds']:6.2f} prompts/s)  "
              f"peak RSS {r['rss_peak']:6.0f} MiB (+{r['rss_peak'] - r['rss_before']:.0f} MiB while generating)")
    same = sum(a == b for a, b in zip(single["completions"], batched["completions"]))
    print(f"identical completions: {same}/{len(lengths)}")
    print(f"ratio batched_vs_single: {single['seconds'] / batched['seconds']:.2f}x")


if __name__ == "__main__":
    main()
