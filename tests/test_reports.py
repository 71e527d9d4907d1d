"""Reports render the numbers the metrics hold, say "not run" for missing parts, and never leak a secret.

The run folders are built in a temporary directory from hand-made prediction rows scored with the real
scorers (`score_next_video`, `score_opinion`); the Markdown tables are parsed back and compared with them.
"""
import json
import os
import re
import shutil
import statistics
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from grpo_nb import reports
from grpo_nb.next_video import rescore_rows, score_next_video, write_json_atomic
from grpo_nb.opinion import score_opinion_file
from grpo_nb.reports import (baseline_label, load_run, read_markdown_tables, redact_secrets, render_report,
                             training_summary)

REPO = Path(__file__).resolve().parent.parent
SECRET = "hf_TEST_SECRET_MARKER_0123456789"
PAGES = ["README.md", "next_video/README.md", "opinion/README.md", "training/README.md", "samples/README.md"]


# ---------------------------------------------------------------- building a run folder

def _options(n, bare=None):
    return "\n".join(f"{j}. Video {j}" + ("" if j == bare else f" (Channel {j}, {30 * j}s long) — {10 * j} views")
                     for j in range(1, n + 1))


def nv_row(i, gold, n, answer, issue="gun_control", study="study1", extra=""):
    completion = (f"<think>option {answer} fits{extra}</think><answer>{answer}</answer>" if answer is not None
                  else f"I would watch the second one.{extra}")
    return {"example_id": f"s{i}/0/{i}", "issue": issue, "participant_study": study, "participant_id": f"p{i}",
            "session_id": f"s{i}", "step_index": i % 4,
            "messages": [{"role": "system", "content": "Reply <think>…</think><answer>N</answer>."},
                         {"role": "user", "content": f"CURRENTLY WATCHING\nA | piped title\n\nOPTIONS\n"
                                                     f"{_options(n, bare=gold if i % 2 else None)}\n\nQUESTIONS\n1. Which?"}],
            "completion": completion, "gold_index": gold, "n_options": n}


def op_row(i, study, before, after, prediction, extra=""):
    completion = f"<think>pre {before}{extra}</think><answer>{prediction}</answer>" if prediction is not None else f"Up a lot.{extra}"
    return {"participant_id": f"q{i}", "study": study, "before": before, "after": after, "completion": completion,
            "messages": [{"role": "user", "content": f"Pre-study index {before}. Post-study index on 0-1?"}]}


TRAIN_GOLD = [1, 1, 2, 3, 2, 1]
# Training examples the honest baselines are learned from: gold positions as the model sees them, video ids per option.
TRAIN_EXAMPLES = [{"example_id": f"t{i}", "participant_id": f"t{i}", "gold_index": g, "n_options": 3,
                   "option_ids": [f"t{i}-v{j}" for j in (1, 2, 3)],
                   "prompt": [{"role": "user", "content": f"OPTIONS\n{_options(3)}\n\nQUESTIONS\n1. Which?"}]}
                  for i, g in enumerate(TRAIN_GOLD)]


def make_run(root: Path, parts=("config", "run", "train", "next_video", "opinion"), extra="") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if "config" in parts:
        shutil.copy(REPO / "recipes" / "demo.yaml", root / "config.yaml")
    if "run" in parts:
        write_json_atomic({"name": root.name, "recipe": "demo", "model": str(root / "train" / "model"),
                           "dataset": "embedded", "commit": "0123abcd", "started": "2026-11-02T10:00:00",
                           "finished": "2026-11-02T11:02:03", "wall_seconds": 3723.0,
                           "stages": {"prepare": {"status": "done", "wall_seconds": 3.5, "dropped": {"gold_not_on_slate": 7}},
                                      "train": {"status": "done", "wall_seconds": 3000}}}, root / "run.json")
    if "train" in parts:
        log = [{"step": s, "loss": 0.05 - s / 1000, "reward": 0.3 + s / 50, "rewards/strict_accuracy/mean": 0.2 + s / 60,
                "rewards/format/mean": 0.9 + s / 400, "kl": s / 1000, "completions/mean_length": 20 - s / 5,
                "learning_rate": 1e-4} for s in range(5, 105, 5)]
        log.append({"step": 100, "train_runtime": 252.5, "train_loss": 0.04})
        (root / "train").mkdir(exist_ok=True)
        (root / "train" / "log_history.jsonl").write_text("".join(json.dumps(e) + "\n" for e in log))
        write_json_atomic({"train_runtime": 252.5, "train_loss": 0.04, "epoch": 1.0}, root / "train" / "train_results.json")
    if "next_video" in parts:
        rows = [nv_row(i, 1 + i % 3, 3 + i % 3, a, extra=extra) for i, a in enumerate([1, 2, 1, None, 2, 3, 1, 9, 3, 2])]
        rows += [nv_row(20 + i, 1 + i % 2, 2, a, "minimum_wage", "study2" if i < 3 else "study3", extra=extra)
                 for i, a in enumerate([1, 1, 2, 2, 1])]
        rows = rescore_rows(rows)                                  # parsed_index / format_ok from the real parser
        d = root / "evaluate" / "next_video"
        d.mkdir(parents=True, exist_ok=True)
        (d / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        write_json_atomic(score_next_video(rows, train_examples=TRAIN_EXAMPLES, bootstrap_resamples=200), d / "metrics.json")
    if "opinion" in parts:
        rows = [op_row(0, "study1", 0.40, 0.45, 0.50, extra), op_row(1, "study1", 0.60, 0.58, 0.70, extra),
                op_row(2, "study1", 0.20, 0.20, None, extra), op_row(3, "study2", 0.30, 0.35, 0.36, extra),
                op_row(4, "study2", 0.70, 0.66, 0.60, extra), op_row(5, "study2", 0.50, 0.52, 0.90, extra)]
        d = root / "evaluate" / "opinion"
        d.mkdir(parents=True, exist_ok=True)
        (d / "predictions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        score_opinion_file(d / "predictions.jsonl", d / "metrics.json")
    return root


def num(cell: str) -> float:
    cell = cell.strip().replace(",", "")
    return float(cell[:-1]) / 100 if cell.endswith("%") else float(cell)


def interval(cell: str) -> list[float]:
    return [float(x) for x in cell.strip("[]").split(", ")]


def table_with(text: str, header: str, first_header: str | None = None) -> list[dict]:
    "The first table in `text` that has column `header` (and whose first column is `first_header`, if given)."
    for t in read_markdown_tables(text):
        if t and header in t[0] and (first_header is None or next(iter(t[0])) == first_header):
            return t
    raise AssertionError(f"no table with column {header!r} / first column {first_header!r}")


def shown_completions(samples_md: str) -> list[str]:
    "The text of every completion code block of a samples page (one trailing newline is not representable)."
    out = []
    for block in samples_md.split("**model completion (verbatim)**")[1:]:
        m = re.search(r"^(`{3,})text\n(.*?)\n?\1$", block, re.S | re.M)
        out.append(m.group(2))
    return out


def keyed(table: list[dict]) -> dict[str, dict]:
    return {next(iter(r.values())): r for r in table}


@pytest.fixture
def full_report(tmp_path):
    run = make_run(tmp_path / "runs" / "demo")
    return run, render_report(run, tmp_path / "reports" / "demo")


# ---------------------------------------------------------------- the numbers are the metrics' own

def test_next_video_tables_match_metrics(full_report):
    run, out = full_report
    m = json.loads((run / "evaluate" / "next_video" / "metrics.json").read_text())
    text = (out / "next_video" / "README.md").read_text()
    overall = {r["quantity"]: r["value"] for r in table_with(text, "value", "quantity")}
    assert num(overall["accuracy ↑"]) == pytest.approx(m["accuracy_overall"], abs=5e-4)
    assert interval(overall["accuracy 95% Wilson interval"]) == pytest.approx(m["accuracy_ci95"], abs=5e-4)
    assert num(overall["eligible rows (gold on the slate)"]) == m["n_eligible"]
    assert num(overall["correct"]) == m["n_correct"]
    for key, label in [("parsed_rate", "parsed rate"), ("valid_rate", "valid rate"), ("format_rate", "format rate")]:
        cell = next(v for k, v in overall.items() if k.startswith(label + " ↑"))
        assert num(cell) == pytest.approx(m[key], abs=5e-4)

    base = keyed(table_with(text, "how", "predictor"))
    assert num(base["**model**"]["accuracy ↑"]) == pytest.approx(m["accuracy_overall"], abs=5e-4)
    assert set(m["baselines"]) == {"random", "most_frequent_gold_index_train", "most_frequent_gold_index_eval",
                                   "leak_probe_odd_option", "pick_last_option", "popularity_train",
                                   "popularity_rate_train", "title_length_train"}
    for key, b in m["baselines"].items():                                  # every baseline, each with its N
        row = base[baseline_label(key)]
        assert num(row["accuracy ↑"]) == pytest.approx(b["accuracy"], abs=5e-4)
        assert num(row["N"]) == b["n"]
        c = m["comparisons"][key]                                          # and the paired verdict of the metrics
        assert row["verdict (model vs it)"] == c["verdict"]
        assert num(row["model − it"]) == pytest.approx(c["estimate"], abs=5e-4)
    assert base[baseline_label("most_frequent_gold_index_eval")]["kind"] == "peeks at the evaluated rows"
    assert base[baseline_label("most_frequent_gold_index_train")]["kind"] == "honest"

    groups = m["group_metrics"]
    for first, stats in [("issue", groups["by_issue"]), ("study", groups["by_participant_study"]),
                         ("gold position", m["by_gold_position"])]:
        rows = keyed(table_with(text, "accuracy ↑", first))
        assert set(rows) == set(stats)
        for g, s in stats.items():
            assert num(rows[g]["N eligible"]) == s["n_eligible"]
            assert num(rows[g]["accuracy ↑"]) == pytest.approx(s["accuracy"], abs=5e-4)
            assert interval(rows[g]["95% Wilson"]) == pytest.approx(s["accuracy_ci95"], abs=5e-4)
            if s.get("accuracy_ci95_clustered"):
                assert interval(rows[g]["95% clustered"]) == pytest.approx(s["accuracy_ci95_clustered"], abs=5e-4)
    by_n = keyed(table_with(text, "accuracy ↑", "options"))
    for bucket, n in m["by_n_options"]["hist_eligible"].items():
        assert num(by_n[bucket]["N eligible"]) == n
        acc = m["by_n_options"]["accuracy"][bucket]
        if acc is None: assert by_n[bucket]["accuracy ↑"] == "—" and by_n[bucket]["95% Wilson"] == "—"
        else: assert num(by_n[bucket]["accuracy ↑"]) == pytest.approx(acc, abs=5e-4)
    assert "![accuracy of the model and the baselines](accuracy.png)" in text


def test_opinion_tables_match_metrics(full_report):
    run, out = full_report
    m = json.loads((run / "evaluate" / "opinion" / "metrics.json").read_text())
    text = (out / "opinion" / "README.md").read_text()
    verdicts = keyed(table_with(text, "verdict", "study"))
    groups = {"combined": m["combined"], **m["by_study"]}
    assert set(verdicts) == set(groups)
    for name, g in groups.items():
        row = verdicts[name]
        assert num(row["model MAE ↓"]) == pytest.approx(g["model"]["mae"], abs=5e-4)
        assert num(row["no-change MAE ↓"]) == pytest.approx(g["baselines"]["no_change"]["mae"], abs=5e-4)
        assert num(row["global-mean MAE ↓"]) == pytest.approx(g["baselines"]["global_mean"]["mae"], abs=5e-4)
        assert row["verdict"] == g["verdict"]
    combined = keyed(table_with(text, "MAE ↓", "predictor"))              # the first group table is `combined`
    model, still = combined["**model** (unparsed → no change)"], combined["no change (post = pre)"]
    for col, key in [("MAE ↓", "mae"), ("RMSE ↓", "rmse"), ("change corr ↑", "corr_change"),
                     ("direction accuracy ↑", "direction_accuracy"), ("MAE / no-change MAE ↓", "relative_mae_change")]:
        assert num(model[col]) == pytest.approx(m["combined"]["model"][key], abs=5e-4), col
    assert num(still["MAE ↓"]) == pytest.approx(m["combined"]["baselines"]["no_change"]["mae"], abs=5e-4)
    # the change metrics are not the post-index metrics
    assert m["combined"]["model"]["relative_mae_change"] != pytest.approx(m["combined"]["model"]["mae"])
    # a point MAE above no change on 6 participants is not called worse: the paired interval crosses 0
    assert m["combined"]["model"]["mae"] > m["combined"]["baselines"]["no_change"]["mae"]
    assert m["combined"]["beats_no_change"] is False and m["combined"]["verdicts"]["no_change"] == "indistinguishable"
    assert "**The model does not beat the no-change baseline:** indistinguishable from the no-change baseline" in text
    cal = table_with(text, "absolute gap ↓", "bin")
    assert [num(r["N"]) for r in cal] == [b["count"] for b in m["combined"]["model"]["calibration"]["bins"]]
    assert "![calibration of predicted opinion change](calibration.png)" in text


def test_training_table_matches_log(full_report):
    run, out = full_report
    log = [json.loads(l) for l in (run / "train" / "log_history.jsonl").read_text().splitlines()]
    rewards = [e["reward"] for e in log if "reward" in e]
    k = len(rewards) // 5
    rows = keyed(table_with((out / "training" / "README.md").read_text(), "first fifth", "quantity"))
    assert num(rows["mean reward ↑"]["first fifth"]) == pytest.approx(statistics.fmean(rewards[:k]), abs=5e-4)
    assert num(rows["mean reward ↑"]["last fifth"]) == pytest.approx(statistics.fmean(rewards[-k:]), abs=5e-4)
    assert num(rows["reward `strict_accuracy` ↑"]["whole run"]) == pytest.approx(
        statistics.fmean(e["rewards/strict_accuracy/mean"] for e in log if "reward" in e), abs=5e-4)
    assert num(rows["last logged step"]["whole run"]) == 100
    assert rows["wall time (train_runtime)"]["whole run"] == "4 min 12 s"
    assert training_summary(log)["signals"]["reward"]["n_logged"] == len(rewards)


def test_summary_headline_and_links(full_report):
    run, out = full_report
    nv = json.loads((run / "evaluate" / "next_video" / "metrics.json").read_text())
    op = json.loads((run / "evaluate" / "opinion" / "metrics.json").read_text())
    text = (out / "README.md").read_text()
    head = keyed(table_with(text, "verdict", "task"))
    assert num(head["next video"]["model"]) == pytest.approx(nv["accuracy_overall"], abs=5e-4)
    # the headline interval is the participant-clustered one, the baseline the best HONEST one, the verdict paired
    assert interval(head["next video"]["95% interval"]) == pytest.approx(nv["accuracy_bootstrap"]["ci95"], abs=5e-4)
    honest = {k: c for k, c in nv["comparisons"].items()               # never a leak probe, never a peeking baseline
              if c.get("honest") and not c.get("leak_probe") and c.get("learned_on") != "eval_rows"}
    best_key = max(honest, key=lambda k: honest[k]["baseline_accuracy"])
    assert num(head["next video"]["baseline"]) == pytest.approx(honest[best_key]["baseline_accuracy"], abs=5e-4)
    assert head["next video"]["compared with"] == f"best honest baseline: {baseline_label(best_key)}"
    assert head["next video"]["verdict"].startswith({"better": "better than", "worse": "worse than",
                                                     "indistinguishable": "indistinguishable from"}[honest[best_key]["verdict"]])
    assert num(head["opinion"]["model"]) == pytest.approx(op["combined"]["model"]["mae"], abs=5e-4)
    assert num(head["opinion"]["baseline"]) == pytest.approx(op["combined"]["baselines"]["no_change"]["mae"], abs=5e-4)
    what = {r[""]: r["value"] for r in table_with(text, "value", "")}
    assert (what["recipe"], what["dataset"], what["commit"], what["wall time"]) == ("demo", "embedded", "0123abcd", "1 h 02 min")
    assert num(keyed(table_with(text, "rows dropped", "where"))["prepare"]["rows dropped"]) == 7
    for page in PAGES[1:]:
        assert f"]({page})" in text
    assert "embedded:tiny-qwen2" in text                                # the recipe snapshot's settings


def test_every_metric_table_says_which_way_is_better(full_report):
    _, out = full_report
    for page in ["next_video/README.md", "opinion/README.md", "training/README.md"]:
        for table in read_markdown_tables((out / page).read_text()):
            cells = list(table[0]) + [str(v) for r in table for v in r.values()]
            assert any("↑" in c or "↓" in c for c in cells), (page, table[0])


# ---------------------------------------------------------------- missing, broken and deleted parts

@pytest.mark.parametrize("parts", [(), ("next_video",), ("opinion",), ("train",), ("config", "run", "next_video")])
def test_missing_parts_say_not_run(tmp_path, parts):
    run = make_run(tmp_path / "runs" / "x", parts)
    out = render_report(run, tmp_path / "report")
    summary = (out / "README.md").read_text()
    head = keyed(table_with(summary, "verdict", "task"))
    for part, task, page, png in [("next_video", "next video", "next_video", "accuracy.png"),
                                  ("opinion", "opinion", "opinion", "calibration.png"),
                                  ("train", "training", "training", "training.png")]:
        text = (out / page / "README.md").read_text()
        if part in parts:
            assert head[task]["model"] not in ("not run", "—") and (out / page / png).is_file()
        else:
            assert head[task]["model"] == "not run" and head[task]["baseline"] == "—"
            assert "**not run**" in text and read_markdown_tables(text) == []      # no numbers invented
            assert not (out / page / png).exists()
    if "run" not in parts:
        assert "No `run.json`" in summary


def test_incomplete_and_unreadable_parts_do_not_crash(tmp_path):
    run = make_run(tmp_path / "runs" / "x", ("next_video", "opinion", "train"))
    (run / "evaluate" / "next_video" / "metrics.json").unlink()            # a killed evaluation
    (run / "evaluate" / "opinion" / "metrics.json").write_text('{"combined": {')   # a corrupt file
    (run / "train" / "train_results.json").write_text("[1, 2]")
    out = render_report(run, tmp_path / "report")
    head = keyed(table_with((out / "README.md").read_text(), "verdict", "task"))
    assert head["next video"]["model"] == "incomplete" and "no metrics.json" in head["next video"]["verdict"]
    assert head["opinion"]["model"] == "unreadable"
    assert "**incomplete**" in (out / "next_video" / "README.md").read_text()
    assert (out / "training" / "training.png").is_file()                    # the log alone is enough
    assert "holds a JSON list" in (out / "training" / "README.md").read_text()
    samples = (out / "samples" / "README.md").read_text()
    assert "### Next video, sample 1" in samples                           # the predictions are still real


def test_report_needs_no_model(tmp_path):
    run = make_run(tmp_path / "runs" / "gone")
    model_dir = Path(json.loads((run / "run.json").read_text())["model"])
    assert not model_dir.exists()                                          # deleted after the run
    (run / "train" / "checkpoint-50").mkdir()                              # an empty leftover folder
    out = render_report(run, tmp_path / "report")
    assert str(model_dir) in (out / "README.md").read_text()
    assert load_run(run)["training"]["status"] == "ok"


def test_files_complete_and_rerender_overwrites(tmp_path, monkeypatch):
    run = make_run(tmp_path / "runs" / "x")
    out = render_report(run, tmp_path / "report")
    first = {p: (out / p).read_text() for p in PAGES}
    for p, text in first.items():
        assert text.endswith("\n") and text.startswith("# "), p
    for png in ["next_video/accuracy.png", "opinion/calibration.png", "training/training.png"]:
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (out / png).stat().st_size > 5000
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    render_report(run, out)
    assert {p: (out / p).read_text() for p in PAGES} == first               # deterministic, overwritten cleanly
    shutil.rmtree(run / "evaluate" / "opinion")
    render_report(run, out)
    assert not (out / "opinion" / "calibration.png").exists()              # no stale plot
    assert "**not run**" in (out / "opinion" / "README.md").read_text()
    # a render killed half-way leaves complete files: the old ones, never half of one
    before = (out / "README.md").read_text()
    def boom(*a, **k): raise KeyboardInterrupt
    monkeypatch.setattr(reports, "plot_training", boom)
    make_run(run, ("opinion",))
    with pytest.raises(KeyboardInterrupt): render_report(run, out)
    assert (out / "README.md").read_text() == before
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_default_report_folder_is_under_the_project_root(tmp_path, monkeypatch):
    project = tmp_path / "proj"
    (project / "nbs").mkdir(parents=True)
    (project / "settings.ini").write_text("[DEFAULT]\n")
    run = make_run(project / "runs" / "demo", ("next_video",))
    monkeypatch.chdir(project / "nbs")
    assert render_report(run) == project / "reports" / "demo"
    assert (project / "reports" / "demo" / "README.md").is_file()


def test_pipes_in_cells_do_not_break_tables(tmp_path):
    run = make_run(tmp_path / "runs" / "x", ("next_video",))
    d = run / "evaluate" / "next_video"
    rows = [dict(json.loads(l), issue="gun|control") for l in (d / "predictions.jsonl").read_text().splitlines()]
    write_json_atomic(score_next_video(rows), d / "metrics.json")
    text = (render_report(run, tmp_path / "report") / "next_video" / "README.md").read_text()
    assert "gun\\|control" in text
    assert list(keyed(table_with(text, "accuracy ↑", "issue"))) == ["gun|control"]


# ---------------------------------------------------------------- secrets

def test_redact_secrets():
    env = {"HF_TOKEN": SECRET, "WANDB_API_KEY": "wandb-0123456789", "TOKENIZERS_PARALLELISM": "false", "X_TOKEN": "1"}
    text = redact_secrets(f"a {SECRET} b wandb-0123456789 c false 1", env)
    assert text == "a [REDACTED:HF_TOKEN] b [REDACTED:WANDB_API_KEY] c false 1"


def test_no_secret_in_any_output(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setenv("WANDB_API_KEY", SECRET[::-1])
    run = make_run(tmp_path / "runs" / "leaky", extra=f" {SECRET} {SECRET[::-1]}")
    raw = (run / "evaluate" / "next_video" / "predictions.jsonl").read_text()
    assert SECRET in raw                                                    # the marker is inside completions
    out = render_report(run, tmp_path / "report")
    for f in out.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert SECRET.encode() not in data and SECRET[::-1].encode() not in data, f
    assert "[REDACTED:HF_TOKEN]" in (out / "samples" / "README.md").read_text()


def test_samples_are_verbatim_completions(full_report):
    run, out = full_report
    text = (out / "samples" / "README.md").read_text()
    completions = [json.loads(l)["completion"] for l in (run / "evaluate" / "next_video" / "predictions.jsonl").read_text().splitlines()]
    completions += [json.loads(l)["completion"] for l in (run / "evaluate" / "opinion" / "predictions.jsonl").read_text().splitlines()]
    shown = shown_completions(text)
    assert len(shown) == 6                                                  # 4 next-video, 2 opinion
    for body in shown:
        assert body in completions                                          # never text the model did not produce
    assert ": right" in text and ": wrong" in text


# ---------------------------------------------------------------- the papermill notebook

def test_report_notebook_shape():
    nb = json.loads((REPO / "nbs" / "report.ipynb").read_text())
    first = nb["cells"][0]
    assert first["cell_type"] == "raw" and "skip_exec: true" in "".join(first["source"])
    params = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1 and 'run_dir = "runs/demo"' in "".join(params[0]["source"])
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_report_notebook_runs_headless_with_papermill(tmp_path):
    pm = pytest.importorskip("papermill")
    project = tmp_path / "proj"
    (project / "nbs").mkdir(parents=True)
    (project / "settings.ini").write_text("[DEFAULT]\n")
    make_run(project / "runs" / "demo", ("run", "next_video", "opinion", "train"))
    # papermill's working directory is the notebook's folder: a relative run_dir falls back to the project root
    pm.execute_notebook(str(REPO / "nbs" / "report.ipynb"), str(tmp_path / "out.ipynb"),
                        parameters={"run_dir": "runs/demo"}, cwd=str(project / "nbs"), kernel_name="python3",
                        progress_bar=False)
    out = project / "reports" / "demo"
    assert all((out / p).is_file() for p in PAGES)
    executed = json.loads((tmp_path / "out.ipynb").read_text())
    kinds = [o.get("output_type") for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    mimes = {m for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []) for m in o.get("data", {})}
    assert "error" not in kinds and {"text/markdown", "image/png"} <= mimes


# ---------------------------------------------------------------- the published logs (real data)

def test_report_of_published_predictions(shared_data, tmp_path):
    logs = shared_data / "reference-logs"
    run = tmp_path / "runs" / "grpo-wage"
    nv, op = run / "evaluate" / "next_video", run / "evaluate" / "opinion"
    nv.mkdir(parents=True); op.mkdir(parents=True)
    (nv / "predictions.jsonl.gz").symlink_to(logs / "next_video" / "grpo-wage.predictions.jsonl.gz")
    from grpo_nb.next_video import score_predictions_file
    metrics = score_predictions_file(nv / "predictions.jsonl.gz", nv / "metrics.json")
    (op / "predictions.jsonl.gz").symlink_to(logs / "opinion" / "grpo-wage-study2.predictions.jsonl.gz")
    op_metrics = score_opinion_file(op / "predictions.jsonl.gz", op / "metrics.json")
    out = render_report(run, tmp_path / "report")
    text = (out / "next_video" / "README.md").read_text()
    overall = {r["quantity"]: r["value"] for r in table_with(text, "value", "quantity")}
    assert num(overall["accuracy ↑"]) == pytest.approx(metrics["accuracy_overall"], abs=5e-4)
    assert num(overall["eligible rows (gold on the slate)"]) == metrics["n_eligible"]
    assert op_metrics["combined"]["beats_no_change"] is False
    assert "**The model does not beat the no-change baseline:**" in (out / "opinion" / "README.md").read_text()
    samples = (out / "samples" / "README.md").read_text()
    produced = {r["gpt_output"].removesuffix("\n") for r in reports.read_predictions(nv / "predictions.jsonl.gz")}
    produced |= {r["raw_output"].removesuffix("\n") for r in reports.read_predictions(op / "predictions.jsonl.gz")}
    shown = shown_completions(samples)
    assert len(shown) == 6 and all(s in produced for s in shown)


# ---------------------------------------------------------------- pages that read as finished (issue 12)

def demo_like_training(run: Path, beta: float = 0.0, warmup: dict | None = None, task_eval: bool = True) -> Path:
    """Replace `run/train` with what `grpo_nb.train` writes for the demo recipe: TRL's log keys (no `kl` when beta
    is 0), task evaluations every 50 steps, and `train_results.json` with `metrics`, `wall_time_s`, `sft_warmup`."""
    (run / "config.yaml").write_text((REPO / "recipes" / "demo.yaml").read_text().replace("beta: 0.0", f"beta: {beta}"))
    log = []
    for s in range(5, 205, 5):
        e = {"step": s, "phase": "train", "loss": 0.01, "grad_norm": 0.3, "learning_rate": 1e-4,
             "completions/mean_length": 17.1, "completions/clipped_ratio": 0.02,
             "rewards/strict_accuracy_reward/mean": 0.3 + s / 2000, "rewards/format_reward/mean": 0.95,
             "reward": 0.4 + s / 2000, "reward_std": 0.46, "frac_reward_zero_std": 0.1, "entropy": 0.17,
             "clip_ratio/region_mean": 0.0, "epoch": s / 321}
        if beta: e["kl"] = s / 10000
        log.append(e)
        if task_eval and s % 50 == 0:
            log.append({"step": s, "phase": "train", "eval_next_video/accuracy": {50: 0.34375, 100: 0.375, 150: 0.40625,
                                                                                  200: 0.4375}[s],
                        "eval_next_video/parsed_rate": 0.984375, "eval_next_video/n": 64,
                        "eval_next_video/baseline_accuracy": 0.296875,
                        "eval_next_video/baseline": "most_frequent_gold_index_train", "eval_next_video/seconds": 1.9,
                        "eval_next_video/share_of_time": 0.05})
    (run / "train").mkdir(exist_ok=True)
    (run / "train" / "log_history.jsonl").write_text("".join(json.dumps(e) + "\n" for e in log))
    write_json_atomic({"output_dir": str(run / "train"), "wall_time_s": 124.1, "global_step": 200, "max_steps": 200,
                       "world_size": 1, "metrics": {"train_runtime": 92.2686, "train_samples_per_second": 69.363,
                                                    "train_loss": 0.0135, "epoch": 0.623},
                       "reward_trend": {"n": 40, "first": 0.4, "last": 0.5}, "sft_warmup": warmup,
                       "task_eval": {"evaluations": 4, "seconds": 7.6, "share_of_wall": 0.06}},
                      run / "train" / "train_results.json")
    return run


WARMUP = {"steps": 150, "learning_rate": 0.001, "batch_size": 16, "wall_time_s": 30.3, "last_loss": 0.1594,
          "format_rate_before": 0.0, "format_rate_after": 1.0}


def test_training_page_of_a_demo_like_run(tmp_path):
    run = demo_like_training(make_run(tmp_path / "runs" / "demo", ("config", "run")), warmup=WARMUP)
    out = render_report(run, tmp_path / "report")
    text = (out / "training" / "README.md").read_text()
    rows = keyed(table_with(text, "first fifth", "quantity"))
    # the wall times are read from `metrics.train_runtime` and `wall_time_s`, with their unit
    assert rows["wall time (train_runtime)"]["whole run"] == "1 min 32 s"
    stage = "wall time of the train stage (wall_time_s: loading, warm-up, training, saving)"
    assert rows[stage]["whole run"] == "2 min 04 s"
    assert rows["`train_results.json`: train_loss"]["whole run"] == "0.0135"
    assert "`train_results.json`: wall_time_s" not in rows and "KL to the reference (should stay small)" not in rows
    # beta is 0: no KL, said in words; no empty panel in the plot
    assert "KL to the reference is not logged because `beta` is 0: GRPO then keeps no reference model.\n" in text
    log = [json.loads(l) for l in (run / "train" / "log_history.jsonl").read_text().splitlines()]
    assert [t for t, _ in reports.training_panels(log)] == [
        "reward (higher is better)", "reward spread: std, and groups with none", "loss", "completion length (tokens)",
        "token entropy", "clipping (share)", "gradient norm"]
    assert (out / "training" / "training.png").stat().st_size > 1000
    # the warm-up
    warm = {r["warm-up"]: r["value"] for r in table_with(text, "value", "warm-up")}
    assert warm == {"steps": "150", "learning rate": "0.001", "batch size": "16",
                    "well-formed completions, before → after ↑": "0.0% → 100.0%", "last loss": "0.159",
                    "wall time": "30.3 s"}
    # the task accuracy reads on its own: the baseline named once, the trend in one sentence, the cost in seconds
    assert ("seeded sample of 64 held-out rows (whole participants), beside the best honest baseline on the same rows: "
            "**most-frequent position, learned on train**.") in text
    assert "Accuracy went from 34.4% at step 50 to 43.8% at step 200 (baseline 29.7%).\n" in text
    task = table_with(text, "accuracy", "step")
    assert [(r["step"], r["accuracy"], r["best honest baseline"], r["seconds"]) for r in task] == [
        ("50", "34.4%", "29.7%", "1.9 s"), ("100", "37.5%", "29.7%", "1.9 s"), ("150", "40.6%", "29.7%", "1.9 s"),
        ("200", "43.8%", "29.7%", "1.9 s")]
    assert "Cost: 7.6 s over 4 evaluations, 8.2% of the training wall time (1 min 32 s).\n" in text
    assert (out / "training" / "task_accuracy.png").is_file()


def test_training_page_without_warmup_and_with_kl(tmp_path):
    run = demo_like_training(make_run(tmp_path / "runs" / "x", ("config",)), beta=0.04, warmup=None, task_eval=False)
    text = (render_report(run, tmp_path / "report") / "training" / "README.md").read_text()
    assert ("## Warm-up (supervised, before GRPO)\n\n"
            "None: `sft_warmup_steps` is 0, so GRPO started from the model as loaded.\n") in text
    assert "KL to the reference (should stay small)" in keyed(table_with(text, "first fifth", "quantity"))
    assert "not logged because `beta`" not in text and "## Task accuracy during training" not in text


def test_old_flat_train_results_say_warmup_not_recorded(full_report):
    _, out = full_report
    text = (out / "training" / "README.md").read_text()
    assert "Not recorded: this `train_results.json` has no `sft_warmup` entry (an older or foreign run).\n" in text


def test_samples_say_generated_for_generated_data(full_report, tmp_path):
    _, out = full_report                                   # demo.yaml: the embedded dataset
    samples = (out / "samples" / "README.md").read_text()
    assert samples.startswith("# Samples\n\nGenerated prompts (the embedded dataset: no real viewer) from "
                              "`predictions.jsonl` (`messages`) and the model's raw completions, verbatim. ")
    assert "Real prompts" not in samples
    real = make_run(tmp_path / "runs" / "real", ("next_video",))      # no recipe naming generated data
    samples = (render_report(real, tmp_path / "real_report") / "samples" / "README.md").read_text()
    assert samples.startswith("# Samples\n\nReal prompts from `predictions.jsonl` (`messages`)")


def test_settings_mark_num_train_epochs_when_max_steps_is_set(full_report):
    _, out = full_report
    settings = {r["setting"]: r["value"] for r in table_with((out / "README.md").read_text(), "value", "setting")}
    assert settings["max_steps"] == "200" and settings["num_train_epochs"] == "3 (no effect: max_steps is set)"
