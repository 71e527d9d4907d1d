"""Tests of grpo_nb.prompts: leak-free rendering, history, post-treatment columns, prepared examples."""
import gzip, json, re

import pytest

from grpo_nb.prompts import (PRE_TREATMENT_COLUMNS, READY_TEXT_COLUMNS, build_next_video_messages,
                             build_opinion_messages, display_text, history_before_current, is_post_treatment,
                             odd_option, odd_option_gold_share, option_signatures, order_options, prepare_examples,
                             render_options, render_survey_highlights, render_viewer_profile)


def read_jsonl_gz(path):
    with gzip.open(path, "rt", encoding="utf-8") as f: return [json.loads(line) for line in f if line.strip()]


SLATE = [
    {"id": "v1", "title": "Democrats Need to Listen to Gun Owners", "channel_title": "The Atlantic",
     "duration_seconds": 231, "view_count": 29001, "like_count": 379, "comment_count": 40},
    {"id": "v2", "title": "Gun Massacre Forces Change in Australia", "view_count": 80464, "like_count": 2772},
    {"id": "v3", "title": "How the NRA hijacks gun control debates", "channel_title": "Vox", "duration_seconds": 402,
     "view_count": 1183266, "like_count": 36035, "comment_count": 40},
]


def make_row(**overrides):
    row = dict(
        issue="gun_control", participant_study="study1", participant_id="p1", session_id="p1-s1", step_index=1,
        age=35, q26="Man", q29="White (non-Hispanic)", q31="$50,000-$59,999", pid1="Independent", ideo1="Moderate",
        college=True, freq_youtube=3, gun_index=0.3, initial_viewpoint="Opposes an assault weapons ban",
        current_video_id="cur", current_video_title="Current video", current_video_channel="Sky News",
        watched_detailed_json=json.dumps([
            {"id": "old", "title": "Old video", "channel_title": "GMB", "watch_seconds": 10, "total_length": 20},
            {"id": "cur", "title": "Current video", "channel_title": "Sky News"},
            {"id": "v2", "title": "FUTURE_VIDEO", "channel_title": "Future"}]),
        slate_items_json=json.dumps(SLATE), next_video_id="v2", gold_index=2,
        opinion_before=0.3, opinion_after=0.987654, opinion_direction="SENTINEL_DIRECTION",
        gun_index_2="SENTINEL_GUN_2", mw_index_w2="SENTINEL_MW_W2", minwage15_w3="SENTINEL_W3",
        opinion_after_text="SENTINEL_AFTER")
    row.update(overrides)
    return row


def user_text(example): return example["prompt"][1]["content"]


def test_viewer_profile_from_columns():
    assert render_viewer_profile(make_row()) == ("35-year-old, White (non-Hispanic) man; independent moderate; "
                                                 "$50,000-$59,999; college-educated; watches YouTube weekly.")
    # ready-made text only when named (changed in issue 10: it used to win whenever present)
    assert render_viewer_profile(make_row(viewer_profile_sentence="Given."), ["viewer_profile_sentence"]) == "Given."
    assert render_viewer_profile(make_row(viewer_profile_sentence="Given.")) == render_viewer_profile(make_row())
    assert render_viewer_profile({"age": None, "pid1": float("nan")}) == ""


def test_no_post_treatment_value_in_any_prompt():
    row = make_row()
    prompts = [build_next_video_messages(row, **kw)["prompt"] for kw in
               ({}, {"option_fields": "all"}, {"ask_opinion": True}, {"option_order": "shuffle", "example_key": "k"})]
    prompts.append(build_opinion_messages(row)["prompt"])
    for prompt in prompts:
        text = "\n".join(m["content"] for m in prompt)
        for sentinel in ("SENTINEL", "0.98", "99%"):
            assert sentinel not in text
    assert "30%" in render_survey_highlights(row)                      # the pre-treatment index is shown
    assert all(not is_post_treatment(c) for c in PRE_TREATMENT_COLUMNS)
    assert all(is_post_treatment(c) for c in ("gun_index_2", "mw_index_w2", "opinion_after", "opinion_direction"))


def test_history_never_holds_current_or_future():
    row = make_row()
    assert [e["id"] for e in history_before_current(row)] == ["old"]
    text = user_text(build_next_video_messages(row)).split("OPTIONS")[0]
    assert "FUTURE_VIDEO" not in text and "1. Old video" in text and "2. " not in text
    shifted = make_row(step_index=2)                                    # misaligned: entry 2 is not the current video
    assert [e["id"] for e in history_before_current(shifted)] == ["old"]


def test_common_fields_do_not_mark_the_gold():
    leaky = option_signatures("OPTIONS\n" + "\n".join(f"{i}. {l}" for i, l in enumerate(render_options(SLATE, fields="all"), 1)))
    assert odd_option(leaky) == 2
    common = option_signatures(user_text(build_next_video_messages(make_row())))
    assert len(common) == 3 and len(set(common)) == 1 and odd_option(common) is None
    assert render_options(SLATE, fields="title") == [i["title"] for i in SLATE]
    with pytest.raises(ValueError, match="did you mean 'common'"): render_options(SLATE, fields="comon")


def test_titles_cleaned_and_truncated():
    line = render_options([{"id": "x", "title": "Breaking:\nnews\t" + "word " * 60}], max_title_chars=80)[0]
    assert "\n" not in line and "\t" not in line and len(line) <= 80 and line.endswith("…")
    assert display_text('a ""quoted"" \u200btitle') == 'a "quoted" title'


def test_shuffle_is_seeded_per_example_and_moves_gold():
    items, gold = order_options(SLATE, 2, order="shuffle", seed=3, key="p1-s1/1/0")
    assert items[gold - 1]["id"] == "v2"
    assert order_options(SLATE, 2, order="shuffle", seed=3, key="p1-s1/1/0") == (items, gold)
    firsts = {order_options(list(range(6)), 1, order="shuffle", seed=0, key=f"k{i}")[0][0] for i in range(100)}
    assert len(firsts) == 6
    with pytest.raises(ValueError, match="key"): order_options(SLATE, 2, order="shuffle")


def test_opinion_prompt_uses_one_scale():
    example = build_opinion_messages(make_row())
    text = "\n".join(m["content"] for m in example["prompt"])
    assert "Pre-study opinion index (0 = strongly opposes stricter gun regulation, 1 = strongly supports" in text
    assert ": 0.30" in text and "1–7" not in text and "1-7" not in text and "7 =" not in text
    wage = build_opinion_messages(make_row(issue="minimum_wage"))
    assert "raising the minimum wage" in user_text(wage)


def test_prepare_examples_contract_at_published_size():
    rows = [make_row(), make_row(step_index=2, current_video_id="v2", next_video_id="v3", gold_index=3)] * 12_000
    examples = prepare_examples(rows, option_order="shuffle", option_seed=1)
    assert len(examples) == len(rows)
    first = examples[0]
    assert set(first) == {"example_id", "prompt", "gold_index", "n_options", "option_ids", "issue", "participant_study",
                          "participant_id", "session_id", "step_index", "opinion_before", "opinion_after",
                          "opinion_direction", "slate_id", "permutation", "option_titles", "option_channels",
                          "option_watched", "option_stances", "viewer_party", "viewer_ideology"}
    assert (first["viewer_party"], first["viewer_ideology"], first["permutation"]) == ("Independent", "Moderate", 0)
    assert first["option_channels"][first["option_ids"].index("v2")] is None
    assert first["example_id"] == "p1-s1/1/0" and examples[2]["example_id"] == "p1-s1/1/2"
    assert len({e["example_id"] for e in examples}) == len(rows)
    for e, r in zip(examples[:50], rows[:50]): assert e["option_ids"][e["gold_index"] - 1] == r["next_video_id"]
    with pytest.raises(ValueError, match=r"row 1 \(p1-s1/1/1\)"):
        prepare_examples([make_row(), make_row(slate_items_json="[]")])


def test_leak_probe_on_real_gun_slates(shared_data):
    root = shared_data
    gun = read_jsonl_gz(root / "grail-sample" / "gun_control.jsonl.gz")
    golds = [r["gold_index"] for r in gun]
    leaky = odd_option_gold_share([user_text(build_next_video_messages(r, option_fields="all")) for r in gun], golds)
    common = odd_option_gold_share([user_text(build_next_video_messages(r)) for r in gun], golds)
    published = read_jsonl_gz(root / "reference-logs" / "next_video" / "grpo-gun.predictions.jsonl.gz")
    published_share = odd_option_gold_share([r["messages"][1]["content"] for r in published],
                                            [r["gold_index"] for r in published])
    assert leaky > 0.9 and published_share > 0.9
    assert common < 0.10


def test_all_fields_reproduces_published_gun_prompts(shared_data):
    root = shared_data
    gun = read_jsonl_gz(root / "grail-sample" / "gun_control.jsonl.gz")
    published = read_jsonl_gz(root / "reference-logs" / "next_video" / "grpo-gun.predictions.jsonl.gz")
    def comparable(text):   # undo doubled quotes; percentages come from unrounded watch times we do not have
        return re.sub(r"\(\d+% complete\)", "(P)", re.sub(r'"{2,}', '"', text.split("\n\nQUESTIONS")[0]))
    expected = {comparable(r["messages"][1]["content"]) for r in published}
    ours = [comparable(user_text(build_next_video_messages(r, option_fields="all", max_title_chars=None,
                                                           profile_text_columns=READY_TEXT_COLUMNS))) for r in gun]
    assert sum(text in expected for text in ours) == len(gun)


def test_real_sample_history_and_gold(shared_data):
    root = shared_data
    rows = [r for name in ("gun_control", "minimum_wage") for r in read_jsonl_gz(root / "grail-sample" / f"{name}.jsonl.gz")]
    examples = prepare_examples(rows)
    for e, r in zip(examples, rows):
        history = history_before_current(r, max_history=None)
        assert len(history) == r["step_index"] and r["current_video_id"] not in [h["id"] for h in history]
        assert e["option_ids"][e["gold_index"] - 1] == r["next_video_id"] and e["n_options"] == r["n_options"]


def test_ready_made_text_reaches_the_prompt_only_when_named():
    row = make_row(viewer_profile_sentence="READY_PROFILE", survey_highlights="READY_HIGHLIGHTS", persona_note="NOTE")
    default = "\n".join(m["content"] for m in build_next_video_messages(row)["prompt"] + build_opinion_messages(row)["prompt"])
    for text in ("READY_PROFILE", "READY_HIGHLIGHTS", "Opposes an assault weapons ban", "NOTE"):
        assert text not in default
    named = user_text(build_next_video_messages(row, profile_text_columns=["initial_viewpoint", "persona_note"]))
    assert "Initial Viewpoint: Opposes an assault weapons ban" in named and "Persona note: NOTE" in named
    assert "READY_PROFILE" not in named
    opinion = user_text(build_opinion_messages(row, profile_text_columns=["survey_highlights"]))
    assert "READY_HIGHLIGHTS" in opinion
    with pytest.raises(ValueError, match="post-treatment"):
        prepare_examples([row], profile_text_columns=["viewpoint_w2"])


def test_wage_sample_prompts_carry_no_ready_made_text(shared_data):
    from grpo_nb.config import load_recipe
    from grpo_nb.prepare import prepare_train_and_eval
    path = shared_data / "grail-sample" / "minimum_wage.jsonl.gz"
    rows = read_jsonl_gz(path)
    cfg = load_recipe("wage", overrides={"dataset_name": str(path)}, hardware_checks=False)
    train, evaluation, stats = prepare_train_and_eval(cfg)
    assert len(train) + len(evaluation) == len(rows) - 2 == 1023     # one slate logged with two golds: conflicting_gold
    texts = {r[c] for r in rows for c in READY_TEXT_COLUMNS if r.get(c)}
    assert len(texts) > 200
    prompts = ["\n".join(m["content"] for m in e["prompt"]) for e in train + evaluation]
    prompts += ["\n".join(m["content"] for m in build_opinion_messages(r)["prompt"]) for r in rows if r["opinion_before"] is not None]
    assert not [t for t in texts if any(t in p for p in prompts)]
    assert "Initial Viewpoint" not in "".join(prompts) and "SURVEY HIGHLIGHTS" not in "".join(prompts)
    assert stats["prompt_fields"]["reached_prompt"] == ["age"]
    assert stats["prompt_fields"]["text_columns_excluded"] == ["initial_viewpoint", "survey_highlights",
                                                               "viewer_profile_sentence"]


def test_shuffle_depends_on_the_slate_not_the_row_number(shared_data):
    gun = read_jsonl_gz(shared_data / "grail-sample" / "gun_control.jsonl.gz")
    every = prepare_examples(gun, option_order="shuffle", option_seed=0)
    later = prepare_examples(gun[1:], option_order="shuffle", option_seed=0)
    assert len(later) == 547
    assert sum(a["option_ids"] != b["option_ids"] for a, b in zip(every[1:], later)) == 0
    assert [a["slate_id"] for a in every[1:]] == [b["slate_id"] for b in later]
    moved = sum(a["option_ids"] != [i["id"] for i in r["slate_items_json"]] for a, r in zip(every, gun))
    assert moved > 300                                                  # it does shuffle
    other_seed = prepare_examples(gun, option_order="shuffle", option_seed=1)
    assert sum(a["option_ids"] != b["option_ids"] for a, b in zip(every, other_seed)) > 300


def test_permutations_share_the_slate_and_move_the_gold():
    rows = [make_row(), make_row(step_index=2, current_video_id="v2", next_video_id="v3", gold_index=3)]
    examples = prepare_examples(rows, permutations=4, option_order="as_logged")
    assert [e["example_id"] for e in examples[:4]] == ["p1-s1/1/0", "p1-s1/1/0#p1", "p1-s1/1/0#p2", "p1-s1/1/0#p3"]
    assert examples[0]["option_ids"] == ["v1", "v2", "v3"] and [e["permutation"] for e in examples[:4]] == [0, 1, 2, 3]
    assert len({e["slate_id"] for e in examples[:4]}) == 1
    for e, r in zip(examples, [rows[0]] * 4 + [rows[1]] * 4):
        assert e["option_ids"][e["gold_index"] - 1] == r["next_video_id"]
        assert e["option_titles"][e["gold_index"] - 1] == next(i["title"] for i in SLATE if i["id"] == r["next_video_id"])
