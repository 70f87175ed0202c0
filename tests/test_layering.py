"""Prism's layering, enforced: every import under playground/ runs down the layers, and no two files
import each other, directly or round a longer loop.

The layers, bottom to top:
  1. pure packages (PURE): lib < protocols < providers. They import no app and no project module.
     protocols and providers do not import Django at all; tests/test_django_free.py checks that (by
     importing them in a fresh interpreter, and statically), so it is not repeated here.
  2. apps (APPS), in the order of the list: an app imports pure packages, itself and the apps below it.
  3. the project package's own files (playground/urls.py, settings.py, celery.py, ...): on top, they
     may import anything; nothing below imports them (an app reads settings through django.conf).
     settings.py is read before any app is loaded, so it may import only pure packages.

Every import counts: module-level, late (inside a function, said to be "after apps are ready" or
"to break a cycle"), and `if TYPE_CHECKING:` ones. A late import still makes the two files depend on
each other; it only hides the loop from Python's import machinery, not from the reader. Migrations
are checked like any other file (they import their own app, if anything).

Run `python tests/test_layering.py` to print the graph's violations without pytest.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "playground"

PURE = ["lib", "protocols", "providers", "scoring"]  # bottom to top: each may import those before it
# Bottom to top: an app may import only the apps before it. evaluations and sharing, when they come,
# go above runs (they read runs' results); demo seeds every app with sample data, so it stays last.
APPS = ["accounts", "uploads", "prompts", "catalog", "runs", "sharing", "evals", "evalruns", "demo"]
PROJECT_SETTINGS = "playground.settings"  # read before apps load: pure packages only

HOW_TO_FIX = """\
How to fix:
  - an arrow up (an app importing one above it, or a pure package importing an app): move the code
    that both need down to the lower layer (or into playground/lib), or invert the call (the upper
    app passes a callable or registers a handler; the lower one never names it).
  - a cycle between files: move what both files need into a third, lower module; a late import or
    `if TYPE_CHECKING:` does not break a cycle here, it only hides it.
  - a new package: add it to APPS (a Django app) or PURE in tests/test_layering.py, in its place bottom to top."""


@dataclass(frozen=True)
class Import:
    importer: str  # module name
    imported: str  # the most specific module under playground/ it names
    path: Path
    line: int

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> list[Path]:
    return sorted(p for p in (ROOT / PACKAGE).rglob("*.py") if "__pycache__" not in p.parts)


def imports_of(path: Path, known_modules: set[str], root: Path = ROOT) -> list[Import]:
    """Every import in the file, at any depth (functions, if TYPE_CHECKING, try blocks), resolved
    to the most specific of known_modules it names; imports of other modules are dropped."""
    importer = module_name(path, root)
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = importer.split(".") if is_package else importer.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            # `from package import name`: name is a submodule when such a file exists
            targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in known_modules else module for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known_modules:  # `import a.b.c` of a name inside a module
                target = target.rpartition(".")[0]
            if target and target != importer:
                found.append(Import(importer, target, path, node.lineno))
    return found


def all_imports() -> list[Import]:
    files = source_files()
    known = {module_name(p) for p in files}
    return [imp for p in files for imp in imports_of(p, known)]


def layer_of(module: str) -> tuple[str, str]:
    """("pure" | "app" | "unplaced" | "project", name): playground.runs.engine is ("app", "runs")."""
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in PURE:
        return "pure", parts[1]
    if len(parts) > 1 and parts[1] in APPS:
        return "app", parts[1]
    if len(parts) > 1 and (ROOT / PACKAGE / parts[1]).is_dir():
        return "unplaced", parts[1]  # a new package: reported by arrow_problem
    return "project", module


def arrow_problem(imp: Import) -> str | None:
    """Why this import breaks the layering, or None."""
    (src_kind, src), (dst_kind, dst) = layer_of(imp.importer), layer_of(imp.imported)
    for kind, name in ((src_kind, src), (dst_kind, dst)):
        if kind == "unplaced":
            return f"package {name!r} is in neither PURE nor APPS"
    if src_kind == "project":
        if imp.importer == PROJECT_SETTINGS and dst_kind != "pure":
            return "settings imports more than pure packages"
        return None
    if dst_kind == "project":
        return f"{src_kind} imports the project package"
    if src_kind == "pure":
        if dst_kind == "app":
            return "pure package imports an app"
        if PURE.index(dst) > PURE.index(src):
            return "pure package imports one above it"
        return None
    if dst_kind == "app" and APPS.index(dst) > APPS.index(src):
        return "app imports one above it"
    return None


def cycles(imports: list[Import]) -> list[list[Import]]:
    """The import loops between files: one loop per strongly connected group of modules (Tarjan),
    the shortest path round it from its first module, so a report names each file pair once."""
    graph: dict[str, dict[str, Import]] = {}
    for imp in imports:
        graph.setdefault(imp.importer, {}).setdefault(imp.imported, imp)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:  # recursive; the graph is a few hundred modules deep at most
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)

    loops = []
    for group in sorted(groups):
        members = set(group)
        for start in group:  # every module of the group lies on some loop; report each distinct loop once
            loop = _shortest_loop(graph, start, members)
            if loop and not any(set(i.importer for i in loop) == set(i.importer for i in seen) for seen in loops):
                loops.append(loop)
    return loops


def _shortest_loop(graph: dict[str, dict[str, Import]], start: str, members: set[str]) -> list[Import] | None:
    came_from: dict[str, Import] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt, imp in sorted(graph.get(node, {}).items()):
                if nxt not in members:
                    continue
                if nxt == start:
                    path = [imp]
                    while path[0].importer != start:
                        path.insert(0, came_from[path[0].importer])
                    return path
                if nxt not in came_from:
                    came_from[nxt] = imp
                    following.append(nxt)
        frontier = following
    return None


def violations() -> dict[str, list[str]]:
    """{what is wrong: [file:line of each import involved]}."""
    imports = all_imports()
    found: dict[str, list[str]] = {}
    for imp in imports:
        problem = arrow_problem(imp)
        if problem:
            key = f"{problem}: {imp.importer} -> {imp.imported}"
            found.setdefault(key, []).append(f"{imp.where} imports {imp.imported}")
    for loop in cycles(imports):
        key = "cycle: " + " -> ".join([i.importer for i in loop] + [loop[0].importer])
        found[key] = [f"{i.where} imports {i.imported}" for i in loop]
    return found


def report(keys, found) -> str:
    return "\n".join(f"  {key}\n" + "".join(f"      {line}\n" for line in found[key]) for key in sorted(keys))


def test_imports_run_down_the_layers_and_no_files_import_each_other():
    found = violations()
    assert not found, (
        f"Import layering broken (the rules: docstring of tests/test_layering.py):\n{report(found, found)}\n{HOW_TO_FIX}"
    )


def test_the_checker_sees_late_and_type_only_imports_and_cycles(tmp_path):
    """The rules are only as good as the parser: a late import, a relative one and one under
    TYPE_CHECKING are all edges, and a two-file loop through them is a cycle."""
    (tmp_path / "a.py").write_text("def f():\n    from . import b\n")
    (tmp_path / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import f\n")
    package = tmp_path.name
    known = {f"{package}.a", f"{package}.b"}
    edges = [imp for name in ("a", "b") for imp in imports_of(tmp_path / f"{name}.py", known, root=tmp_path.parent)]
    assert [(e.importer, e.imported, e.line) for e in edges] == [
        (f"{package}.a", f"{package}.b", 2),
        (f"{package}.b", f"{package}.a", 3),
    ]
    assert [[i.importer for i in loop] for loop in cycles(edges)] == [[f"{package}.a", f"{package}.b"]]


def test_every_package_is_placed_in_the_layers():
    folders = {p.parent.name for p in (ROOT / PACKAGE).glob("*/__init__.py")}
    unplaced = sorted(folders - set(PURE) - set(APPS))
    assert not unplaced, f"add {unplaced} to APPS (a Django app) or PURE in tests/test_layering.py, in its place"


if __name__ == "__main__":
    found = violations()
    print(report(found, found) or "no violations")
    sys.exit(1 if found else 0)
