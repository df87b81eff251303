FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 BACKPAIN_CDS_DATA_DIR=/data
RUN useradd --create-home --uid 10001 cds && mkdir /data && chown cds /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY cds_service ./cds_service
COPY fhir_profiles ./fhir_profiles
RUN pip install --no-cache-dir . && rm -rf /app/*
USER cds
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
CMD ["backpain-cds", "serve", "--host", "0.0.0.0", "--port", "8080"]
