"""Split exported notebook cells that define several public names into one cell per public definition.

Usage: `python tools/split_cells.py nbs/X.ipynb ...` then `nbdev_export && nbdev_clean`. The exported module keeps
its code in the same order (only the cell markers change). A new cell starts at each public (not `_`-prefixed)
function or class after the first; the statements between two public definitions go with the next one (private
helpers and constants usually precede what uses them), unless they name the previous one (an alias, a decorator-like
call such as `with_field_metadata(ModelArguments, …)`), which stay with it. Comments travel with the statement they
precede. A cell with stored outputs keeps them on its last piece.
"""
from __future__ import annotations

import ast
import hashlib
import json
import sys
from pathlib import Path


def _directive_lines(lines: list[str]) -> int:
    n = 0
    while n < len(lines) and lines[n].startswith("#|"): n += 1
    return n


def _public_name(node) -> str | None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
        return node.name
    return None


def split_source(source: str) -> list[str]:
    "The pieces of one exported cell's source (each with the cell's directive lines), or `[source]`."
    lines = source.split("\n")
    head = _directive_lines(lines)
    if not any(l.strip() in ("#| export", "#| exporti") for l in lines[:head]): return [source]
    body = lines[head:]
    try: tree = ast.parse("\n".join(body))
    except SyntaxError: return [source]
    stmts = tree.body
    publics = [i for i, s in enumerate(stmts) if _public_name(s)]
    if len(publics) < 2: return [source]
    owner = [0] * len(stmts)                    # which public definition each statement goes with
    for k, p in enumerate(publics):
        prev = publics[k - 1] if k else None
        for i in range((prev + 1) if prev is not None else 0, p + 1):
            owner[i] = k
        if prev is not None:
            name = _public_name(stmts[prev])
            for i in range(prev + 1, p):       # between two publics: stays with the previous one if it names it
                if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(stmts[i])): owner[i] = k - 1
    for i in range(publics[-1] + 1, len(stmts)): owner[i] = len(publics) - 1
    # a statement after one that went forward cannot go back: keep the order monotonic
    for i in range(1, len(owner)): owner[i] = max(owner[i], owner[i - 1])
    def first_line(s):                          # decorators and the comment lines just above belong to the statement
        start = min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", [])]) - 1
        while start > 0 and body[start - 1].lstrip().startswith("#") and not body[start - 1].startswith("#|"):
            start -= 1
        return start
    cuts = [first_line(stmts[i]) for i in range(1, len(stmts)) if owner[i] != owner[i - 1]]
    pieces, begin = [], 0
    for cut in cuts + [len(body)]:
        chunk = body[begin:cut]
        while chunk and not chunk[-1].strip(): chunk.pop()
        while chunk and not chunk[0].strip(): chunk.pop(0)
        if chunk: pieces.append("\n".join(lines[:head] + chunk))
        begin = cut
    return pieces if len(pieces) > 1 else [source]


def _cell_id(text: str, taken: set) -> str:
    h = hashlib.sha1(text.encode()).hexdigest()
    i = 0
    while h[i:i + 8] in taken: i += 1
    taken.add(h[i:i + 8]); return h[i:i + 8]


def split_notebook(path: Path) -> int:
    "Split the exported cells of notebook `path` in place; the number of cells added."
    nb = json.loads(path.read_text(encoding="utf-8"))
    taken = {c.get("id") for c in nb["cells"]}
    out, added = [], 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            out.append(cell); continue
        pieces = split_source("".join(cell["source"]))
        if len(pieces) == 1:
            out.append(cell); continue
        for j, piece in enumerate(pieces):
            new = dict(cell, source=[l + "\n" for l in piece.split("\n")[:-1]] + [piece.split("\n")[-1]],
                       outputs=cell.get("outputs", []) if j == len(pieces) - 1 else [])
            if j: new["id"] = _cell_id(piece, taken)
            out.append(new)
        added += len(pieces) - 1
    nb["cells"] = out
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return added


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(f"{arg}: {split_notebook(Path(arg))} cells added")
