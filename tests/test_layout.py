"""The package's layout stays readable: small modules, short functions, no private reach-ins,
no import circles (but the one deliberate facade: ``ScriptResults``' analysis methods)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "py3r_script"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# ScriptResults' methods (sr.sensitivity_table(), sr.plot_tornado(), ...) import the analysis
# modules inside the method, which import results back: a facade, kept on purpose.
FACADES = {("py3r_script.results", "py3r_script.analysis")}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _tree(name: str) -> ast.Module:
    return ast.parse(MODULES[name].read_text(encoding="utf-8"))


def _imports(name: str) -> Iterator[tuple[str, str, bool]]:
    """``(module, imported name, lazy)`` for each ``from ... import`` of the package's own
    modules; ``lazy`` when inside a function. Imports under ``if TYPE_CHECKING:`` are skipped."""
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]

    def visit(node: ast.AST, lazy: bool) -> Iterator[tuple[str, str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target.split(".")[0] == "py3r_script":
                    for alias in child.names:
                        yield target, alias.name, lazy
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            yield from visit(child, inner)

    yield from visit(_tree(name), False)


def _target(module: str, name: str) -> str:
    return f"{module}.{name}" if f"{module}.{name}" in MODULES else module


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_over_the_limit(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines: split it by role"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_function_body_is_over_the_limit(name):
    long = []
    for node in ast.walk(_tree(name)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]  # the docstring
            if body and body[-1].end_lineno - body[0].lineno + 1 > MAX_FUNCTION_LINES:
                long.append(f"{node.name} (line {node.lineno})")
    assert not long, f"{name}: function bodies over {MAX_FUNCTION_LINES} lines: {long}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_private_name_is_used_across_modules(name):
    reached = []
    modules_bound = {}
    for module, imported, _ in _imports(name):
        target = _target(module, imported)
        if target == f"{module}.{imported}":
            modules_bound[imported] = target
        private = [part for part in target.split(".") if part.startswith("_")
                   and not part.startswith("__")]
        if imported.startswith("_") and not imported.startswith("__") and target != name:
            private.append(imported)
        if private and target != name:
            reached.append(f"{module}.{imported}")
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in modules_bound and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            reached.append(f"{modules_bound[node.value.id]}.{node.attr}")
    assert not reached, f"{name} uses private names of other modules: {reached}"


def test_no_import_circles():
    edges = {name: set() for name in MODULES}
    for name in MODULES:
        for module, imported, lazy in _imports(name):
            target = _target(module, imported)
            facade = any(name == a and target.startswith(b) for a, b in FACADES)
            if target in MODULES and target != name and not (lazy and facade):
                edges[name].add(target)
    circles = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []

    def strongly_connected(node: str) -> None:  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                strongly_connected(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for name in MODULES:
        if name not in index:
            strongly_connected(name)
    assert not circles, f"import circles: {circles}"


def test_each_subpackage_says_what_it_holds():
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"{init.parent.name}/__init__.py needs a docstring saying what it holds"
