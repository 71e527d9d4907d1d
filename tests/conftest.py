"""Shared fixtures: offline hub, a temporary cache for the embedded model, the real-data folder when present."""
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
