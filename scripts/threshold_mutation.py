"""Every guideline threshold moved by one, and every element of a code, unit or status set taken out, must fail a
fast test (mutmut leaves module constants alone).

    .venv/bin/python scripts/threshold_mutation.py [NAME ...]

For each numeric constant at the top of a module in cds_service/rules/ and cds_service/record/ (ADULT_AGE =
18, EGFR_CAUTION_BELOW = 60, LONG_TERM_DAYS = 91...), runs the fast rule tests twice, with the constant one above and
one below (a tenth for decimals such as FEVER_CELSIUS = 38.0). For each set or dict of strings named in SETS
(countable units, timing codes, statuses...), runs them once per element with that element taken out. Each change is
made in every module that binds the name; prints each run that no test noticed and exits 1 when any survived. Not
part of CI: it takes ten minutes or so.
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = [
    *sorted((ROOT / "cds_service" / "rules").glob("*.py")),
    *sorted((ROOT / "cds_service" / "record").glob("*.py")),
]
# The code, unit and status sets: an element of any of them must matter to some test.
SETS = (
    "HOURS",
    "TIMING_CODES",
    "MASS_TO_MG",
    "COUNT_UNITS",
    "VOLUME_TO_ML",
    "RATE_UNITS",
    "FAHRENHEIT",
    "CELSIUS",
    "DAYS_IN",
    "PENDING_STATUSES",
    "PENDING",
    "DONE_STATUSES",
    "NOT_COUNTING_VERIFICATION",
    "FINAL_OBSERVATION",
    "DRAFT_MED_STATUS",
    "WRONG_VERSION_TYPES",
    "CURRENT_CLINICAL",
    "NOT_USE_STATUSES",
)
# Constants that tune speed, not what a card says: either side of them gives the same answers by design (the byte
# bounds of the cross-request caches)
SPEED_ONLY = {"DOSAGE_CACHE_BYTES", "DOSAGE_BYTES_PER_JSON_BYTE", "ESCAPE_CACHE_BYTES"}
TESTS = ["tests/rules", "tests/record", "tests/fhir/test_parse.py", "tests/test_terminology.py"]


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
                if (
                    name.isupper()
                    and name not in SPEED_ONLY
                    and isinstance(value, (int, float))
                    and not isinstance(value, bool)
                ):
                    found.append((module, name, value))
    return found


def elements() -> list[tuple[str, str]]:
    """(NAME, element) for each element of the SETS; a dict of sets (DONE_STATUSES) gives "key:element"."""
    sys.path.insert(0, str(ROOT))
    found = []
    for path in FILES:
        module = importlib.import_module(_module(path))
        for name in SETS:
            value = module.__dict__.get(name)
            if value is None or name in {n for n, _ in found}:
                continue
            for key in value:
                inner = value[key] if isinstance(value, dict) else None
                if isinstance(inner, (set, frozenset)):
                    found += [(name, f"{key}:{e}") for e in sorted(inner)]
                else:
                    found.append((name, key))
    return found


def _without(value: object, element: str) -> object:
    if isinstance(value, dict):
        key, _, inner = element.partition(":")
        if inner and key in value and isinstance(value[key], (set, frozenset)):
            return {**value, key: type(value[key])(value[key] - {inner})}
        return {k: v for k, v in value.items() if k != element}
    return type(value)(set(value) - {element})  # type: ignore[call-overload]


def plugin_patch() -> None:
    """Run inside pytest (this file as a -p plugin): apply BACKPAIN_MUTATE ("NAME=value", or "NAME-=element" to take
    an element out of a set) to every module that binds NAME."""
    change = os.environ["BACKPAIN_MUTATE"]
    patched = 0
    for path in FILES:
        module = importlib.import_module(_module(path))
        if "-=" in change:
            name, element = change.split("-=", 1)
            if name in module.__dict__:
                setattr(module, name, _without(module.__dict__[name], element))
                patched += 1
        else:
            name, value = change.split("=")
            if hasattr(module, name):
                setattr(module, name, float(value) if "." in value else int(value))
                patched += 1
    assert patched, change


def pytest_configure(config) -> None:  # a pytest hook: this file is also the -p plugin
    if os.environ.get("BACKPAIN_MUTATE"):
        plugin_patch()


def _run(change: str) -> str:
    env = dict(os.environ, BACKPAIN_MUTATE=change, PYTHONPATH=str(ROOT / "scripts"))
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "threshold_mutation",
            "-p",
            "no:cacheprovider",
            "-m",
            "not slow",
            *TESTS,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    return "killed" if run.returncode == 1 else ("SURVIVED" if run.returncode == 0 else "error")


def main() -> int:
    wanted = set(sys.argv[1:])
    changes = []
    for _, name, value in constants():
        step = 1 if isinstance(value, int) else 0.1
        changes += [(name, f"{name}={round(value + d, 6)}") for d in (step, -step)]
    changes += [(name, f"{name}-={element}") for name, element in elements()]
    changes = [(name, change) for name, change in changes if not wanted or name in wanted]
    survived = []
    for _, change in changes:
        verdict = _run(change)
        print(f"{change}: {verdict}", flush=True)
        if verdict != "killed":
            survived.append(change)
    print(
        f"{len(changes) - len(survived)} of {len(changes)} killed; {len(survived)} survived"
        + (": " + ", ".join(survived) if survived else "")
    )
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main())
