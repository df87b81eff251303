"""The rules package does no I/O and never sees Flask: its modules import none of the I/O layers."""

import ast
from pathlib import Path

import pytest

import cds_service.rules

RULES = Path(cds_service.rules.__file__).parent
FORBIDDEN = {
    "flask",
    "werkzeug",
    "requests",
    "sqlalchemy",
    "gunicorn",
    "socket",
    "urllib",
    "http",
    "subprocess",
    "cds_service.web",
    "cds_service.fhir.client",
    "cds_service.fhir.http_fetch",
    "cds_service.fhir.prefetch",
    "cds_service.store",
    "cds_service.config",
    "cds_service.record.builder",
    "cds_service.pipeline",
}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            names.add("cds_service." + module.lstrip(".") if node.level >= 2 else module)
    return names


@pytest.mark.parametrize("path", sorted(RULES.glob("*.py")), ids=lambda p: p.name)
def test_rule_module_imports_no_io_layer(path):
    bad = {n for n in imported(path) for f in FORBIDDEN if n == f or n.startswith(f + ".")}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_rules_never_call_open_or_read_the_clock():
    for path in RULES.glob("*.py"):
        text = path.read_text()
        assert "open(" not in text and "date.today(" not in text and "datetime.now(" not in text, path.name
