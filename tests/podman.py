"""Podman as our machines run it (../shared/containers.md): no Docker daemon, no registry, vfs storage, runc, and a
Python base image built locally from Debian packages, cached under ~/.cache/backpain-cds/ between runs."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "backpain-cds"
# The name the local base is imported under; the build passes it as PYTHON_IMAGE (the Dockerfile pins a digest).
BASE_NAME = "docker.io/library/python:3.11-slim-bookworm"
# bookworm's Python is 3.11, like the official base; with its C headers, only to mirror the official image (the
# build installs wheels only)
SUITE, PACKAGES = "bookworm", "python3,python3-venv,python3-pip,libpython3.11-dev"
# pip inside the build must reach the same index as pip here: its configuration and certificates, at the same paths.
PIP_FILES = [
    Path("/etc/pip.conf"),
    *sorted(Path("/etc/xdg/pip").glob("*")),
    *([Path(os.environ["PIP_CERT"])] if os.environ.get("PIP_CERT") else []),
]
CONTAINERS_CONF = "[containers]\ndefault_ulimits = []\npids_limit = 0\n"  # no limits the sandbox forbids


def missing() -> str | None:
    """Why podman cannot build and run the image here, or None."""
    if os.geteuid() != 0:
        return "not root: podman with vfs storage and runc needs root here (../shared/containers.md)"
    tools = [t for t in ("podman", "runc", "debootstrap") if shutil.which(t) is None]
    if tools:
        return f"{', '.join(tools)} not installed (scripts/test installs them from Debian as root)"
    info = podman("info", check=False)
    return f"podman cannot run here: {info.stderr.strip()[-300:]}" if info.returncode else None


def podman(*args: str, check: bool = True, timeout: float = 900, **kw) -> subprocess.CompletedProcess:
    """One podman call with the settings every call needs here."""
    CACHE.mkdir(parents=True, exist_ok=True)
    conf = CACHE / "containers.conf"
    if not conf.exists() or conf.read_text() != CONTAINERS_CONF:
        conf.write_text(CONTAINERS_CONF)
    env = os.environ | {"CONTAINERS_CONF": str(conf)}
    return subprocess.run(
        ["podman", "--storage-driver=vfs", "--runtime=runc", *args],
        check=check,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def _mirror() -> str:
    """The Debian mirror apt uses on this machine."""
    for source in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        text = source.read_text() if source.is_file() else ""
        if found := re.search(r"^URIs:\s*(\S+/debian)\s*$|^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)\s", text, re.M):
            return found[1] or found[2]
    return "http://deb.debian.org/debian"


def _recipe() -> str:
    """What the base is made of: a change here (or in the pip configuration) builds a new one."""
    pip = "".join(f"{p}:{hashlib.sha256(p.read_bytes()).hexdigest()}\n" for p in PIP_FILES if p.is_file())
    return f"debootstrap minbase {SUITE} {PACKAGES} {_mirror()}\n{pip}"


def _base_tag() -> str:
    return f"localhost/backpain-cds-base:{hashlib.sha256(_recipe().encode()).hexdigest()[:16]}"


def base_is_cached() -> bool:
    return podman("image", "exists", _base_tag(), check=False).returncode == 0


def ensure_base() -> str:
    """Import the locally built base under BASE_NAME (building and caching its root file system the first time);
    returns the name."""
    tagged = _base_tag()
    if not base_is_cached():
        archive = CACHE / f"base-{tagged.rpartition(':')[2]}.tar"
        if not archive.exists():
            _build_base(archive)
        podman("import", "--change", "ENV=LANG=C.UTF-8", "--change", 'CMD=["python3"]', str(archive), tagged)
    podman("tag", tagged, BASE_NAME)
    return BASE_NAME


def _build_base(archive: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="backpain-base-", dir=CACHE) as tmp:
        root = Path(tmp) / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", SUITE, str(root), _mirror()],
            check=True,
            capture_output=True,
            timeout=1200,
        )
        # Behave like the official image: pip may install, `python` is python3, no package caches.
        (root / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)
        (root / "usr/bin/python").unlink(missing_ok=True)
        (root / "usr/bin/python").symlink_to("python3")
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for item in (root / cache).glob("*"):
                if item.is_file():
                    item.unlink()
        for source in PIP_FILES:
            if source.is_file():
                target = root / source.relative_to("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.unlink(missing_ok=True)  # a symlink there would be followed out of the root file system
                shutil.copyfile(source, target)
        partial = archive.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(root), "-cf", str(partial), "."], check=True, timeout=600)
        partial.rename(archive)
