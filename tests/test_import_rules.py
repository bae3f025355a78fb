"""The layering of the four packages, read from their source with ``ast`` (nothing is imported).

- ``eaccounting_api`` (the shared layer) imports none of the other three;
- ``tap_eaccounting`` and ``target_eaccounting`` never import each other, nor ``eaccounting_sandbox``
  (a connector install does not carry the sandbox's web stack);
- ``eaccounting_sandbox`` imports neither connector (it may import ``eaccounting_api``).

These rules hold for every import: at module level, inside functions, and under ``TYPE_CHECKING``.

And no import cycle: neither among the imports that run when a module is imported (module level), nor
once the imports inside functions and under ``TYPE_CHECKING`` are added (the project's rule: no
function-level or type-only import used to hide a cycle).
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("eaccounting_api", "tap_eaccounting", "target_eaccounting", "eaccounting_sandbox")
FORBIDDEN = {
    "eaccounting_api": {"tap_eaccounting", "target_eaccounting", "eaccounting_sandbox"},
    "tap_eaccounting": {"target_eaccounting", "eaccounting_sandbox"},
    "target_eaccounting": {"tap_eaccounting", "eaccounting_sandbox"},
    "eaccounting_sandbox": {"tap_eaccounting", "target_eaccounting"},
}
DYNAMIC_IMPORTERS = {"import_module", "__import__"}
MODULE, FUNCTION, TYPE_ONLY = "module level", "inside a function", "under TYPE_CHECKING"


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # the dotted module name (for ``from M import N``: M.N when that is a project module)
    line: int
    context: str  # MODULE (class bodies included: they run on import too), FUNCTION or TYPE_ONLY

    @property
    def runs_on_import(self) -> bool:
        return self.context == MODULE

    def where(self, modules: Mapping[str, Path]) -> str:
        return f"{modules[self.importer].relative_to(ROOT)}:{self.line}"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    return {
        module_name(path, root): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Collector(ast.NodeVisitor):
    def __init__(self, importer: str, is_package: bool, known: Iterable[str]) -> None:
        self.importer = importer
        # The package relative imports start from.
        self.package = importer if is_package else importer.rpartition(".")[0]
        self.known = set(known)
        self.functions = 0
        self.type_checking = 0
        self.found: list[Import] = []

    def _add(self, target: str, node: ast.stmt | ast.expr) -> None:
        context = FUNCTION if self.functions else TYPE_ONLY if self.type_checking else MODULE
        self.found.append(Import(self.importer, target, node.lineno, context))

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        self.functions += 1
        self.generic_visit(node)
        self.functions -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.type_checking += 1
        for stmt in node.body:
            self.visit(stmt)
        self.type_checking -= 1
        for stmt in node.orelse:
            self.visit(stmt)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            base = base[: len(base) - (node.level - 1)]
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        for alias in node.names:
            submodule = f"{module}.{alias.name}"
            self._add(submodule if submodule in self.known else module, node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name in DYNAMIC_IMPORTERS and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self._add(first.value, node)
        self.generic_visit(node)


def imports_of(importer: str, source: str, is_package: bool, known: Iterable[str] = ()) -> list[Import]:
    collector = _Collector(importer, is_package, known)
    collector.visit(ast.parse(source))
    return collector.found


def project_imports(modules: Mapping[str, Path]) -> list[Import]:
    return [
        found
        for name, path in modules.items()
        for found in imports_of(name, path.read_text(encoding="utf-8"), path.name == "__init__.py", modules)
    ]


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph(imports: Iterable[Import], modules: Iterable[str]) -> dict[str, dict[str, Import]]:
    """importer -> {project module it imports: the import}. Importing ``a.b.c`` also runs the
    ``__init__`` of ``a`` and ``a.b``, except those the importer itself lives in (already importing).
    Where several imports give one edge, a module-level one is kept."""
    known = set(modules)
    graph: dict[str, dict[str, Import]] = {name: {} for name in known}
    for found in imports:
        own = {*_ancestors(found.importer), found.importer}
        for target in [*_ancestors(found.target), found.target]:
            if target in known and target not in own:
                edges = graph[found.importer]
                if target not in edges or (found.runs_on_import and not edges[target].runs_on_import):
                    edges[target] = found
    return graph


def cycles(graph: Mapping[str, Mapping[str, Import]]) -> list[list[str]]:
    """One cycle (first node repeated at the end) per strongly connected component that has one."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan; the project's graph is far too shallow for the recursion limit
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, {})):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, {}):
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_cycle_in(component, graph) for component in components]


def _cycle_in(component: list[str], graph: Mapping[str, Mapping[str, Import]]) -> list[str]:
    """The shortest cycle through the component's first node (breadth-first inside the component)."""
    start, members = component[0], set(component)
    paths: dict[str, list[str]] = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph.get(node, {})):
                if nxt == start:
                    return [*paths[node], start]
                if nxt in members and nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {component}")  # unreachable for a real component


def describe(cycle: list[str], graph: Mapping[str, Mapping[str, Import]], modules: Mapping[str, Path]) -> str:
    steps = [
        f"{graph[a][b].where(modules)} imports {b} ({graph[a][b].context})"
        for a, b in itertools.pairwise(cycle)
    ]
    return " -> ".join(cycle) + "\n    " + "\n    ".join(steps)


# -- the project ---------------------------------------------------------------------------------


MODULES = project_modules()
IMPORTS = project_imports(MODULES)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_is_scanned(package: str) -> None:
    scanned = [name for name in MODULES if name.split(".")[0] == package]
    assert len(scanned) >= 2, f"{package}: only {scanned} found under {ROOT / package}"
    assert any(i.importer.split(".")[0] == package for i in IMPORTS)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_its_layer_allows(package: str) -> None:
    forbidden = FORBIDDEN[package]
    broken = [
        f"{found.where(MODULES)} imports {found.target} ({found.context})"
        for found in IMPORTS
        if found.importer.split(".")[0] == package and found.target.split(".")[0] in forbidden
    ]
    assert not broken, f"{package} must not import {sorted(forbidden)}:\n  " + "\n  ".join(broken)


def _assert_no_cycle(imports: list[Import], what: str) -> None:
    graph = import_graph(imports, MODULES)
    found = cycles(graph)
    assert not found, f"{len(found)} import cycle(s) {what}:\n  " + "\n  ".join(
        describe(cycle, graph, MODULES) for cycle in found
    )


def test_module_level_imports_have_no_cycle() -> None:
    _assert_no_cycle([i for i in IMPORTS if i.runs_on_import], "among the imports that run on import")


def test_no_cycle_hides_in_function_level_or_type_checking_imports() -> None:
    _assert_no_cycle(IMPORTS, "once imports inside functions and under TYPE_CHECKING count too")


# -- the scanner itself, on made-up modules ------------------------------------------------------


SOURCE = """
from __future__ import annotations
import os.path
from typing import TYPE_CHECKING
import importlib
from pkg import sub, CONSTANT
from . import sibling
from .sibling import thing
from .. import top_helper

if TYPE_CHECKING:
    from other.types import Hint
else:
    import runtime_only

class Holder:
    import in_class_body

def later():
    import lazy.thing
    return importlib.import_module("dynamic.mod")
"""


def test_scanner_sees_every_kind_of_import() -> None:
    found = imports_of("pkg.sub.mod", SOURCE, is_package=False, known={"pkg.sub", "pkg.sub.sibling"})
    assert [(i.target, i.context) for i in found] == [
        ("__future__", MODULE),
        ("os.path", MODULE),
        ("typing", MODULE),
        ("importlib", MODULE),
        ("pkg.sub", MODULE),  # `from pkg import sub`: the submodule
        ("pkg", MODULE),  # `from pkg import CONSTANT`: the package
        ("pkg.sub.sibling", MODULE),  # `from . import sibling`
        ("pkg.sub.sibling", MODULE),  # `from .sibling import thing`
        ("pkg", MODULE),  # `from .. import top_helper`, not a known module
        ("other.types", TYPE_ONLY),
        ("runtime_only", MODULE),  # the else branch of `if TYPE_CHECKING` runs
        ("in_class_body", MODULE),
        ("lazy.thing", FUNCTION),
        ("dynamic.mod", FUNCTION),
    ]


def test_relative_imports_of_a_package_start_at_the_package() -> None:
    found = imports_of("pkg.sub", "from .sibling import x\n", is_package=True, known={"pkg.sub.sibling"})
    assert [i.target for i in found] == ["pkg.sub.sibling"]


def _toy_graph(edges: dict[str, list[str]]) -> dict[str, dict[str, Import]]:
    return {a: {b: Import(a, b, 1, MODULE) for b in bs} for a, bs in edges.items()}


def test_cycles_are_found_and_reported_as_a_path() -> None:
    graph = _toy_graph({"a": ["b"], "b": ["c"], "c": ["a", "d"], "d": [], "e": ["e"], "f": ["a"]})
    assert cycles(graph) == [["a", "b", "c", "a"], ["e", "e"]]
    assert cycles(_toy_graph({"a": ["b"], "b": ["c"], "c": []})) == []


def test_graph_follows_package_inits_but_not_the_importers_own() -> None:
    modules = ["p", "p.a", "p.b", "q", "q.x"]
    to_qx, to_pb = Import("p.a", "q.x", 3, MODULE), Import("p.a", "p.b", 4, MODULE)
    graph = import_graph([to_qx, to_pb], modules)
    assert graph["p.a"] == {"q": to_qx, "q.x": to_qx, "p.b": to_pb}  # p's own __init__: no edge
    assert cycles(graph) == []
    # q's __init__ importing p.a, even lazily, closes p.a -> q -> p.a; the edge keeps the module-level one.
    lazy, eager = Import("q", "p.a", 5, FUNCTION), Import("q", "p.a", 6, MODULE)
    graph = import_graph([to_qx, to_pb, lazy, eager], modules)
    assert graph["q"] == {"p": eager, "p.a": eager}
    assert cycles(graph) == [["p.a", "q", "p.a"]]
