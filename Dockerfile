# backpain-cds: gunicorn serving the CDS Hooks API on :8080 as an unprivileged user (uid 10001).
# Runs with a read-only root file system: it writes only below /tmp (and the SQLite fallback in
# BACKPAIN_CDS_DATA_DIR); in Kubernetes both are an emptyDir and the state lives in PostgreSQL.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 BACKPAIN_CDS_DATA_DIR=/data HOME=/tmp
RUN groupadd --gid 10001 cds && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin cds \
    && mkdir /data && chown 10001:10001 /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY cds_service ./cds_service
COPY fhir_profiles ./fhir_profiles
RUN pip install --no-cache-dir '.[postgres]' && rm -rf /app/*
USER 10001:10001
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
CMD ["backpain-cds", "serve", "--host", "0.0.0.0", "--port", "8080"]
