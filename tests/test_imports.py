"""The package's import graph, function-level imports included: no cycle among grpo_nb modules."""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "grpo_nb"


def imported_modules(path: Path) -> set[str]:
    "The grpo_nb modules a file imports anywhere in it (top level or inside functions)."
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module: out.add(node.module.split(".")[0])
            elif node.module and node.module.startswith("grpo_nb."): out.add(node.module.split(".")[1])
            elif node.module == "grpo_nb": out.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("grpo_nb."))
    return out


def import_graph() -> dict[str, set[str]]:
    modules = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_")}
    return {m: (imported_modules(PACKAGE / f"{m}.py") & modules) - {m} for m in modules}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    "One import cycle (a list of modules, first = last), or None."
    state, stack = {}, []
    def visit(m):
        state[m] = "open"; stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == "open": return stack[stack.index(n):] + [n]
            if n not in state and (c := visit(n)): return c
        state[m] = "done"; stack.pop()
        return None
    for m in sorted(graph):
        if m not in state and (c := visit(m)): return c
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_grpo_nb_modules():
    graph = import_graph()
    assert {"config", "train", "pipeline", "cli", "runtime", "files"} <= set(graph)   # the graph was really read
    assert "pipeline" not in graph["train"] and "cli" not in graph["pipeline"]
    assert find_cycle(graph) is None, find_cycle(graph)


HEAVY = ("torch", "trl", "transformers", "peft", "datasets")


def heavy_modules_after(code: str) -> list[str]:
    "The heavy libraries a fresh interpreter has loaded after running `code`."
    import subprocess, sys
    probe = code + f"\nimport sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [m for m in out.stdout.strip().splitlines()[-1].split(",") if m] if out.stdout.strip() else []


def test_the_probe_sees_a_heavy_import():
    assert "trl" in heavy_modules_after("import grpo_nb.config")     # config extends TRL's dataclasses


def test_cli_and_reports_import_neither_torch_nor_trl():
    assert heavy_modules_after("import grpo_nb.cli, grpo_nb.reports, grpo_nb.core, grpo_nb.runtime, grpo_nb.files") == []


def test_help_report_and_score_run_without_torch_or_trl(tmp_path):
    run = tmp_path / "empty-run"; run.mkdir()
    code = ("import contextlib, io, grpo_nb.cli as c\n"
            "for argv in (['--help'], ['report', '--help'], ['score', '--help'], ['report', '--run', %r, '--out', %r]):\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            "        try: c.main(argv)\n"
            "        except SystemExit: pass\n") % (str(run), str(tmp_path / "report"))
    assert heavy_modules_after(code) == []


def notebook_numbers() -> dict[str, int]:
    "Module -> the number of the notebook that exports it (`nbs/06_data.ipynb` -> data: 6)."
    import json, re
    out = {}
    for nb in (PACKAGE.parent / "nbs").glob("[0-9][0-9]_*.ipynb"):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        found = next((m for c in cells for m in re.finditer(r"#\| default_exp (\w+)", "".join(c["source"]))), None)
        if found: out[found.group(1)] = int(nb.name[:2])
    return out


def test_every_module_comes_from_one_numbered_notebook():
    numbers = notebook_numbers()
    modules = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_")}
    assert modules == set(numbers), modules ^ set(numbers)
    assert len(set(numbers.values())) == len(numbers)                  # one number per notebook


def test_notebook_numbers_follow_the_import_order():
    "Reading the notebooks in order, every module a notebook imports (anywhere in it) has been met already."
    numbers, graph = notebook_numbers(), import_graph()
    against = sorted((m, n) for m, deps in graph.items() for n in deps if numbers[n] > numbers[m])
    assert not against, [f"{m} ({numbers[m]:02d}) imports {n} ({numbers[n]:02d})" for m, n in against]
