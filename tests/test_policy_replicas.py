"""The card policy across two replicas sharing one PostgreSQL (and one mounted secret), and across a restart: what
one replica showed a clinician, the other holds back; an override posted to one snoozes the family on the other."""

from __future__ import annotations

import secrets
import time
import uuid

import pytest
import requests

from tests.fhir_builders import hook_request, patient
from tests.served import Served
from tests.test_card_policy import CHART, GABAPENTIN, IBUPROFEN, OS, PV, draft, for_patient

pytestmark = pytest.mark.slow
POLICY = """
[families.naloxone]
snooze_reasons = ["patient-declined"]
snooze_days = 30
"""


def call(base: str, path: str, pid: str, drafts: list[dict] | None = None) -> dict[str, dict]:
    hook = "patient-view" if path == PV else "order-select"
    body = hook_request(for_patient(CHART, pid), hook, pt=patient(pid=pid), drafts=drafts)
    response = requests.post(base + path, json=body, timeout=15)
    assert response.status_code == 200, response.text
    return {card["source"]["topic"]["code"]: card for card in response.json()["cards"]}


def test_two_replicas_share_what_was_shown_and_what_was_snoozed(tmp_path, postgres):
    (tmp_path / "secret").write_text(secrets.token_hex(32))
    (tmp_path / "policy.toml").write_text(POLICY)
    settings = {
        "database_url": postgres.url,
        "policy_secret_file": str(tmp_path / "secret"),
        "card_policy": str(tmp_path / "policy.toml"),
    }
    pid = f"pt-{uuid.uuid4().hex[:12]}"
    with Served(tmp_path / "a", workers=1, **settings) as a, Served(tmp_path / "b", workers=1, **settings) as b:
        shown = call(a.base, PV, pid)
        assert "opioid-benzodiazepine" in shown
        time.sleep(1.2)  # the card log writes off the request path: patient-view's memory, the card's uuid
        assert "opioid-benzodiazepine" not in call(b.base, OS, pid, [draft(*GABAPENTIN)])  # seen through A
        item = {
            "card": shown["naloxone"]["uuid"],
            "outcome": "overridden",
            "outcomeTimestamp": "2026-11-27T10:00:00Z",
            "overrideReason": {
                "reason": {
                    "system": "https://backpain-cds.org/fhir/CodeSystem/override-reasons",
                    "code": "patient-declined",
                }
            },
        }
        assert requests.post(b.base + PV + "/feedback", json={"feedback": [item]}, timeout=15).status_code == 200
        assert "naloxone" not in call(a.base, PV, pid)
        metrics = requests.get(a.base + "/metrics", timeout=10).text
        assert 'backpain_cds_cards_held_back_total{rule="snooze",topic="naloxone"} 1.0' in metrics
    # both replicas restarted: the memory is in the database
    with Served(tmp_path / "c", workers=1, **settings) as c:
        assert "opioid-benzodiazepine" not in call(c.base, OS, pid, [draft(*IBUPROFEN)])
        assert "naloxone" not in call(c.base, PV, pid)
        other = f"pt-{uuid.uuid4().hex[:12]}"
        assert "opioid-benzodiazepine" in call(c.base, OS, other, [draft(*IBUPROFEN)])
