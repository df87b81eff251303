"""Prometheus metrics: hook calls and latency, cards, FHIR fetches, skipped resources, feedback, card-log drops.

Under `serve` every gunicorn worker writes its samples to PROMETHEUS_MULTIPROC_DIR (set by `serve` before
prometheus_client is imported) and `/metrics` adds up all workers' files, so a call is counted whichever worker
served it. Without that directory (tests, `evaluate`) the process's own registry is used. Labels are ours only
(service ids, topic codes, reasons we wrote): nothing a client chose becomes a label, so a client cannot blow up
the number of series: a service id we do not serve is counted as "unknown". Label children are looked up once per
label set and kept (`child`), so a call pays for an increment, not for a label lookup under a lock.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HOOK_CALLS = Counter(
    "backpain_cds_hook_calls", "Hook calls answered, by service and HTTP status", ["service", "status"]
)
HOOK_SECONDS = Histogram(
    "backpain_cds_hook_duration_seconds",
    "Hook call latency, by service and HTTP status",
    ["service", "status"],
    buckets=LATENCY_BUCKETS,
)
CARDS = Counter("backpain_cds_cards", "Cards issued, by topic and indicator", ["topic", "indicator"])
FHIR_SECONDS = Histogram(
    "backpain_cds_fhir_fetch_duration_seconds",
    "Time to fetch a call's missing prefetch from the EHR's FHIR server, by outcome",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
FHIR_FAILURES = Counter("backpain_cds_fhir_fetch_failures", "FHIR fallback fetches that failed, by reason", ["reason"])
SKIPPED = Counter("backpain_cds_skipped_resources", "Resources in prefetch skipped as unusable, by reason", ["reason"])
FEEDBACK = Counter(
    "backpain_cds_feedback_items",
    "Feedback items stored, by outcome and override reason",
    ["outcome", "override_reason"],
)
HELD_BACK = Counter(
    "backpain_cds_cards_held_back",
    "Cards the card policy held back, by topic and rule (off, snooze, repeat)",
    ["topic", "rule"],
)
CARD_LOG_DROPPED = Counter(
    "backpain_cds_card_log_dropped",
    "Card-log records dropped (queue full or database down): issued cards, whose feedback then cannot be "
    "attributed to a topic, and the card policy's memory of patient-view calls, whose cards may then repeat",
)

# Reasons FHIR failures are counted under (the first words our messages start with); anything else is "other".
FHIR_REASONS = (
    ("deadline", "deadline"),
    ("byte limit", "byte-limit"),
    ("redirect refused", "redirect"),
    ("refused access", "access-refused"),
    ("unreachable", "unreachable"),
    ("timed out", "timeout"),
    ("not JSON", "not-json"),
    ("not a FHIR resource", "not-fhir"),
    ("OperationOutcome", "outcome"),
    ("answered", "http-error"),
    ("outside the fhirServer base", "off-base-link"),
    ("exceeded", "too-many-pages"),
    ("allowlist", "not-allowed"),
    ("ALLOWLIST", "not-allowed"),
    ("https", "not-https"),
    ("no fhirServer", "no-fhir-server"),
    ("no such resource", "not-found"),
)


UNKNOWN_SERVICE = "unknown"


@cache
def child(metric: Any, *labels: str) -> Any:
    """The metric's child for these label values, made once (the label values are ours: a bounded set)."""
    return metric.labels(*labels)


def hook_call(service: str, status: int, seconds: float) -> None:
    """Count a hook call and its latency under a service id we serve (else UNKNOWN_SERVICE) and its status."""
    code = str(status)
    child(HOOK_CALLS, service, code).inc()
    child(HOOK_SECONDS, service, code).observe(seconds)


def fhir_reason(message: str) -> str:
    """A low-cardinality label for a FHIR failure message of ours."""
    return next((label for words, label in FHIR_REASONS if words in message), "other")


def exposition() -> tuple[bytes, str]:
    """The text exposition of every metric: all workers' under `serve`, this process's otherwise."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
