"""The package's shape (house style, "As the package grows"): folders that follow a hook call, no import cycle,
modules that read in one sitting, and no I/O below the record."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cds_service

PACKAGE = Path(cds_service.__file__).parent
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "static" not in p.parts)
MAX_ROOT_MODULES = 12
MAX_MODULE_LINES = 300
MAX_CLASS_LINES = 150
# What the pure layers (the record and the rules) may never import: I/O, the web edge, the database, FHIR access.
IO_IMPORTS = {
    "flask",
    "werkzeug",
    "requests",
    "urllib3",
    "sqlalchemy",
    "gunicorn",
    "socket",
    "urllib",
    "http",
    "subprocess",
    "prometheus_client",
    "cds_service.web",
    "cds_service.store",
    "cds_service.fhir.client",
    "cds_service.fhir.http_fetch",
    "cds_service.fhir.prefetch",
    "cds_service.config",
    "cds_service.pipeline",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


NAMES = {module_name(p): p for p in MODULES}


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_of(path: Path) -> set[str]:
    """Every module of ours or elsewhere that `path` imports, at any depth (inside functions too), except under
    `if TYPE_CHECKING:`. `from . import x` counts as importing the module `x` when it is one."""
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # a submodule, or a name defined in `target` itself
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in NAMES else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def our_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports. A module importing `pkg.sub` imports `pkg.sub`, not `pkg` (Python
    runs the package's __init__ first, but that is not an edge of the module's own)."""
    return {name: {i for i in imports_of(path) if i in NAMES and i != name} for name, path in NAMES.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := walk(start)):
            return cycle
    return None


def test_no_import_cycle_between_our_modules():
    assert find_cycle(our_graph()) is None


def test_the_cycle_finder_sees_a_cycle_through_a_function_level_import():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_folders_follow_a_hook_call_and_the_root_stays_small():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert {"web", "fhir", "record", "store", "rules"} <= folders
    root = [p.name for p in PACKAGE.glob("*.py")]
    assert len(root) <= MAX_ROOT_MODULES, sorted(root)
    for folder in folders:  # each says in one line what it may touch
        assert ast.get_docstring(ast.parse((PACKAGE / folder / "__init__.py").read_text())), folder


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_module_reads_in_one_sitting(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ClassDef):
            size = node.end_lineno - node.lineno + 1
            assert size <= MAX_CLASS_LINES, f"class {node.name}: {size} lines"


@pytest.mark.parametrize("path", [p for p in MODULES if p.parent.name in {"record", "rules"}], ids=module_name)
def test_record_and_rules_do_no_io(path):
    bad = {i for i in imports_of(path) for f in IO_IMPORTS if i == f or i.startswith(f + ".")}
    assert not bad, f"{module_name(path)} imports {sorted(bad)}"
