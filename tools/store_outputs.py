"""Execute the module notebooks and store their outputs, as fastcore's notebooks are stored.

Usage: `python tools/store_outputs.py [nbs/06_data.ipynb ...]` (default: every numbered notebook in nbs/), then
`nbdev_clean`. Cells run as `nbdev_test` runs them: cells flagged with `settings.ini`'s `tst_flags` (`slow`,
`notest`) are not executed and keep no output. An output that would make the stored notebook depend on the machine
or the moment is not stored: machine paths (temporary folders, the checkout, the home folder), timestamps, memory
addresses, process ids named as such, secrets (the same redaction every writer uses), and outputs over
`MAX_OUTPUT_CHARS`. So running it twice gives the same notebooks, and the sync check stays meaningful.
`tests/test_notebook_outputs.py` checks the stored outputs against the same rules.
"""
from __future__ import annotations

import configparser
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_OUTPUT_CHARS = 4_000

# what an output must not hold to be stored (also read by tests/test_notebook_outputs.py)
VOLATILE_PATTERNS = {
    "a machine path": re.compile(r"(/tmp/|/var/folders/|/private/var/|/home/|/Users/|/root/|/work/|/mnt/|/opt/|/data/|/scratch/|\\\\Users\\\\)"),
    "a timestamp": re.compile(r"\b20\d\d-[01]\d-[0-3]\d[ T][0-2]\d:[0-5]\d|\b[0-2]\d:[0-5]\d:[0-5]\d\b"),
    "a memory address": re.compile(r"\bat 0x[0-9a-fA-F]{6,}|<[^<>]* object at 0x"),
    "a process id": re.compile(r"\bpid[ =:]+\d{2,}\b"),
    "a secret": re.compile(r"\bhf_[A-Za-z0-9]{20,}\b|\[REDACTED:HF_TOKEN\]|\[REDACTED:WANDB_API_KEY\]"),
    "a duration": re.compile(r"\b\d+(\.\d+)?\s?(ms|µs|seconds|s/step|it/s|s/it)\b|\b\d+(\.\d+)? s\b"),
}


def output_text(output: dict) -> str:
    "The text of one stored output (stream, result or error), as a reader would see it."
    if output.get("output_type") == "stream": return "".join(output.get("text", ""))
    if output.get("output_type") == "error": return "\n".join(output.get("traceback", [])) or output.get("evalue", "")
    data = output.get("data") or {}
    return "".join(data.get("text/plain", "")) + "".join(data.get("text/markdown", "")) + "".join(data.get("text/html", ""))


def volatile_reason(output: dict) -> str | None:
    "Why `output` must not be stored (it depends on the machine or the moment), or None when it may."
    if output.get("output_type") == "error": return "an error"
    data = output.get("data") or {}
    if any(k.startswith("image/") or k.startswith("application/") for k in data): return "an image or widget"
    text = output_text(output)
    if len(text) > MAX_OUTPUT_CHARS: return f"over {MAX_OUTPUT_CHARS:,} characters"
    return next((why for why, pat in VOLATILE_PATTERNS.items() if pat.search(text)), None)


def test_flags() -> set[str]:
    cfg = configparser.ConfigParser(); cfg.read(ROOT / "settings.ini")
    return set(cfg["DEFAULT"].get("tst_flags", "").split())


def store_outputs(path: Path) -> tuple[int, int, int]:
    "Execute notebook `path` in place, keeping the outputs that may be stored; (cells with output, dropped, run)."
    from execnb.nbio import read_nb, write_nb
    from execnb.shell import CaptureShell
    flags = test_flags()
    nb = read_nb(path)
    ran = []

    def skip(cell):
        if cell.cell_type != "code": return True
        directives = {line[3:].split()[0] for line in cell.source.splitlines()
                      if line.startswith("#| ") and line[3:].split()}
        if flags & directives or "nbdev_export(" in cell.source: return True
        ran.append(cell); return False

    for cell in nb.cells:
        if cell.cell_type == "code": cell["outputs"] = []
    shell = CaptureShell(path)
    cwd = os.getcwd(); os.chdir(path.parent)
    try: shell.run_all(nb, exc_stop=True, preproc=skip)
    finally: os.chdir(cwd)
    kept = dropped = 0
    for cell in nb.cells:
        if cell.cell_type != "code": continue
        outs = [o for o in cell.get("outputs", []) if volatile_reason(o) is None]
        dropped += len(cell.get("outputs", [])) - len(outs)
        cell["outputs"] = outs
        kept += bool(outs)
    write_nb(nb, path)
    return kept, dropped, len(ran)


def main(argv: list[str]) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1"); os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in ("HF_TOKEN", "WANDB_API_KEY"): os.environ.pop(name, None)   # no secret can reach an output
    os.environ.pop("GRPO_NB_SHARED_DATA", None)    # outputs must not depend on what this machine holds
    paths = [Path(a).resolve() for a in argv] or sorted(p for p in (ROOT / "nbs").glob("[0-9][0-9]_*.ipynb"))
    for p in paths:
        kept, dropped, ran = store_outputs(p)
        print(f"{p.name}: {ran} cells run, {kept} with stored output, {dropped} volatile output(s) not stored")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
