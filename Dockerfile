# syntax=docker/dockerfile:1
# backpain-cds: gunicorn serving the CDS Hooks API on :8080 as an unprivileged user (uid 10001).
# Runs with a read-only root file system: it writes only below /tmp (gunicorn's heartbeat files, the metrics folder)
# and BACKPAIN_CDS_DATA_DIR (the SQLite fallback); in Kubernetes both are an emptyDir and the state lives in
# PostgreSQL. Build: `docker build -t REGISTRY/backpain-cds:VERSION .` (tests/test_image.py builds it with podman).
#
# The base, pinned by digest (a tag alone moves): python:3.11.10-slim-bookworm as Docker Hub served it. Refresh it
# with `docker buildx imagetools inspect python:3.11-slim-bookworm` (the "Digest:" line) or let Renovate do it.
ARG PYTHON_IMAGE=docker.io/library/python:3.11.10-slim-bookworm@sha256:5148c0e4bbb64271bca1d3322360ebf4bfb7564507ae32dd639322e4952a6b16

# checkov:skip=CKV_DOCKER_7: the tag comes from the PYTHON_IMAGE ARG above, which pins it by digest (not seen by checkov)
FROM ${PYTHON_IMAGE} AS builder
# Our per-call code is compiled with mypyc (pyproject.toml's hook: its pipeline about 1.4x quicker), so this stage
# has a C compiler; the runtime stage below copies only the venv and has none.
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null \
    && rm -rf /var/lib/apt/lists/*
# The dependencies, in their own layer: rebuilt only when the lock changes. requirements.lock is
# `pip-compile --generate-hashes` output (pip-tools); regenerate it after changing pyproject.toml's dependencies with
#   pip-compile --generate-hashes --strip-extras --extra postgres --no-emit-index-url --no-emit-find-links \
#     --output-file requirements.lock pyproject.toml
# Wheels only: no dependency is compiled here. The tools that build our wheel (hatchling, hatch-mypyc, mypy) go into
# a venv of their own, from requirements-build.lock, with hashes too: their output ships in the image.
COPY requirements.lock requirements-build.lock /tmp/
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps \
       --only-binary=:all: -r /tmp/requirements.lock \
    && python -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps \
       --only-binary=:all: -r /tmp/requirements-build.lock
# Then the code: .dockerignore lets only pyproject.toml, README.md, cds_service/, fhir_profiles/ and the locks through
# (the wheel carries fhir_profiles/ inside the package). Built with those tools (no build isolation: pip fetches
# nothing), then installed alone into /opt/venv, the only folder the runtime stage copies.
COPY . /src
RUN HATCH_BUILD_HOOK_ENABLE_MYPYC=1 /opt/build/bin/pip wheel --no-cache-dir --disable-pip-version-check --no-deps \
       --no-build-isolation --wheel-dir /tmp/wheel /src \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps /tmp/wheel/*.whl \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp BACKPAIN_CDS_DATA_DIR=/data
RUN groupadd --gid 10001 cds && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin cds \
    && mkdir /data && chown 10001:10001 /data
COPY --from=builder /opt/venv /opt/venv
USER 10001:10001
VOLUME /data
EXPOSE 8080
# Exec form, no shell: asks /healthz on the port serve was started with (its --port, else 8080).
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import re, urllib.request as u; a = open('/proc/1/cmdline').read().replace('\\0', ' '); p = re.search(r'--port[= ](\\d+)', a); u.urlopen(f'http://127.0.0.1:{p[1] if p else 8080}/healthz', timeout=2)"]
CMD ["backpain-cds", "serve", "--host", "0.0.0.0", "--port", "8080"]
# Last, so that a new revision rebuilds no layer: VERSION follows cds_service.__version__; SOURCE_URL (your repository) and
# REVISION (its commit) are given at build time (README, "Deploying to Kubernetes").
ARG VERSION=0.1.0 SOURCE_URL="" REVISION=""
LABEL org.opencontainers.image.title="backpain-cds" \
      org.opencontainers.image.description="CDS Hooks 2.0 service for evidence-based low back pain care" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
