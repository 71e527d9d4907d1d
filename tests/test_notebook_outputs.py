"""The notebooks are stored with their outputs (as fastcore's are), and those outputs depend neither on the machine nor
on the moment: `tools/store_outputs.py` writes them, and these tests hold every stored output to its rules."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("store_outputs", ROOT / "tools" / "store_outputs.py")
store_outputs = importlib.util.module_from_spec(spec); spec.loader.exec_module(store_outputs)
NOTEBOOKS = sorted((ROOT / "nbs").glob("[0-9][0-9]_*.ipynb"))


def stored_outputs(path: Path) -> list[tuple[int, dict]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(i, o) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code" for o in c.get("outputs", [])]


@pytest.mark.parametrize("output, why", [
    ({"output_type": "stream", "name": "stdout", "text": ["/tmp/tmpab12cd/run/metrics.json\n"]}, "a machine path"),
    ({"output_type": "stream", "name": "stdout", "text": ["finished 2026-12-02T10:00:00+00:00\n"]}, "a timestamp"),
    ({"output_type": "execute_result", "data": {"text/plain": ["<Foo object at 0x7f3a2b1c9d10>"]}}, "a memory address"),
    ({"output_type": "stream", "name": "stdout", "text": ["token hf_" + "a1B2" * 6 + "\n"]}, "a secret"),
    ({"output_type": "stream", "name": "stdout", "text": ["step took 0.84 s/step\n"]}, "a duration"),
    ({"output_type": "stream", "name": "stdout", "text": ["x" * 5000]}, "over 4,000 characters"),
    ({"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": ["<Figure>"]}}, "an image or widget"),
    ({"output_type": "error", "ename": "ValueError", "evalue": "boom", "traceback": []}, "an error"),
])
def test_the_rules_refuse_volatile_outputs(output, why):
    assert store_outputs.volatile_reason(output) == why


def test_the_rules_keep_plain_outputs():
    plain = [{"output_type": "execute_result", "data": {"text/plain": ["{'accuracy': 0.5, 'n': 12}"]}},
             {"output_type": "stream", "name": "stdout", "text": ["unknown stage 'evalute' (did you mean 'evaluate'?)\n"]}]
    assert [store_outputs.volatile_reason(o) for o in plain] == [None, None]


def test_every_numbered_notebook_is_checked():
    assert len(NOTEBOOKS) >= 18 and all(p.name[:2].isdigit() for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_hold_nothing_of_the_machine_or_the_moment(path):
    bad = [(i, store_outputs.volatile_reason(o)) for i, o in stored_outputs(path) if store_outputs.volatile_reason(o)]
    assert not bad, f"{path.name}: cells {bad} store outputs that must not be stored (run tools/store_outputs.py)"


def test_the_notebooks_show_what_they_do():
    with_output = {p.name: len({i for i, _ in stored_outputs(p)}) for p in NOTEBOOKS}
    assert sum(with_output.values()) >= 3 * len(NOTEBOOKS), with_output
    assert all(n >= 1 for n in with_output.values()), {k: n for k, n in with_output.items() if not n}


@pytest.mark.parametrize("text", ["04:31:49 WARNING grpo_nb.data: dropped 3 rows\n", "built in 1.5 s\n"])
def test_clock_times_and_plain_seconds_are_volatile(text):
    assert store_outputs.volatile_reason({"output_type": "stream", "name": "stderr", "text": [text]}) is not None
