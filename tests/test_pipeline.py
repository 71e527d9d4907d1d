"""The main job end to end on the embedded default: train -> evaluate -> report, skip when done, resume after a kill,
render without the model, and no secret in anything a run writes."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

MARKERS = {"HF_TOKEN": "hf_MARKERtoken5e1b7c", "WANDB_API_KEY": "wandbMARKERkey9d2f4a"}
# Small but real: a few SFT and GRPO steps, a checkpoint, both evaluation tasks on a capped validation split.
FAST = ["--embedded_participants", "60", "--sft_warmup_steps", "10", "--max_steps", "4", "--save_steps", "2",
        "--logging_steps", "1", "--max_eval_samples", "24", "--eval_max_new_tokens", "16"]


def run_cli(args, env, timeout=600):
    return subprocess.run([sys.executable, "-m", "grpo_nb", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    env = dict(os.environ, GRPO_NB_RUNS=str(root / "runs"), GRPO_NB_REPORTS=str(root / "reports"),
               HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", MPLBACKEND="Agg", **MARKERS)
    return env


@pytest.fixture(scope="module")
def finished_run(env):
    started = time.time()
    result = run_cli(["pipeline", "--recipe", "demo", "--name", "e2e", *FAST], env)
    assert result.returncode == 0, result.stderr[-4000:]
    return Path(env["GRPO_NB_RUNS"]) / "e2e", Path(env["GRPO_NB_REPORTS"]) / "e2e", time.time() - started, result


def test_pipeline_writes_every_stage_and_a_report_with_real_figures(finished_run):
    run, report, seconds, result = finished_run
    record = json.loads((run / "run.json").read_text())
    assert {s: record["stages"][s]["status"] for s in ("train", "evaluate", "report")} == dict.fromkeys(
        ("train", "evaluate", "report"), "done")
    assert (run / "train" / "config.json").is_file() and (run / "train" / "train_results.json").is_file()
    metrics = json.loads((run / "evaluate" / "next_video" / "metrics.json").read_text())
    predictions = (run / "evaluate" / "next_video" / "predictions.jsonl").read_text().splitlines()
    stats = json.loads((run / "evaluate" / "next_video" / "prepare_stats.json").read_text())
    prepared = stats["eval"]["examples"]
    assert stats["splits"]["shared_participants"] == 0 and "audit" in stats
    # the headline counts the recipe's order; the file holds every order (demo: eval_permutations 2)
    assert metrics["n_total"] == stats["splits"]["eval"]["rows"] == min(24, prepared // 2) > 0
    assert metrics["n_rows_all_permutations"] == len(predictions) == prepared == 2 * metrics["n_total"]
    readme = (report / "README.md").read_text()
    assert f"{metrics['accuracy_overall']:.3f}" in (report / "next_video" / "README.md").read_text()
    assert "next_video/README.md" in readme
    assert list(report.rglob("*.png")), "no plots"
    assert str(report / "README.md") in result.stdout
    assert not list(run.rglob(".lock*")) and not list(report.rglob(".lock*"))   # every lock released, no leftovers
    card = (run / "train" / "README.md").read_text()       # the model card names the base model, data and figures
    assert "[None]" not in card and "version of `embedded:tiny-qwen2`" in card and "- dataset: embedded" in card
    assert "Evaluation has not run yet" not in card and card.count("## Evaluation") == 1
    assert f"| next video | accuracy ↑ | {metrics['accuracy_overall']:.3f} |" in card and "baseline" in card
    for stage in ("train", "evaluate", "report"):                               # provenance per stage
        assert record["stages"][stage]["code"]["commit"] == record["commit"]
        assert record["stages"][stage]["code"]["package_version"] == record["package_version"]
    if "provenance" in metrics: assert metrics["provenance"].get("commit") == record["commit"]


def test_second_run_skips_finished_stages(finished_run, env):
    run, report, _, _ = finished_run
    predictions = run / "evaluate" / "next_video" / "predictions.jsonl"
    before = (predictions.stat().st_mtime_ns, (run / "train" / "train_results.json").stat().st_mtime_ns)
    result = run_cli(["pipeline", "--recipe", "demo", "--name", "e2e", *FAST], env)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((run / "run.json").read_text())
    assert all(record["stages"][s]["skipped"] for s in ("train", "evaluate", "report"))
    assert (predictions.stat().st_mtime_ns, (run / "train" / "train_results.json").stat().st_mtime_ns) == before


def test_changed_recipe_for_an_existing_run_is_refused(finished_run, env):
    result = run_cli(["pipeline", "--recipe", "demo", "--name", "e2e", *FAST, "--learning_rate", "0.5"], env)
    assert result.returncode != 0 and "different recipe" in result.stderr


def test_no_secret_reaches_any_file_the_run_wrote(finished_run):
    run, report, _, _ = finished_run
    for folder in (run, report):
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix not in (".safetensors", ".bin", ".pt", ".pth", ".png"):
                text = path.read_bytes().decode("utf-8", "replace")
                for marker in MARKERS.values():
                    assert marker not in text, f"secret marker found in {path}"


def test_report_renders_after_the_model_is_deleted(finished_run, env, tmp_path):
    run, _, _, _ = finished_run
    copy = tmp_path / "runs" / "e2e-nomodel"
    shutil.copytree(run, copy)
    for path in list((copy / "train").glob("*.safetensors")) + list((copy / "train").glob("checkpoint-*")):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    out = tmp_path / "report"
    result = run_cli(["report", "--run", str(copy), "--out", str(out)], env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "README.md").is_file() and (out / "next_video" / "README.md").is_file()


def test_killed_evaluation_resumes_without_duplicates(finished_run, env):
    run, _, _, _ = finished_run
    name = "e2e-kill"
    target = Path(env["GRPO_NB_RUNS"]) / name
    shutil.copytree(run / "train", target / "train")  # a finished training stage: the kill lands in evaluation
    slow = [*FAST[:-4], "--embedded_participants", "400", "--max_eval_samples", "80", "--eval_batch_size", "1",
            "--eval_max_new_tokens", "24"]
    args = ["pipeline", "--recipe", "demo", "--name", name, "--stages", "train,evaluate", *slow]
    # train is done (train_results.json was copied), so this goes straight to evaluation
    proc = subprocess.Popen([sys.executable, "-m", "grpo_nb", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    predictions = target / "evaluate" / "next_video" / "predictions.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if predictions.is_file() and len(predictions.read_bytes().splitlines()) >= 5: break
        time.sleep(0.05)
    assert proc.poll() is None, "evaluation finished before it could be killed: make it slower"
    os.killpg(proc.pid, signal.SIGKILL); proc.wait()
    done_before = len(predictions.read_bytes().splitlines())
    assert 5 <= done_before < 160                    # 80 slates, each in the demo's 2 option orders
    result = run_cli(args, env)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in predictions.read_text().splitlines()]
    ids = [r["example_id"] for r in rows]
    assert len(ids) == len(set(ids)) == 160
    assert {i + "#p1" for i in ids if "#p" not in i} == {i for i in ids if i.endswith("#p1")}   # both orders of each
    metrics = json.loads((target / "evaluate" / "next_video" / "metrics.json").read_text())
    assert metrics["n_total"] == 80 and metrics["n_rows_all_permutations"] == 160


def test_an_evaluate_out_folder_becomes_a_report(finished_run, env, tmp_path):
    """`grpo-nb evaluate --out DIR` then `grpo-nb report --run DIR`: the evaluation of a model on other data is reportable."""
    run, _, _, _ = finished_run
    out, report = tmp_path / "eval", tmp_path / "report"
    result = run_cli(["evaluate", "--recipe", "demo", "--model", str(run / "train"), "--out", str(out),
                      "--task", "next_video", *FAST], env)
    assert result.returncode == 0, result.stderr[-3000:]
    result = run_cli(["report", "--run", str(out), "--out", str(report)], env)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "next_video" / "metrics.json").read_text())
    page = (report / "next_video" / "README.md").read_text()
    assert "not run" not in page.splitlines()[2] and f"{metrics['accuracy_overall']:.3f}" in page
    summary = (report / "README.md").read_text()     # no run.json: what was run comes from the evaluation itself
    assert f"| model | {run / 'train'} |" in summary and "| dataset | embedded |" in summary


def test_report_of_a_finished_run_imports_neither_torch_nor_trl(finished_run, env, tmp_path):
    run, _, _, _ = finished_run
    assert (run / "settings.json").is_file()           # the effective settings, written beside the recipe snapshot
    code = ("import sys, grpo_nb.cli as c\n"
            f"rc = c.main(['report', '--run', {str(run)!r}, '--out', {str(tmp_path / 'report')!r}])\n"
            "print(rc, [m for m in ('torch', 'trl', 'transformers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stdout + out.stderr[-2000:]
    summary = (tmp_path / "report" / "README.md").read_text()
    assert "completions_per_optimizer_step" in summary and "Shown as written" not in summary
