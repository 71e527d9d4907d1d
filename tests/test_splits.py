"""Tests of the split rule (issue 10 A, J, remedies): every source kind gives disjoint train / evaluation participants."""
import json
import os

import pytest

from grpo_nb.config import load_recipe
from grpo_nb.prepare import (NoTrainingRowsError, ParticipantOverlapError, participant_overlap, prepare_split,
                             prepare_train_and_eval, resolve_source_splits)
from grpo_nb.synthetic import generate_rows

ROWS = generate_rows(n_participants=60)


def write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def demo(*extra, **overrides):
    # one example per evaluation row here: the demo recipe's eval_permutations (2) is tested in test_distribution
    if not overrides: return load_recipe("demo", list(extra), hardware_checks=False)
    return load_recipe("demo", overrides={"eval_permutations": 1, **overrides}, hardware_checks=False)


def people(examples):
    return {e["participant_id"] for e in examples}


@pytest.mark.parametrize("kind", ["file", "glob", "folder", "saved_dataset", "embedded"])
def test_sources_without_splits_are_split_by_participant(tmp_path, kind):
    import datasets
    write(tmp_path / "data" / "gun.jsonl", ROWS[: len(ROWS) // 2])
    write(tmp_path / "data" / "wage.jsonl", ROWS[len(ROWS) // 2:])
    if kind == "saved_dataset":
        columns = list(dict.fromkeys(k for r in ROWS for k in r))
        flat = [{k: (json.dumps(r[k]) if k.endswith("_json") else r.get(k)) for k in columns} for r in ROWS]
        datasets.Dataset.from_list(flat).save_to_disk(str(tmp_path / "saved"))
    source = {"file": tmp_path / "data" / "gun.jsonl", "glob": tmp_path / "data" / "*.jsonl",
              "folder": tmp_path / "data", "saved_dataset": tmp_path / "saved", "embedded": "embedded"}[kind]
    cfg = demo(dataset_name=str(source), embedded_participants=60)
    train, evaluation, stats = prepare_train_and_eval(cfg)
    assert train and evaluation and not participant_overlap(train, evaluation)
    splits = stats["splits"]
    assert splits["train"]["derived"] and splits["eval"]["derived"] and splits["shared_participants"] == 0
    assert splits["eval"]["source"].startswith("derived: 10% of participants held out by split_seed 0")
    assert splits["train"]["participants"] == len(people(train)) and splits["eval"]["rows"] == len(evaluation)
    expected = len(ROWS) // 2 if kind == "file" else len(ROWS)
    assert splits["train"]["rows"] + splits["eval"]["rows"] == expected
    # the one-side entry point agrees with the two-side one
    assert [e["example_id"] for e in prepare_split(cfg, "validation")[0]] == [e["example_id"] for e in evaluation]
    assert [e["example_id"] for e in prepare_split(cfg, "train")[0]] == [e["example_id"] for e in train]


def test_source_splits_are_used_as_they_are(tmp_path):
    write(tmp_path / "train.jsonl", [r for r in ROWS if r["participant_id"] < "syn-8"])
    write(tmp_path / "validation.jsonl", [r for r in ROWS if r["participant_id"] >= "syn-8"])
    train, evaluation, stats = prepare_train_and_eval(demo(dataset_name=str(tmp_path)))
    assert stats["splits"]["train"]["source"] == f"{tmp_path} split 'train'" and not stats["splits"]["train"]["derived"]
    assert stats["splits"]["eval"]["source"] == f"{tmp_path} split 'validation'"
    assert not participant_overlap(train, evaluation)


def test_the_same_split_for_both_is_refused_unless_allowed(tmp_path):
    write(tmp_path / "train.jsonl", ROWS[:100])
    write(tmp_path / "validation.jsonl", ROWS[100:])
    cfg = demo(dataset_name=str(tmp_path), dataset_train_split="validation")
    with pytest.raises(ParticipantOverlapError, match=r"share \d+ participant\(s\).*allow_participant_overlap: true"):
        prepare_train_and_eval(cfg)
    allowed = demo(dataset_name=str(tmp_path), dataset_train_split="validation", allow_participant_overlap=True)
    train, evaluation, stats = prepare_train_and_eval(allowed)
    assert stats["splits"]["overlap_allowed"] and stats["splits"]["shared_participants"] == len(people(evaluation)) > 0
    assert issubclass(ParticipantOverlapError, ValueError)


def test_train_only_and_eval_only_sources(tmp_path):
    write(tmp_path / "a" / "train.jsonl", ROWS)
    sides = resolve_source_splits(demo().script, str(tmp_path / "a"))
    assert sides["eval"]["source"].endswith(f"from {tmp_path / 'a'} split 'train'") and sides["eval"]["derived"]
    assert len(sides["train"]["rows"]) + len(sides["eval"]["rows"]) == len(ROWS)
    write(tmp_path / "b" / "validation.jsonl", ROWS)
    cfg = demo(dataset_name=str(tmp_path / "b"))
    examples, stats = prepare_split(cfg, "validation")
    assert stats["rows_in"] == len(ROWS) and not stats["split_source"]["derived"]    # an evaluation split stays whole
    with pytest.raises(NoTrainingRowsError, match="no training rows"):
        prepare_train_and_eval(cfg)


def test_mixture_parts_are_split_each(tmp_path):
    gun = write(tmp_path / "gun.jsonl", [r for r in ROWS if r["issue"] == "gun_control"])
    wage = write(tmp_path / "wage.jsonl", [r for r in ROWS if r["issue"] == "minimum_wage"])
    cfg = demo(dataset_mixture=[{"name": str(gun), "weight": 0.5}, {"name": str(wage), "weight": 0.5}])
    train, evaluation, stats = prepare_train_and_eval(cfg)
    assert not participant_overlap(train, evaluation) and stats["splits"]["eval"]["derived"]
    assert {e["issue"] for e in evaluation} == {"gun_control", "minimum_wage"}
    assert " + " in stats["splits"]["eval"]["source"]


def test_max_eval_samples_takes_whole_participants(tmp_path):
    cfg = demo(embedded_participants=400, max_eval_samples=40)
    _, evaluation, stats = prepare_train_and_eval(cfg)
    sample = stats["eval"]["sample"]
    assert sample["rows_sampled"] == len(evaluation) <= 40 and sample["participants_sampled"] == len(people(evaluation))
    assert sample["participants_sampled"] < sample["participants_available"]
    assert sample["summary"] == (f"{sample['rows_sampled']} of {sample['rows_available']} rows, "
                                 f"{sample['participants_sampled']} of {sample['participants_available']} participants")
    full = prepare_train_and_eval(demo(embedded_participants=400))[1]
    per_person = lambda ex: {p: sum(e["participant_id"] == p for e in ex) for p in people(ex)}
    whole = per_person(full)
    assert all(n == whole[p] for p, n in per_person(evaluation).items())           # every sampled person whole
    assert [e["example_id"] for e in full[:len(evaluation)]] != [e["example_id"] for e in evaluation]   # not the first N


def test_eval_permutations_only_on_evaluation():
    train, evaluation, stats = prepare_train_and_eval(demo(embedded_participants=60, eval_permutations=3))
    assert len(evaluation) == 3 * stats["splits"]["eval"]["rows"] and stats["eval"]["permutations"] == 3
    assert {e["permutation"] for e in train} == {0} and {e["permutation"] for e in evaluation} == {0, 1, 2}
    assert all(e["example_id"].endswith(f"#p{e['permutation']}") for e in evaluation if e["permutation"])
    for e in evaluation:
        assert 1 <= e["gold_index"] <= e["n_options"]
    by_slate = {}
    for e in evaluation: by_slate.setdefault(e["example_id"].split("#")[0], set()).add(e["slate_id"])
    assert all(len(ids) == 1 for ids in by_slate.values())


@pytest.fixture
def gun_file(shared_data):
    path = shared_data / "grail-sample" / "gun_control.jsonl.gz"
    if not path.exists(): pytest.skip(f"{path} missing")
    return path


def gun_recipe(path, **extra):
    return load_recipe("gun", overrides={"dataset_name": str(path), **extra}, hardware_checks=False)


def test_real_gun_file_train_and_eval_are_disjoint(gun_file):
    train, evaluation, stats = prepare_train_and_eval(gun_recipe(gun_file))
    splits = stats["splits"]
    assert (splits["train"]["rows"], splits["train"]["participants"]) == (500, 148)   # 501 less 1 duplicate_row
    assert (splits["eval"]["rows"], splits["eval"]["participants"]) == (47, 14)
    assert splits["shared_participants"] == 0 and not participant_overlap(train, evaluation)
    assert stats["eval"]["sample"]["summary"] == "47 of 47 rows, 14 of 14 participants"   # max_eval_samples 512


def test_real_gun_remedies_are_counted(gun_file):
    _, _, stats = prepare_train_and_eval(gun_recipe(gun_file, drop_appended_gold=True))
    assert stats["train"]["dropped"] == {"appended_gold": 478} and stats["eval"]["dropped"] == {"appended_gold": 44}
    assert (stats["splits"]["train"]["rows"], stats["splits"]["eval"]["rows"]) == (23, 3)
    # every gun training slate shows a video offered on an evaluation slate: the hold-out leaves nothing to train on
    with pytest.raises(ValueError, match=r"every row was dropped .*\(duplicate_row=1, video_in_eval=500\)"):
        prepare_train_and_eval(gun_recipe(gun_file, video_holdout="eval_videos"))


def test_every_training_row_held_out_gives_no_audit_and_says_why(shared_data):
    """video_holdout drops every gun training row (each shows a video an evaluation slate offers): evaluation goes on,
    nothing is claimed as learned on train, and the audit says why it is missing."""
    from grpo_nb.config import load_recipe
    from grpo_nb.prepare import prepare_for_evaluation
    gun = shared_data / "grail-sample" / "gun_control.jsonl.gz"
    cfg = load_recipe("gun", overrides={"dataset_name": str(gun), "video_holdout": "eval_videos",
                                        "bootstrap_resamples": 100}, hardware_checks=False)
    prepared = prepare_for_evaluation(cfg)
    assert prepared["train_examples"] == [] and len(prepared["eval_examples"]) == 47
    assert prepared["stats"]["train"]["dropped"]["video_in_eval"] == 500
    assert prepared["stats"]["audit"]["note"] == ("not computed: no training rows left after cleaning, filters and "
                                                  "remedies (see train.dropped)")


# issue 11 round 2: a split name the source lacks is derived only when it is one the project derives --------------

from grpo_nb.data import SlateSourceError, SplitNotFoundError
from grpo_nb.prepare import DERIVED_SPLIT_NAMES, prepare_for_evaluation, prepare_split_to_file


@pytest.mark.parametrize("kind", ["embedded", "file", "folder_without_splits"])
def test_misspelt_eval_split_is_refused_naming_the_nearest(tmp_path, kind):
    write(tmp_path / "data" / "gun.jsonl", ROWS)
    source = {"embedded": "embedded", "file": str(tmp_path / "data" / "gun.jsonl"),
              "folder_without_splits": str(tmp_path / "data")}[kind]
    cfg = demo(dataset_name=source, embedded_participants=60)
    expected = (r"has no split 'validaton' \(--split / dataset_test_split\): its splits: none .*"
                r"Did you mean 'validation'\?")
    with pytest.raises(SplitNotFoundError, match=expected): prepare_for_evaluation(cfg, eval_split="validaton")
    with pytest.raises(SplitNotFoundError, match=expected): prepare_split(cfg, "validaton")
    with pytest.raises(SplitNotFoundError, match=expected): prepare_split_to_file(cfg, "validaton", tmp_path / "out")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    assert issubclass(SplitNotFoundError, SlateSourceError)               # the CLI's exit 2


def test_misspelt_split_keys_in_the_recipe_are_refused(tmp_path):
    with pytest.raises(SplitNotFoundError, match=r"no split 'validaton' \(--split / dataset_test_split\)"):
        prepare_train_and_eval(demo(dataset_test_split="validaton", embedded_participants=60))
    with pytest.raises(SplitNotFoundError, match=r"no split 'trian' \(dataset_train_split\).*Did you mean 'train'\?"):
        prepare_train_and_eval(demo(dataset_train_split="trian", embedded_participants=60))
    write(tmp_path / "validation.jsonl", ROWS)               # an evaluation-only source: a train typo is not "no train"
    with pytest.raises(SplitNotFoundError, match=r"no split 'trian' \(dataset_train_split\): its splits: validation"):
        prepare_for_evaluation(demo(dataset_name=str(tmp_path), dataset_train_split="trian"))


def test_a_split_the_source_lacks_is_not_derived_when_it_has_others(tmp_path):
    write(tmp_path / "train.jsonl", [r for r in ROWS if r["participant_id"] < "syn-8"])
    write(tmp_path / "validation.jsonl", [r for r in ROWS if r["participant_id"] >= "syn-8"])
    cfg = demo(dataset_name=str(tmp_path))
    with pytest.raises(SplitNotFoundError, match=r"has no split 'test' .*has the split\(s\) train, validation, so "
                                                 r"'test' is not derived from 'train'"):
        prepare_for_evaluation(cfg, eval_split="test")
    with pytest.raises(SplitNotFoundError, match=r"Did you mean 'validation'\?"):
        prepare_split_to_file(cfg, "validaton", tmp_path / "out")
    assert prepare_split(cfg, "validation")[1]["split_source"]["source"] == f"{tmp_path} split 'validation'"


@pytest.mark.parametrize("name", ["test", "dev", "eval"])
def test_derivable_names_still_derive(tmp_path, name):
    assert name in DERIVED_SPLIT_NAMES
    write(tmp_path / "a" / "train.jsonl", ROWS)
    for source in ("embedded", str(tmp_path / "a")):
        _, stats = prepare_split(demo(dataset_name=source, embedded_participants=60), name)
        assert stats["split_source"]["derived"] and stats["split"] == name


def test_cli_misspelt_split_is_exit_2_without_traceback(tmp_path):
    import subprocess, sys
    proc = subprocess.run([sys.executable, "-m", "grpo_nb", "prepare", "--recipe", "demo", "--split", "validaton",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("grpo-nb prepare: error: the embedded dataset has no split 'validaton'")
    assert "Did you mean 'validation'?" in proc.stderr
