"""Every guideline threshold moved by one must fail a fast test (mutmut leaves module constants alone).

    .venv/bin/python scripts/threshold_mutation.py [NAME ...]

For each numeric constant at the top of a module in cds_service/rules/ and of record_builder.py (ADULT_AGE = 18,
EGFR_CAUTION_BELOW = 60, LONG_TERM_DAYS = 91...), runs the fast rule tests twice, with the constant one above and
one below (a tenth for decimals such as FEVER_CELSIUS = 38.0), in every module that binds that name; prints each
run that no test noticed. Exits 1 when any survived. Not part of CI: it takes several minutes.
"""
from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = [*sorted((ROOT / "cds_service" / "rules").glob("*.py")), ROOT / "cds_service" / "record_builder.py"]
TESTS = ["tests/rules", "tests/test_record.py", "tests/test_record_builder.py", "tests/test_fhir_parse.py",
         "tests/test_terminology.py"]


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def constants() -> list[tuple[str, str, float]]:
    """(module, NAME, value) of every UPPERCASE numeric constant defined at module level."""
    sys.path.insert(0, str(ROOT))
    found = []
    for path in FILES:
        module = _module(path)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                value = getattr(importlib.import_module(module), name, None)
                if name.isupper() and isinstance(value, (int, float)) and not isinstance(value, bool):
                    found.append((module, name, value))
    return found


def plugin_patch() -> None:
    """Run inside pytest (this file as a -p plugin): apply BACKPAIN_MUTATE="NAME=value" to every binding."""
    name, value = os.environ["BACKPAIN_MUTATE"].split("=")
    number = float(value) if "." in value else int(value)
    patched = 0
    for path in FILES:
        module = importlib.import_module(_module(path))
        if hasattr(module, name):
            setattr(module, name, number)
            patched += 1
    assert patched, name


def pytest_configure(config) -> None:  # a pytest hook: this file is also the -p plugin
    if os.environ.get("BACKPAIN_MUTATE"):
        plugin_patch()


def main() -> int:
    wanted = set(sys.argv[1:])
    survived = []
    for module, name, value in constants():
        if wanted and name not in wanted:
            continue
        step = 1 if isinstance(value, int) else 0.1
        for moved in (value + step, value - step):
            moved = round(moved, 6)
            env = dict(os.environ, BACKPAIN_MUTATE=f"{name}={moved}", PYTHONPATH=str(ROOT / "scripts"))
            run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "threshold_mutation", "-p",
                                  "no:cacheprovider", "-m", "not slow", *TESTS], cwd=ROOT, env=env,
                                 capture_output=True, text=True)
            verdict = "killed" if run.returncode == 1 else ("SURVIVED" if run.returncode == 0 else "error")
            print(f"{module}.{name} {value} -> {moved}: {verdict}", flush=True)
            if verdict != "killed":
                survived.append(f"{name} -> {moved}")
    print(f"{len(survived)} survived" + (": " + ", ".join(survived) if survived else ""))
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main())
