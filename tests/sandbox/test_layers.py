"""The sandbox is layered top-down: no import circles, and no imports hidden in functions to break one.

Routes (``cli``, ``server``, ``app``, ``admin``) on top, then the ``Sandbox`` state, reads and writes per
area, then the store; the demo generators import only downward. Built from the source with ``ast``, so a
circle shows up here even where Python would happen to import it fine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import eaccounting_sandbox

PACKAGE = "eaccounting_sandbox"
SOURCE = Path(eaccounting_sandbox.__file__).parent

# Function-level imports that are documented start-up laziness, not cycle breakers:
# the package's __getattr__ (importing the package must not pull in uvicorn) and the CLI's main()
# (``--help`` answers without loading starlette, uvicorn and the spec).
ALLOWED_FUNCTION_IMPORTS = {
    ("__init__", "server"),
    ("cli", "sandbox"),
    ("cli", "server"),
}


def _imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    """Sandbox modules an import statement names (``from eaccounting_sandbox import a, b`` is two)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif node.level:
        base = f"{PACKAGE}.{node.module}" if node.module else PACKAGE
        names = [base] if node.module else [f"{PACKAGE}.{alias.name}" for alias in node.names]
    elif node.module == PACKAGE:
        names = [f"{PACKAGE}.{alias.name}" for alias in node.names]
    else:
        names = [node.module or ""]
    return [name.split(".")[1] for name in names if name.startswith(PACKAGE + ".")]


def _imports(tree: ast.Module) -> tuple[set[str], list[tuple[int, str]]]:
    """(modules imported outside any function, [(line, module)] imported inside a function)."""
    module_level: set[str] = set()
    in_functions: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for name in _imported_modules(child):
                    if in_function:
                        in_functions.append((child.lineno, name))
                    else:
                        module_level.add(name)
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inner)

    visit(tree, False)
    return module_level, in_functions


def _graph() -> tuple[dict[str, set[str]], dict[str, list[tuple[int, str]]]]:
    edges: dict[str, set[str]] = {}
    lazy: dict[str, list[tuple[int, str]]] = {}
    for path in sorted(SOURCE.glob("*.py")):
        module_level, in_functions = _imports(ast.parse(path.read_text(), str(path)))
        edges[path.stem] = module_level - {path.stem}
        lazy[path.stem] = in_functions
    return edges, lazy


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as [a, b, ..., a], or None (depth-first search, white/grey/black)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        stack.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[module] = 2
        return None

    for module in sorted(edges):
        if module not in state:
            found = visit(module)
            if found:
                return found
    return None


def test_the_checks_see_a_circle_and_a_hidden_import() -> None:
    tree = ast.parse(
        "from eaccounting_sandbox import a, b\n"
        "from eaccounting_sandbox.c import X\n"
        "if True:\n    import eaccounting_sandbox.d\n"
        "def f():\n    from eaccounting_sandbox.e import Y\n"
        "class K:\n    def m(self):\n        from . import g\n"
    )
    module_level, in_functions = _imports(tree)
    assert module_level == {"a", "b", "c", "d"}
    assert in_functions == [(6, "e"), (9, "g")]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_circles_among_sandbox_modules() -> None:
    edges, _ = _graph()
    assert "store" in edges
    assert _find_cycle(edges) is None, f"import circle: {' -> '.join(_find_cycle(edges) or [])}"


def test_no_function_level_sandbox_imports_beyond_documented_laziness() -> None:
    _, lazy = _graph()
    hidden = [
        f"{module}.py:{line} imports {target}"
        for module, imports in lazy.items()
        for line, target in imports
        if (module, target) not in ALLOWED_FUNCTION_IMPORTS
    ]
    assert hidden == []


def test_the_store_and_the_demo_generators_import_only_downward() -> None:
    edges, _ = _graph()
    above_store = {"reads", "churn", "list_pages", "writes", "write_support", "sandbox", "app", "admin"}
    above_store |= {m for m in edges if m.startswith(("writes_", "reads_"))}
    above_store |= {"sie_export", "ledger_balances", "request_params"}
    assert above_store & edges["store"] == set()
    generators = {m for m in edges if m.startswith("demo_") and m != "demo_context"}
    for generator in generators:
        assert "demo" not in edges[generator], generator
    assert "demo" not in edges["demo_context"]
    assert "app" not in edges["admin"], "the route modules share the Sandbox from sandbox.py"
