"""The compiled build (pyproject.toml's mypyc hook), which the image and scripts/test's .venv run, answers every
hook call as the source does: compiled code may differ in ways mypy does not see (a NamedTuple field read by
position, an annotation checked at run time, a cached_property made a plain property)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import orjson
import pytest

import cds_service.rules.red_flags
from tests.compiled_cards import answers
from tests.conftest import COMPILED_COPY
from tests.shared_data import FHIR_DATA

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
# -I: neither the working directory nor PYTHONPATH on sys.path; the repository after site-packages, for tests/
RUN = "import runpy, sys; sys.path.append(sys.argv[1]); runpy.run_module('tests.compiled_cards', run_name='__main__')"


@pytest.fixture(scope="module")
def compiled() -> dict:
    if not VENV_PYTHON.exists():
        pytest.skip("no .venv: scripts/test makes it, with the package compiled")
    done = subprocess.run(
        [str(VENV_PYTHON), "-I", "-c", RUN, str(ROOT)],
        cwd=ROOT.parent,
        capture_output=True,
        timeout=300,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    return orjson.loads(done.stdout)


@pytest.mark.slow
def test_the_venv_runs_the_compiled_build(compiled):
    can_compile = shutil.which("gcc") and (Path(sysconfig.get_path("include")) / "Python.h").is_file()
    if not compiled["module"].endswith(".so") and not can_compile:
        pytest.skip("no C compiler or no Python.h here: scripts/test left .venv as plain Python")
    assert compiled["module"].endswith(".so"), (
        f"{compiled['module']}: .venv holds a pure build (scripts/test installs the compiled one, as the image does)"
    )


@pytest.mark.slow
def test_the_compiled_build_gives_the_sources_answers(compiled):
    """Every shared chart and demo patient, patient-view and order-sign, on several days: the same JSON."""
    assert cds_service.rules.red_flags.__file__.endswith(".py"), "these tests must import the source"
    source = orjson.loads(orjson.dumps(answers()))
    demo = [key for key in source if key.startswith("demo ")]  # ours, always here; the shared charts may not be
    assert len(demo) >= 40 and sum(len(source[key]["cards"]) for key in demo) >= 90  # real answers, not errors
    if FHIR_DATA.is_dir():
        assert len(source) - len(demo) >= 500, "the shared charts were not all answered"
    differ = [key for key in source if compiled["answers"].get(key) != source[key]]
    assert sorted(compiled["answers"]) == sorted(source)
    assert not differ, f"{len(differ)} answers differ, the first: {differ[0]}\n" + (
        f"source:   {source[differ[0]]}\ncompiled: {compiled['answers'][differ[0]]}"
    )


# Every fast test, against the compiled build: the tables and properties hit corners of typing that real charts rarely
# do (a list where an entry should be, a fact of another kind), where compiled code raises.
LEFT_OUT = shutil.ignore_patterns(".git", ".venv*", "node_modules", "mutants", "artifacts", "__pycache__", "*.so")


@pytest.mark.slow
def test_the_fast_tests_pass_against_the_compiled_build(compiled, tmp_path):
    """In a copy of the tree with the installed build's modules beside the sources, as an in-place build leaves them
    (Python imports them first). It found three places where compiled code raised on odd input and the source did
    not: a name bound to two exception types, an inferred element type, a fact read as another kind."""
    if not compiled["module"].endswith(".so"):
        pytest.skip(".venv holds a pure build")
    copy = tmp_path / ROOT.name
    shutil.copytree(ROOT, copy, ignore=LEFT_OUT)
    if (ROOT.parent / "shared").is_dir():
        (tmp_path / "shared").symlink_to(ROOT.parent / "shared")
    site = Path(compiled["module"]).parents[2]  # .../site-packages/cds_service/rules/red_flags...so
    built = [*site.glob("*__mypyc*.so"), *(site / "cds_service").rglob("*.so")]
    for module in built:
        shutil.copy(module, copy / module.relative_to(site))
    (copy / COMPILED_COPY).touch()
    done = subprocess.run(
        [str(VENV_PYTHON), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "not slow", "tests"],
        cwd=copy,
        capture_output=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert done.returncode == 0, done.stdout.decode()[-4000:]
    assert len(built) > 50 and b" passed" in done.stdout
