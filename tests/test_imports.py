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
