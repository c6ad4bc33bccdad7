"""No import circle among gan_runner's modules: a lower module (the DDP strategy, a net, a metric) never imports the
runner that builds it, even inside a function. Read from the source (ast), so a lazy import counts as well."""
import ast
from pathlib import Path

import gan_runner

PACKAGE = Path(gan_runner.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The gan_runner modules that `path` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                      for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found & modules


def path_between(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The shortest import path from start to goal (breadth first), None when there is none."""
    came_from, frontier = {start: None}, [start]
    while frontier:
        node = frontier.pop(0)
        if node == goal:
            path = [node]
            while came_from[path[-1]] is not None:
                path.append(came_from[path[-1]])
            return path[::-1]
        for nxt in sorted(graph[node] - came_from.keys()):
            came_from[nxt] = node
            frontier.append(nxt)
    return None


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """For each import a -> b that b imports back (through any path), the circle a -> b -> ... -> a, once."""
    found, seen = [], set()
    for a in sorted(graph):
        for b in sorted(graph[a]):
            back = path_between(graph, b, a)
            if back and frozenset(back) not in seen:
                seen.add(frozenset(back))
                found.append([a, *back])
    return found


def test_circles_are_found():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_what_imports_it():
    files = {module_name(f): f for f in PACKAGE.rglob("*.py")}
    graph = {name: imports(path, set(files)) - {name} for name, path in files.items()}
    assert graph["gan_runner.build"] >= {"gan_runner.ddp"} and "gan_runner.run" in graph["gan_runner.rank"]
    assert circles(graph) == []
