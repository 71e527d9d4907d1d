"""Slate files that cannot be read as they are — not UTF-8, empty, a cut gzip — are errors that name the file and
what it held, never rows silently lost (moved from test_hardening.py, unchanged)."""
import gzip
import json
import logging
from pathlib import Path

import pytest
from conftest import jsonl, make_row

from grpo_nb.data import SlateSourceError, load_slates


@pytest.mark.parametrize("name", ["rows.jsonl", "rows.jsonl.gz", "rows.csv"])
def test_bytes_that_are_not_utf8_refuse_the_file_naming_file_and_line(tmp_path, name):
    """Refused, not dropped: a wrong encoding hits exactly the rows with accented or non-Latin titles, so dropping
    them would bias the sample by language; re-encoding the file is the fix, and the message says how."""
    good = json.dumps(make_row()).encode()
    bad = good.replace(b"Now playing", b"Caf\xe9 con leche")
    if name.endswith(".csv"):
        data = b"issue,participant_id,current_video_title\ngun_control,p1,ok\ngun_control,p2,Caf\xe9\n"
    else:
        data = good + b"\n" + good + b"\n" + bad + b"\n"
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    with pytest.raises(SlateSourceError, match=rf"{name}: line 3 is not UTF-8 \(byte 0xe9\).*iconv"):
        load_slates(path)


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + jsonl([make_row(), make_row(step=2)]))
    assert len(load_slates(path)) == 2


def _write_empty(path: Path):
    import pyarrow as pa, pyarrow.parquet as pq
    if path.name == "schema_only.parquet": pq.write_table(pa.table({"issue": pa.array([], pa.string())}), path)
    elif path.name == "header_only.csv": path.write_text("issue,participant_study,participant_id,next_video_id\n")
    elif path.name == "blank_lines.jsonl": path.write_text("\n  \n\n")
    elif path.name == "empty_array.json": path.write_text("[]")
    elif path.name.endswith(".gz"): path.write_bytes(gzip.compress(b""))
    else: path.write_bytes(b"")


EMPTY_FILES = {"empty.jsonl": "empty file", "empty.jsonl.gz": "empty file", "blank_lines.jsonl": "empty file",
               "empty.csv": "empty file", "header_only.csv": "header only, no data rows", "empty.parquet": "empty file",
               "schema_only.parquet": "no rows", "empty_array.json": "no rows"}


@pytest.mark.parametrize("name", sorted(EMPTY_FILES))
def test_a_source_without_rows_is_an_error_that_says_what_the_file_held(tmp_path, name):
    path = tmp_path / name
    _write_empty(path)
    with pytest.raises(SlateSourceError, match=rf"no rows to load: .*{name}: {EMPTY_FILES[name]}"):
        load_slates(path)


def test_an_empty_file_beside_real_ones_is_skipped_with_a_warning(tmp_path, caplog):
    (tmp_path / "a.jsonl").write_bytes(jsonl([make_row()]))
    (tmp_path / "b.csv").write_text("issue,participant_id\n")
    with caplog.at_level(logging.WARNING, logger="grpo_nb.data"):
        assert len(load_slates(tmp_path)) == 1
    assert "hold no rows and were skipped" in caplog.text and "b.csv" in caplog.text


def test_a_cut_gzip_file_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(jsonl([make_row()] * 50))[:-20])
    with pytest.raises(SlateSourceError, match="cut.jsonl.gz: not a complete gzip file"):
        load_slates(path)
