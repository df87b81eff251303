"""The Dockerfile, built with podman as our machines run it (tests/podman.py), and the container run as Kubernetes
runs it: read-only root file system, the image's own user, a free loopback port. It answers discovery, a hook with
prefetch and /readyz, stops on SIGTERM with exit code 0, and does the same against PostgreSQL.

The numbers (build time cold or warm, image size, start-up time) go to tests/artifacts/image.json."""

from __future__ import annotations

import json
import re
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

import cds_service
from tests import podman
from tests.fhir_builders import hook_request, lbp
from tests.served import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
IMAGE = "localhost/backpain-cds-test:latest"
MEASURED: dict[str, object] = {}


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    """The image, built from the working tree on the cached base.

    Without podman's layer cache (--layers=false): under vfs each step of a layered build is a full copy of the
    image. Measured on a loaded machine: layered, cold 624 s and with the dependency layer cached 307 s; without
    layers 306 s (and no stale layers left on disk)."""
    if reason := podman.missing():
        pytest.skip(reason)
    started = time.monotonic()
    cached = podman.base_is_cached()
    base = podman.ensure_base()
    MEASURED["base"] = f"{'cached' if cached else 'built'} in {time.monotonic() - started:.1f} s"
    version = cds_service.__version__
    started = time.monotonic()
    podman.podman(
        "build",
        "--isolation=chroot",
        "--network=host",
        "--pull=never",
        "--layers=false",
        "--format=docker",
        "--build-arg",
        f"PYTHON_IMAGE={base}",
        "--build-arg",
        f"VERSION={version}",
        "--build-arg",
        "SOURCE_URL=file:///backpain-cds",
        "--build-arg",
        "REVISION=test",
        "-t",
        IMAGE,
        str(ROOT),
        timeout=1800,
    )
    MEASURED["build_seconds"] = round(time.monotonic() - started, 1)
    podman.podman("image", "prune", "--force", check=False)  # the builder stage, the previous test image
    MEASURED["image_bytes"] = int(podman.podman("image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    yield IMAGE
    (ROOT / "tests/artifacts").mkdir(exist_ok=True)
    (ROOT / "tests/artifacts/image.json").write_text(json.dumps(MEASURED, indent=2) + "\n")
    print(f"\nimage: {json.dumps(MEASURED)}")  # shown with -s


class Container:
    def __init__(self, name: str, port: int) -> None:
        self.name, self.base = name, f"http://127.0.0.1:{port}"

    def run(self, *cmd: str) -> str:
        return podman.podman("exec", self.name, *cmd).stdout.strip()

    def logs(self) -> str:
        done = podman.podman("logs", self.name, check=False)
        return done.stdout + done.stderr


@contextmanager
def container(image: str, *options: str, **settings: str) -> Iterator[Container]:
    """The container, read-only, as the image's user, serving on a free loopback port; removed afterwards."""
    port = free_port()
    name = f"backpain-cds-test-{port}"
    env = {"AS_OF": "2026-11-27", "DRAIN_SECONDS": "1"} | settings
    started = time.monotonic()
    podman.podman(
        "run",
        "--detach",
        "--read-only",
        "--network=host",
        "--name",
        name,
        *options,
        *[f"--env=BACKPAIN_CDS_{k}={v}" for k, v in env.items()],
        image,
        "backpain-cds",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    )
    box = Container(name, port)
    try:
        for _ in range(600):
            try:
                requests.get(box.base + "/healthz", timeout=0.5)
                break
            except requests.ConnectionError:
                state = podman.podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
                assert state == "running", box.logs()
                time.sleep(0.1)
        else:
            pytest.fail(f"the container did not answer in 60 s: {box.logs()}")
        MEASURED.setdefault("startup_seconds", []).append(round(time.monotonic() - started, 2))
        yield box
    finally:
        podman.podman("rm", "--force", "--time=0", name, check=False)


def serves_and_stops_on_sigterm(box: Container) -> None:
    """Discovery, a hook answered from its prefetch, /readyz, then SIGTERM: exit code 0."""
    services = requests.get(box.base + "/cds-services", timeout=5).json()["services"]
    assert "backpain-patient-view" in {s["id"] for s in services}
    response = requests.post(box.base + "/cds-services/backpain-patient-view", json=hook_request([lbp()]), timeout=10)
    assert response.status_code == 200 and response.json()["cards"], response.text
    feedback = {
        "feedback": [
            {
                "card": response.json()["cards"][0]["uuid"],
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-27T10:00:00Z",
            }
        ]
    }
    assert requests.post(box.base + "/cds-services/backpain-patient-view/feedback", json=feedback, timeout=5).ok
    assert requests.get(box.base + "/readyz", timeout=5).status_code == 200
    assert podman.podman("healthcheck", "run", box.name, check=False).returncode == 0, "HEALTHCHECK failed"
    podman.podman("kill", "--signal=TERM", box.name)
    code = podman.podman("wait", box.name, timeout=60).stdout.strip()
    assert code == "0", box.logs()
    assert "Traceback" not in box.logs()


def test_the_lock_pins_every_dependency_the_image_installs():
    """The builder installs requirements.lock with --no-deps: a dependency added to pyproject.toml but not to the
    lock would build an image that fails at its first import (regenerate it with the Dockerfile's pip-compile line)."""

    def name(requirement: str) -> str:
        return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement)[0]).lower()

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {name(r) for r in project["dependencies"] + project["optional-dependencies"]["postgres"]}
    locked = {name(line) for line in (ROOT / "requirements.lock").read_text().splitlines() if re.match(r"[a-z]", line)}
    assert wanted - locked == set()


def test_the_image_runs_as_uid_10001_and_says_what_it_is(image):
    inspected = json.loads(podman.podman("image", "inspect", image).stdout)[0]
    config = inspected["Config"]
    assert config["User"] == "10001:10001"
    assert inspected["Healthcheck"]["Test"][:2] == ["CMD", "python"]  # exec form: no shell in between
    labels = config["Labels"]
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.version"] == cds_service.__version__
    assert labels["org.opencontainers.image.source"] == "file:///backpain-cds"
    MEASURED["uid"] = config["User"]


def test_the_container_serves_read_only_as_10001_with_sqlite(image):
    with container(image) as box:
        assert box.run("id", "-u") == "10001"
        MEASURED["read_only_root"] = (
            "Read-only file system" in podman.podman("exec", box.name, "touch", "/opt/venv/x", check=False).stderr
        )
        assert MEASURED["read_only_root"]
        no_compiler = podman.podman("exec", box.name, "sh", "-c", "command -v gcc cc", check=False).stdout
        assert no_compiler == "", "the runtime stage carries a compiler"
        compiled = box.run("python", "-c", "import cds_service.rules.red_flags as m; print(m.__file__)")
        assert compiled.endswith(".so"), f"the image runs the rules as plain Python: {compiled}"
        serves_and_stops_on_sigterm(box)


def test_the_container_serves_against_postgresql(image, postgres, tmp_path):
    """The database URL comes from a read-only file, as the Kubernetes Secret mounts it."""
    secret = tmp_path / "url"
    secret.write_text(postgres.url + "\n")
    secret.chmod(0o644)
    psycopg = pytest.importorskip("psycopg")

    def stored() -> int:  # the cluster is the whole run's: count what this container adds
        with psycopg.connect(postgres.url.replace("+psycopg", "")) as db:
            exists = db.execute("SELECT to_regclass('feedback') IS NOT NULL").fetchone()[0]
            return db.execute("SELECT count(*) FROM feedback").fetchone()[0] if exists else 0

    before = stored()
    with container(
        image,
        f"--volume={secret}:/etc/backpain-cds/database/url:ro",
        DATABASE_URL_FILE="/etc/backpain-cds/database/url",
    ) as box:
        serves_and_stops_on_sigterm(box)
    assert stored() == before + 1  # the feedback went to PostgreSQL, not to /data


@pytest.mark.parametrize(
    "setting, value, reason",
    [
        ("DATA_DIR", "/proc/nope", "No such file or directory"),
        ("DATABASE_URL", "postgresql+psycopg://cds:s3cret-pw@127.0.0.1:{port}/cds", "refused"),
    ],
    ids=["a data folder that cannot be created", "a database that cannot be opened"],
)
def test_the_container_stops_on_an_unusable_store_with_one_line_and_exit_code_2(image, setting, value, reason):
    port = free_port()
    done = podman.podman(
        "run",
        "--rm",
        "--read-only",
        "--network=host",
        f"--env=BACKPAIN_CDS_{setting}={value.format(port=free_port())}",
        image,
        "backpain-cds",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    # podman's own lines (time="..." level=...: no systemd here to schedule the HEALTHCHECK) aside, the service's
    (line,) = [line for line in done.stderr.splitlines() if not line.startswith('time="')]
    assert f"BACKPAIN_CDS_{setting}" in line and reason in line and "s3cret" not in line
