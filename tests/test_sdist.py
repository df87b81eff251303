"""The source distribution: built as a packager would, it carries the package, its knowledge, the licence texts and
the documents, and leaves the tests out (they need the repository: scripts, deploy/, npm, real processes; an sdist
that carried them without deploy/ had 7 tests erroring). A wheel built from the unpacked sdist is complete."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import cds_service

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # builds twice (a few seconds)


def hatchling(*args: str, cwd: Path) -> None:
    exe = shutil.which("hatchling") or str(Path(sys.executable).with_name("hatchling"))
    run = subprocess.run([exe, "build", *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture(scope="module")
def sdist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sdist")
    hatchling("-t", "sdist", "-d", str(out), cwd=ROOT)
    (archive,) = out.glob("*.tar.gz")
    return archive


def test_the_sdist_carries_the_package_knowledge_and_documents_but_not_the_tests(sdist):
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
        info = tar.extractfile(f"backpain_cds-{cds_service.__version__}/PKG-INFO").read().decode()
    top = {name.split("/")[0] for name in names}
    assert {
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "SECURITY.md",
        "CONTRIBUTING.md",
        "pyproject.toml",
        "cds_service",
        "fhir_profiles",
        "examples",
    } <= top
    assert "tests" not in top and not any("__pycache__" in name for name in names)
    assert {
        "cds_service/web/static/vendor/markdown-it.min.js",
        "cds_service/web/static/vendor/LICENSE.markdown-it",
        "fhir_profiles/CodeSystem/card-topics.json",
        "examples/patient-view.json",
    } <= names
    assert f"Version: {cds_service.__version__}" in info and "License-Expression: Apache-2.0" in info
    assert "Classifier: Topic :: Scientific/Engineering :: Medical Science Apps." in info
    assert "Project-URL: Changelog" in info


def test_a_wheel_built_from_the_unpacked_sdist_carries_its_knowledge_and_licences(sdist, tmp_path):
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path, filter="data")
    (source,) = tmp_path.iterdir()
    hatchling("-t", "wheel", "-d", str(tmp_path / "dist"), cwd=source)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    version = cds_service.__version__
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        metadata = whl.read(f"backpain_cds-{version}.dist-info/METADATA").decode()
    assert "cds_service/fhir_profiles/CodeSystem/card-topics.json" in names
    assert "cds_service/web/static/vendor/markdown-it.min.js" in names
    assert f"backpain_cds-{version}.dist-info/licenses/LICENSE" in names
    assert f"Version: {version}\n" in metadata
