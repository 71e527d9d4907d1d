"""Shared fixtures: offline hub, the real-data folder when present; builders of source rows and prediction rows."""
import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real data (`../shared/data`), named by GRPO_NB_SHARED_DATA; skip when it is not set."""
    root = os.environ.get("GRPO_NB_SHARED_DATA")
    if not root:
        pytest.skip("GRPO_NB_SHARED_DATA is not set: real-data tests skipped")
    path = Path(root)
    if not path.is_dir():
        pytest.skip(f"GRPO_NB_SHARED_DATA={root} is not a folder")
    return path


def shared_folder(shared_data: Path, *parts: str) -> Path:
    """A folder inside the real-data folder; skip when it is missing."""
    folder = shared_data.joinpath(*parts)
    if not folder.is_dir():
        pytest.skip(f"{folder} does not exist")
    return folder



def make_row(pid="p1", step=1, slate=("a", "b", "c"), gold="b", **extra):
    "One cleaned-slate row in the published schema (study 1), with one earlier video in its history."
    row = dict(issue="gun_control", participant_study="study1", participant_id=pid, session_id=f"{pid}-s",
               step_index=step, current_video_id="cur", current_video_title="Now playing", current_video_channel="Chan",
               next_video_id=gold,
               slate_items_json=[{"id": i, "title": f"Video {i}", "channel_title": "C"} for i in slate],
               watched_detailed_json=[{"id": "old", "title": "Earlier"}, {"id": "cur", "title": "Now playing"}],
               gun_index=0.25, gun_index_2=0.5)
    row.update(extra)
    return row


def jsonl(rows) -> bytes:
    "`rows` as the bytes of a JSON lines file."
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def user_text(example) -> str:
    "The user message of a prepared example."
    return example["prompt"][1]["content"]


def nv_row(i, gold=2, n=3, answer=2, **extra):
    "A next-video predictions row answering `answer` for a slate of `n` whose gold is `gold`."
    return {"example_id": f"s{i}/0/{i}", "completion": f"<think>t</think><answer>{answer}</answer>", "gold_index": gold,
            "n_options": n, "issue": "gun_control", "participant_study": "study1", **extra}


def op_row(i, before=0.4, after=0.5, answer="0.5", **extra):
    "An opinion predictions row of participant `p{i}` answering the index `answer`."
    return {"example_id": f"gun_control/study1/p{i}", "participant_id": f"p{i}", "issue": "gun_control",
            "study": "study1", "step_index": 3, "before": before, "after": after,
            "completion": f"<think>t</think><answer>{answer}</answer>", **extra}
