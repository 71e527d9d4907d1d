"""Style figures of a folder of nbdev notebooks, to compare with fastcore and nbdev: definitions per exported cell,
cell sizes, tests beside, stored outputs, long lines. Usage: `python tools/style_metrics.py nbs "[0-9]*.ipynb" [DIR GLOB ...]`."""
import ast, json, sys, statistics
from pathlib import Path

def cells(path):
    nb = json.loads(Path(path).read_text())
    return [(c["cell_type"], "".join(c["source"]), c.get("outputs", [])) for c in nb["cells"]]

def is_export(src): return any(l.strip() in ("#| export", "#|export", "# export", "#| exporti", "#|exporti") for l in src.splitlines()[:3])

def n_defs(src):
    try: t = ast.parse("\n".join(l for l in src.splitlines() if not l.lstrip().startswith(("%", "!"))))
    except SyntaxError: return 0
    return sum(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for n in t.body)

def measure(folder, pattern):
    exp, defs, sizes, untested, code, with_out, long_lines = 0, 0, [], 0, 0, 0, 0
    for p in sorted(Path(folder).glob(pattern)):
        cs = cells(p)
        for i, (kind, src, outs) in enumerate(cs):
            if kind != "code": continue
            code += 1; with_out += bool(outs)
            long_lines += sum(len(l) > 120 for l in src.splitlines())
            if is_export(src):
                d = n_defs(src)
                if d == 0: continue
                exp += 1; defs += d; sizes.append(len(src.splitlines()))
                nxt = next((c for c in cs[i + 1:] if c[0] == "code"), None)
                if nxt is None or is_export(nxt[1]): untested += 1
    return {"notebooks": len(list(Path(folder).glob(pattern))), "code cells": code,
            "code cells with stored output": f"{with_out} ({with_out / max(code, 1):.0%})",
            "exported cells defining something": exp, "definitions per exported cell": round(defs / max(exp, 1), 2),
            "median / largest exported cell (lines)": f"{statistics.median(sizes) if sizes else 0:g} / {max(sizes, default=0)}",
            "exported cells followed by another exported cell (no test beside)": untested,
            "lines over 120 characters": long_lines}

for folder, pattern in zip(sys.argv[1::2], sys.argv[2::2]):
    print(folder, json.dumps(measure(folder, pattern), indent=1, ensure_ascii=False))
