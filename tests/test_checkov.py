"""checkov (a static scanner of infrastructure code) finds nothing in the Dockerfile or the rendered example overlay,
the manifests a hospital applies. Each exception is a skip annotation with its reason next to it (the Dockerfile's
CKV_DOCKER_7), or below: the base alone has no namespace and no image digest, which the overlay gives it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed (scripts/test does)"),
]
# What the base, rendered on its own, may fail: the overlay sets both (and its scan may fail nothing).
BASE_ONLY = {
    "CKV_K8S_21": "no namespace: the overlay's namespace:",
    "CKV_K8S_14": "no image tag: the overlay's images:",
    "CKV_K8S_43": "no image digest: the overlay's images:",
}


def checkov() -> str:
    """The pinned checkov that scripts/test installs in its own venv (its pins clash with ours), else one on PATH."""
    found = ROOT / ".venv-checkov/bin/checkov"
    if found.exists():
        return str(found)
    return shutil.which("checkov") or pytest.skip("checkov not installed: scripts/test puts it in .venv-checkov/")


def test_checkov_passes_the_dockerfile_and_the_rendered_manifests(tmp_path):
    for name, folder in [("overlay.yaml", "overlays/example"), ("base.yaml", "base")]:
        rendered = subprocess.run(
            ["kubectl", "kustomize", str(ROOT / "deploy/kubernetes" / folder)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (tmp_path / name).write_text(rendered)
    done = subprocess.run(
        [
            checkov(),
            "--skip-download",
            "--quiet",
            "--compact",
            "-o",
            "json",
            "--framework",
            "kubernetes",
            "dockerfile",
            "-f",
            str(ROOT / "Dockerfile"),
            "-f",
            str(tmp_path / "overlay.yaml"),
            "-f",
            str(tmp_path / "base.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    assert {r["check_type"] for r in reports} == {"kubernetes", "dockerfile"}, done.stderr[-2000:]
    failed = [
        (Path(c["file_path"]).name, c["check_id"], c["resource"])
        for r in reports
        for c in r["results"]["failed_checks"]
    ]
    assert [f for f in failed if f[0] != "base.yaml" or f[1] not in BASE_ONLY] == []
    assert sum(r["summary"]["passed"] for r in reports) > 150  # it did look
    skipped = {r["check_type"]: r["summary"]["skipped"] for r in reports}
    assert skipped == {"dockerfile": 1, "kubernetes": 0}  # the only annotation: CKV_DOCKER_7, with its reason
    assert sum(r["summary"]["parsing_errors"] for r in reports) == 0
