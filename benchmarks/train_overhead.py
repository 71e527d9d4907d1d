"""Seconds per GRPO step: grpo_nb's trainer vs a bare TRL script, on the demo recipe and the embedded tiny model.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/train_overhead.py [--steps 20] [--warmup-steps 3] [--threads 1]
        [--rounds 3]

Both sides train the same model on the same prompts with the same settings, and differ only in how the trainer is
built:

* grpo_nb: `load_recipe("demo")` -> `load_model_and_tokenizer(cfg.model, texts_fn=embedded_tokenizer_texts)` ->
  `prepare_split(cfg, "train")` -> `build_grpo_trainer(cfg, model, tokenizer, examples)` (the recipe's rewards from
  the registry, the checked dataset columns, the JSONL log-history callback that fsyncs every entry);
* bare TRL: `trl.GRPOTrainer` + `trl.GRPOConfig` written out by hand, the same model folder loaded with
  `AutoModelForCausalLM` / `AutoTokenizer`, a `datasets.Dataset` of the same prompt messages with only the
  `gold_index` / `n_options` columns, and the recipe's two rewards (`strict_accuracy`, `format`, weights 1.0 / 0.1)
  re-implemented inline in a dozen lines of `re` - no grpo_nb code in the training loop.

Settings on both sides: the demo recipe's num_generations, per_device_train_batch_size, gradient accumulation,
max_completion_length, temperature, learning rate and scheduler, beta, seed; bf16 and activation checkpointing off,
no saving, no evaluation, no progress bar, a log entry at every step. The SFT warm-up is skipped on both sides (it is
not the GRPO step). The script checks that the two trainers' effective arguments agree and that both sides logged
the same rewards and completion lengths at every step (same seed, same sampling: the same work). The untrained model
earns no reward (all completions malformed), so the inline rewards are also checked against `grpo_nb.rewards` on
hand-written probe completions.

Each side runs in its own fresh process (spawned, so each peak-RSS figure is its own) with `OMP_NUM_THREADS` fixed
(default 1: on a shared 2-core machine, extra threads spin-wait for cores other jobs hold). A `TrainerCallback`
records when each step ends; seconds/step is the time of the `--steps` steps after `--warmup-steps` warm-up steps.
The sides alternate `--rounds` times (default 3) and each side's median is reported. Prints both sides, peak RSS, and
the ratio LAST. Target: grpo_nb within 10% of bare TRL (ratio <= 1.10).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import resource
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RECIPE = "demo"
MODEL = "embedded:tiny-qwen2"
# Recipe settings the bare side copies by hand (the rest are TRL's defaults on both sides, or set below).
SHARED_SETTINGS = ("num_generations", "per_device_train_batch_size", "gradient_accumulation_steps",
                   "max_completion_length", "temperature", "learning_rate", "lr_scheduler_type", "warmup_steps",
                   "beta", "seed", "dataloader_num_workers", "reward_weights")
BENCH_SETTINGS = dict(bf16=False, activation_checkpointing=False, save_strategy="no", eval_strategy="no", do_eval=False,
                      logging_steps=1, report_to=[], disable_tqdm=True, use_vllm=False)
# Arguments expected to differ: paths, names, and grpo_nb's own additions to GRPOConfig.
# (save_steps / save_total_limit are inert with save_strategy "no").
NOT_COMPARED = {"output_dir", "logging_dir", "run_name", "sft_warmup_steps", "sft_warmup_learning_rate",
                "sft_warmup_batch_size", "vllm_fallback", "overwrite", "save_steps", "save_total_limit"}
SAME_WORK_KEYS = ("reward", "reward_std", "completions/mean_length")


def _rss_mib() -> float:
    "Peak resident memory of this process so far, MiB (Linux reports KiB)."
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _step_timer():
    "A `TrainerCallback` that records the clock at the end of every optimizer step."
    from transformers import TrainerCallback

    class StepTimes(TrainerCallback):
        def __init__(self): self.ends = []
        def on_step_end(self, args, state, control, **kwargs): self.ends.append(time.perf_counter())
    return StepTimes()


def _quiet_child(threads: int) -> None:
    "Fix the thread count and silence warnings and progress bars (the same on both sides)."
    import warnings
    import torch
    import transformers
    torch.set_num_threads(threads)
    warnings.filterwarnings("ignore")
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()


def _without_printer(trainer):
    "Drop the callback that prints every log dict to the console (removed on both sides)."
    from transformers.trainer_callback import PrinterCallback
    trainer.remove_callback(PrinterCallback)
    return trainer


def _effective_args(trainer) -> dict:
    return {k: v for k, v in trainer.args.to_dict().items() if k not in NOT_COMPARED}


def _result(trainer, timer, warmup_steps: int, build_seconds: float, threads: int) -> dict:
    import torch
    ends = timer.ends
    if len(ends) <= warmup_steps: raise RuntimeError(f"the trainer ran {len(ends)} steps, not more than the {warmup_steps} warm-up steps")
    timed = [b - a for a, b in zip(ends[warmup_steps - 1:], ends[warmup_steps:])]   # the last warm-up step's end starts the clock
    logs = [e for e in trainer.state.log_history if "reward" in e]
    return {"seconds_per_step": sum(timed) / len(timed), "median_step": statistics.median(timed), "steps_timed": len(timed),
            "build_seconds": build_seconds, "peak_rss_mib": _rss_mib(), "threads": torch.get_num_threads(),
            "logs": [{k: e.get(k) for k in ("step", *SAME_WORK_KEYS)} for e in logs], "args": _effective_args(trainer)}


def run_grpo_nb(settings: dict, total_steps: int, warmup_steps: int) -> dict:
    "In a fresh process: the trainer grpo_nb builds from the demo recipe; seconds per step after the warm-up."
    from grpo_nb.config import load_recipe
    from grpo_nb.model import load_model_and_tokenizer
    from grpo_nb.prepare import embedded_tokenizer_texts, prepare_split
    from grpo_nb.train import build_grpo_trainer
    from trl import GRPOTrainer  # noqa: F401  (TRL imports it lazily: import it before the clock, as the bare side does)
    threads = int(os.environ["OMP_NUM_THREADS"]); _quiet_child(threads)
    with tempfile.TemporaryDirectory(prefix="train_overhead-grpo_nb-") as out:
        overrides = {**BENCH_SETTINGS, "max_steps": total_steps, "sft_warmup_steps": 0, "output_dir": out}
        cfg = load_recipe(RECIPE, overrides)
        model, tokenizer = load_model_and_tokenizer(cfg.model, texts_fn=embedded_tokenizer_texts)
        examples, _ = prepare_split(cfg, cfg.script.dataset_train_split)
        timer = _step_timer()
        start = time.perf_counter()
        trainer = _without_printer(build_grpo_trainer(cfg, model, tokenizer, examples, callbacks=[timer]))
        build_seconds = time.perf_counter() - start
        trainer.train()
        return _result(trainer, timer, warmup_steps, build_seconds, threads)


# --- the bare side: the recipe's rewards written inline (the same rules as grpo_nb.rewards) -----------------------
_TAG = re.compile(r"</?(think|answer|opinion)>", re.IGNORECASE)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_SHAPE = r"\s*<think>.*?</think>\s*<answer>.*?</answer>\s*"
_SHAPES = {0: re.compile(_SHAPE, re.IGNORECASE | re.DOTALL),
           2: re.compile(_SHAPE + r"<opinion>.*?</opinion>\s*", re.IGNORECASE | re.DOTALL)}


def _text(completion) -> str:
    return completion if isinstance(completion, str) else "".join(m["content"] for m in completion)


def _well_formed(text: str) -> bool:
    tags = [t.lower() for t in _TAG.findall(text)]
    shape = _SHAPES.get(tags.count("opinion"))
    return tags.count("think") == 2 and tags.count("answer") == 2 and shape is not None and shape.fullmatch(text) is not None


def format_reward(completions, **kwargs):
    return [1.0 if _well_formed(_text(c)) else 0.0 for c in completions]


def strict_accuracy_reward(completions, gold_index, **kwargs):
    rewards = []
    for c, gold in zip(completions, gold_index):
        text = _text(c)
        m = _ANSWER.search(text)
        answer = m.group(1).strip() if m else ""
        rewards.append(1.0 if answer.isascii() and answer.isdigit() and int(answer) == gold and _well_formed(text) else 0.0)
    return rewards


def inline_rewards_agree() -> bool:
    "Whether the inline rewards give grpo_nb.rewards' values on probe completions (the untrained model earns only zeros)."
    from grpo_nb.rewards import format_reward as ours_format, strict_accuracy_reward as ours_strict
    texts = ["<think>\nx\n</think>\n<answer>2</answer>", "<think>x</think><answer> 3 </answer>", "<answer>2</answer>",
             "<think>x</think><answer>2</answer> trailing", "<think>x</think><answer>2.</answer>", "<THINK>x</THINK><answer>1</answer>",
             "<think>x</think><answer>2</answer><opinion>increase</opinion>", "<think>x</think><answer>2</answer><opinion>up",
             "<think><think>x</think><answer>2</answer>", "", "2", "<think>x</think>\n<answer>\n1\n</answer>\n"]
    completions = [[{"role": "assistant", "content": t}] for t in texts for _ in range(3)]
    golds = [g for _ in texts for g in (1, 2, 3)]
    return (format_reward(completions) == ours_format(completions, gold_index=golds)
            and strict_accuracy_reward(completions, gold_index=golds) == ours_strict(completions, gold_index=golds))


def run_bare_trl(settings: dict, total_steps: int, warmup_steps: int, model_dir: str) -> dict:
    "In a fresh process: `trl.GRPOTrainer` built by hand on the same model, prompts and settings."
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer
    from grpo_nb.config import load_recipe
    from grpo_nb.prepare import prepare_split
    threads = int(os.environ["OMP_NUM_THREADS"]); _quiet_child(threads)
    # the same prompts (prepared by grpo_nb: the data is not what is measured), as a plain dataset
    examples, _ = prepare_split(load_recipe(RECIPE), "train")
    rows = [{"prompt": e["prompt"], "gold_index": e["gold_index"], "n_options": e["n_options"]} for e in examples]
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="sdpa")
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    with tempfile.TemporaryDirectory(prefix="train_overhead-bare-") as out:
        timer = _step_timer()
        start = time.perf_counter()
        args = GRPOConfig(output_dir=out, max_steps=total_steps, **settings, **BENCH_SETTINGS)
        trainer = _without_printer(GRPOTrainer(model=model, reward_funcs=[strict_accuracy_reward, format_reward], args=args,
                                               train_dataset=Dataset.from_list(rows), processing_class=tokenizer, callbacks=[timer]))
        build_seconds = time.perf_counter() - start
        trainer.train()
        return _result(trainer, timer, warmup_steps, build_seconds, threads)


def in_fresh_process(fn, *args):
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def recipe_settings() -> tuple[dict, str]:
    "The demo recipe's GRPO settings that the bare side copies, and the embedded model's folder (built if missing)."
    from grpo_nb.config import load_recipe
    from grpo_nb.model import resolve_model_path
    from grpo_nb.prepare import embedded_tokenizer_texts
    cfg = load_recipe(RECIPE)
    if cfg.model.model_name_or_path != MODEL:
        raise SystemExit(f"the {RECIPE} recipe trains {cfg.model.model_name_or_path!r}, not {MODEL!r}: update this benchmark")
    settings = {k: getattr(cfg.training, k) for k in SHARED_SETTINGS}
    settings["lr_scheduler_type"] = str(getattr(settings["lr_scheduler_type"], "value", settings["lr_scheduler_type"]))
    if list(cfg.script.reward_funcs) != ["strict_accuracy", "format"]:
        raise SystemExit(f"the {RECIPE} recipe's rewards are {cfg.script.reward_funcs}, not the [strict_accuracy, format] "
                         "re-implemented on the bare side: update this benchmark")
    return settings, resolve_model_path(MODEL, texts_fn=embedded_tokenizer_texts)


def _differences(a: dict, b: dict) -> list[str]:
    return [f"{k}: grpo_nb {a.get(k)!r} vs bare {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def _same_work(a: list[dict], b: list[dict]) -> bool:
    if len(a) != len(b) or not a: return False
    return all(x["step"] == y["step"] and all(abs((x[k] or 0) - (y[k] or 0)) <= 1e-6 for k in SAME_WORK_KEYS)
               for x, y in zip(a, b))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20, help="timed GRPO steps")
    p.add_argument("--warmup-steps", type=int, default=3, help="untimed steps first (at least 1)")
    p.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS / torch threads in each side's process")
    p.add_argument("--rounds", type=int, default=3, help="alternate the sides this many times; report each side's median")
    args = p.parse_args(argv)
    if args.warmup_steps < 1 or args.steps < 1 or args.rounds < 1:
        p.error("--steps, --warmup-steps and --rounds must be at least 1")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"): os.environ[var] = str(args.threads)   # inherited by the spawned sides
    settings, model_dir = recipe_settings()
    total = args.warmup_steps + args.steps
    ours, bare = [], []
    for _ in range(args.rounds):
        ours.append(in_fresh_process(run_grpo_nb, settings, total, args.warmup_steps))
        bare.append(in_fresh_process(run_bare_trl, settings, total, args.warmup_steps, model_dir))
    med = lambda runs, key: statistics.median(r[key] for r in runs)
    s_ours, s_bare = med(ours, "seconds_per_step"), med(bare, "seconds_per_step")
    diffs = _differences(ours[0]["args"], bare[0]["args"])
    same = all(_same_work(o["logs"], b["logs"]) for o, b in zip(ours, bare))
    rewards_agree = inline_rewards_agree()
    print(f"recipe {RECIPE}, model {MODEL} ({model_dir}); {settings['per_device_train_batch_size']} completions/step "
          f"({settings['num_generations']} per prompt) x {settings['max_completion_length']} tokens max; "
          f"{args.steps} timed steps after {args.warmup_steps} warm-up; {ours[0]['threads']} thread(s); {args.rounds} round(s)")
    for name, runs, s in (("grpo_nb build_grpo_trainer", ours, s_ours), ("bare trl.GRPOTrainer", bare, s_bare)):
        each = ", ".join(f"{r['seconds_per_step']:.3f}" for r in runs)
        print(f"{name:28s} {s:7.3f} s/step (median step {med(runs, 'median_step'):.3f} s; rounds: {each})  "
              f"trainer built in {med(runs, 'build_seconds'):.2f} s  peak RSS {max(r['peak_rss_mib'] for r in runs):,.0f} MiB")
    print(f"same effective GRPOConfig on both sides: {not diffs}" + ("" if not diffs else " -> " + "; ".join(diffs)))
    print(f"same rewards and completion lengths at every step: {same}; inline rewards = grpo_nb.rewards on probes: {rewards_agree}")
    print(f"target: ratio <= 1.10 -> {'met' if s_ours / s_bare <= 1.10 else 'NOT met'}")
    print(f"ratio grpo_nb_vs_bare_trl: {s_ours / s_bare:.2f}x")


if __name__ == "__main__":
    main()
