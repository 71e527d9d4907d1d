"""Hostile and huge text in the source: control characters never reach an option line, 10,000-character fields
are cut, and the prompt stays bounded — on made-up rows and on the real sample (moved from test_hardening.py,
unchanged)."""
from conftest import make_row, user_text

from grpo_nb.data import clean_rows, load_slates
from grpo_nb.prompts import option_block_lines, prepare_examples


HOSTILE = "Bad\x00title\x1b[31m red\x1b[0m\nsecond line\r\u2028sep\u2029para\x85nel\u202eRTL\u200bzw\x7f\ttab"


def test_control_characters_in_titles_never_reach_an_option_line():
    slate = [{"id": "a", "title": HOSTILE, "channel_title": "Ch\x00an\nnel"}, {"id": "b", "title": "ok\r\n", "channel_title": "x"}]
    row = make_row(slate_items_json=slate, gold="b", current_video_title=HOSTILE, current_video_channel="A\nB",
                   watched_detailed_json=[{"id": "old", "title": HOSTILE}, {"id": "cur", "title": "Now"}],
                   viewer_profile_sentence="A viewer\x1b[2J who\nlikes guns")
    kept, _ = clean_rows([row])
    example = prepare_examples(kept)[0]
    text = user_text(example)
    for ch in "\x00\x1b\r\u2028\u2029\x85\u202e\u200b\x7f\t":
        assert ch not in text, repr(ch)
    options = option_block_lines(text)
    assert len(options) == example["n_options"] == 2
    assert options[0].startswith("Badtitle[31m red[0m second line sep para nel") and options[1] == "ok (x)"
    blocks = text.split("\n\n")
    assert [len(b.splitlines()) for b in blocks[:3]] == [1, 1, 2]      # viewer, current video, one history line


def test_10000_character_fields_are_truncated_and_the_prompt_is_bounded():
    from grpo_nb.prompts import MAX_CHANNEL_CHARS, MAX_CONTEXT_CHARS
    huge, words = "x" * 10_000, "word " * 2_000
    slate = [{"id": "a", "title": huge, "channel_title": huge}, {"id": "b", "title": words, "channel_title": huge},
             {"id": "c" * 10_000}]                                    # no title: the id stands in, cut too
    row = make_row(slate_items_json=slate, gold="b", current_video_title=huge, current_video_channel=huge,
                   viewer_profile_sentence=words, initial_viewpoint=huge, survey_highlights=words,
                   watched_detailed_json=[{"id": "old", "title": huge, "channel_title": huge}, {"id": "cur"}])
    example = prepare_examples(clean_rows([row])[0], max_title_chars=120)[0]
    text = user_text(example)
    options = option_block_lines(text)
    assert len(options) == 3 and all(len(line) <= 120 + MAX_CHANNEL_CHARS + 5 for line in options)
    assert max(len(line) for line in text.splitlines()) <= MAX_CONTEXT_CHARS + len("Initial Viewpoint: ")
    assert len(text) < 3 * MAX_CONTEXT_CHARS + 5 * (120 + MAX_CHANNEL_CHARS) + 500
    assert "…" in options[0] and options[1].startswith("word word") and example["gold_index"] == 2


def test_real_titles_reach_prompts_clean_and_bounded(shared_data):
    from grpo_nb.prompts import MAX_CHANNEL_CHARS
    kept, stats = clean_rows(load_slates(shared_data / "grail-sample"))
    assert stats.rows_kept == stats.rows_in - stats.rows_dropped > 1000
    for example in prepare_examples(kept, max_title_chars=120):
        text = user_text(example)
        assert not any(ch in text for ch in "\x00\x1b\r\t\u2028\u2029")
        options = option_block_lines(text)
        assert len(options) == example["n_options"]
        assert all(len(line) <= 120 + MAX_CHANNEL_CHARS + 80 for line in options)
