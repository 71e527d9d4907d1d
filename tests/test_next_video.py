"""Tests of grpo_nb.next_video: published logs re-scored, predictions files, resumable evaluation."""
import gzip
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
from conftest import shared_folder

from grpo_nb.next_video import (PredictionsFile, evaluate_next_video, read_predictions, rescore_rows, run_resumable,
                                score_next_video, score_predictions_file, wilson_interval, write_json_atomic)

LOGS = ("grpo-gun", "grail-gun", "grail-wage", "grpo-wage")


@pytest.fixture(scope="module")
def logs_dir(shared_data) -> Path:
    return shared_folder(shared_data, "reference-logs", "next_video")


@pytest.mark.parametrize("name", LOGS)
def test_published_logs_reproduce(logs_dir, name, tmp_path):
    out = tmp_path / "metrics.json"
    ours = score_predictions_file(logs_dir / f"{name}.predictions.jsonl.gz", out=out)
    pub = json.loads((logs_dir / f"{name}.metrics.json").read_text())
    assert json.loads(out.read_text()) == ours
    for key in ("n_total", "n_eligible", "gold_index_distribution", "baseline_most_frequent_gold_index",
                "random_baseline_expected_accuracy"):
        assert ours[key] == pub[key], key
    for key in ("hist_seen", "hist_eligible"):
        assert ours["by_n_options"][key] == pub["by_n_options"][key], key
    assert abs(ours["accuracy_overall"] - pub["accuracy_overall"]) < 0.005
    for group in ("by_issue", "by_participant_study"):
        assert {k: v["n_eligible"] for k, v in ours["group_metrics"][group].items()} == \
               {k: v["n_eligible"] for k, v in pub["group_metrics"][group].items()}
    lo, hi = ours["accuracy_ci95"]
    assert lo < ours["accuracy_overall"] < hi


def test_grpo_wage_differs_only_by_the_lenient_parser(logs_dir):
    "The README: a strict parser gives 0.4175 on grpo-wage, where the publishers accepted 2 untagged answers."
    rows = read_predictions(logs_dir / "grpo-wage.predictions.jsonl.gz")
    ours = score_next_video(rescore_rows(rows))
    assert round(ours["accuracy_overall"], 4) == 0.4175
    trusted = sum(bool(r["correct"]) for r in rows)
    assert trusted - ours["n_correct"] == 2


def test_leak_probes_on_published_gun(logs_dir):
    m = score_predictions_file(logs_dir / "grpo-gun.predictions.jsonl.gz")
    odd, last = m["baselines"]["leak_probe_odd_option"], m["baselines"]["pick_last_option"]
    assert odd["n"] == 548 and odd["n_without_signatures"] == 0
    assert odd["accuracy"] > 0.94 and last["accuracy"] > 0.94       # the leak: far above the 0.54 position prior
    assert m["baselines"]["most_frequent_gold_index_eval"]["accuracy"] < 0.55
    wage = score_predictions_file(logs_dir / "grpo-wage.predictions.jsonl.gz")
    assert wage["baselines"]["leak_probe_odd_option"]["accuracy"] < 0.5   # no such leak in the wage prompts


def test_wilson_interval_contains_the_rate_and_narrows():
    for k, n in [(1, 10), (5, 10), (9, 10), (50, 100)]:
        lo, hi = wilson_interval(k, n)
        assert 0 <= lo < k / n < hi <= 1
    assert wilson_interval(500, 1000)[1] - wilson_interval(500, 1000)[0] < wilson_interval(5, 10)[1] - wilson_interval(5, 10)[0]


def test_read_predictions_tolerates_only_a_truncated_last_line(tmp_path, caplog):
    p = tmp_path / "p.jsonl"
    p.write_text('{"example_id": "a"}\n{"example_id": "b"}\n{"example_id": "c", "comp')
    with caplog.at_level("WARNING"):
        assert [r["example_id"] for r in read_predictions(p)] == ["a", "b"]
    assert "truncated last line 3" in caplog.text
    p.write_text('{"example_id": "a"}\n{"example_id": \n{"example_id": "c"}\n')
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        read_predictions(p)
    gz = tmp_path / "p.jsonl.gz"
    with gzip.open(gz, "wt") as f: f.write('{"example_id": "a"}\n{"example_id": "b"}\n')
    assert len(read_predictions(gz)) == 2


def test_write_json_atomic_leaves_no_temporary(tmp_path):
    write_json_atomic({"a": 1}, tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_predictions_file_refuses_foreign_ids(tmp_path):
    p = tmp_path / "p.jsonl"
    PredictionsFile(p).load(["a", "b"]).append([{"example_id": "a"}])
    with pytest.raises(ValueError, match="not among the 2 examples"):
        PredictionsFile(p).load(["x", "y"])


def test_run_resumable_resumes_after_a_crash(tmp_path):
    examples = [{"example_id": str(i)} for i in range(7)]
    seen = []
    def gen(batch):
        seen.extend(e["example_id"] for e in batch)
        return [int(e["example_id"]) * 2 for e in batch]
    def crash(n, rows):
        if n == 2: raise RuntimeError("killed")
    with pytest.raises(RuntimeError):
        run_resumable(examples, tmp_path / "p.jsonl", gen, lambda e, o: {"x": o}, batch_size=2, on_batch=crash, progress=False)
    seen.clear()
    rows = run_resumable(examples, tmp_path / "p.jsonl", gen, lambda e, o: {"x": o}, batch_size=2, progress=False)
    assert seen == ["4", "5", "6"]
    assert [r["x"] for r in rows] == [2 * i for i in range(7)]


# --- evaluation on a tiny random model --------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny():
    from grpo_nb.model import build_tiny_model, build_tiny_tokenizer, example_prompt_texts
    tokenizer = build_tiny_tokenizer(example_prompt_texts(), vocab_size=512)
    return build_tiny_model(tokenizer, hidden_size=32, intermediate_size=64, initializer_range=0.2), tokenizer


def _examples(n=9):
    out = []
    for i in range(n):
        k = 2 + i % 4
        opts = "\n".join(f"{j}. Video {j} on wages (Channel {j}, {20 * j}s long)" for j in range(1, k + 1))
        out.append({"example_id": f"s{i}/{i % 3}/{i}", "gold_index": 1 + i % k, "n_options": k,
                    "prompt": [{"role": "system", "content": "Answer <think>…</think><answer>N</answer>."},
                               {"role": "user", "content": f"VIEWER {20 + i}-year-old\n\nOPTIONS\n{opts}\n\nQUESTIONS\n1. Which?"}],
                    "issue": "minimum_wage", "participant_study": "study2" if i % 2 else "study3",
                    "participant_id": f"p{i}", "session_id": f"s{i}", "step_index": i % 3})
    return out


def test_evaluate_interrupted_and_resumed_equals_uninterrupted(tiny, tmp_path):
    model, tokenizer = tiny
    examples = _examples()
    kw = dict(batch_size=2, max_new_tokens=8, progress=False, train_gold_indices=[1, 1, 2])
    full = evaluate_next_video(model, tokenizer, examples, tmp_path / "full", **kw)
    assert full["n_total"] == len(examples)
    assert full["baselines"]["most_frequent_gold_index_train"]["top_index"] == 1

    def kill_after(k):
        def cb(n, rows):
            if n == k: raise KeyboardInterrupt
        return cb
    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        evaluate_next_video(model, tokenizer, examples, cut, on_batch=kill_after(2), **kw)
    assert not (cut / "metrics.json").exists()
    p = cut / "predictions.jsonl"
    assert len(read_predictions(p)) == 4
    p.write_bytes(p.read_bytes()[:-10])                       # and the last line was cut mid-write
    evaluate_next_video(model, tokenizer, examples, cut, **kw)
    rows = read_predictions(p)
    ids = [r["example_id"] for r in rows]
    assert len(rows) == len(examples) and len(set(ids)) == len(ids) == len(examples)
    assert (cut / "metrics.json").read_text() == (tmp_path / "full" / "metrics.json").read_text()
    row = rows[0]
    for key in ("example_id", "messages", "completion", "parsed_index", "gold_index", "n_options", "correct",
                "eligible", "format_ok", "issue", "participant_study", "participant_id"):
        assert key in row, key
    # re-scoring our own file gives the same figures as the run itself
    assert score_predictions_file(p, train_gold_indices=[1, 1, 2]) == {k: v for k, v in full.items() if k != "settings"}


def test_evaluate_refuses_another_datasets_predictions(tiny, tmp_path):
    model, tokenizer = tiny
    evaluate_next_video(model, tokenizer, _examples(3), tmp_path, batch_size=4, max_new_tokens=4, progress=False)
    other = [dict(e, example_id="other/" + e["example_id"]) for e in _examples(3)]
    with pytest.raises(ValueError, match="belongs to"):
        evaluate_next_video(model, tokenizer, other, tmp_path, batch_size=4, max_new_tokens=4, progress=False)


def test_max_eval_samples(tiny, tmp_path):
    model, tokenizer = tiny
    m = evaluate_next_video(model, tokenizer, _examples(6), tmp_path, batch_size=4, max_new_tokens=4,
                            max_eval_samples=3, progress=False)
    assert m["n_total"] == 3 and len(read_predictions(tmp_path / "predictions.jsonl")) == 3
