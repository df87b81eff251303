"""Each red flag as the card names it (clinical reference 2): tier, label, evidence and date, and which statuses
count: Tier A and current-state Tier B flags only while current, history flags (cancer, immunosuppression,
osteoporosis, trauma) at any status."""

import pytest

from cds_service.cards import Indicator
from cds_service.citations import cite
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ICD, PATIENT_ID, RX, SCT, ago, lbp, observation

SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}


def cond(code, display, system=ICD, status="active", onset=5, abated=None):
    res = {
        "resourceType": "Condition",
        "id": f"c-{code}-{status}-{abated}",
        "subject": SUBJECT,
        "code": {"coding": [{"system": system, "code": code, "display": display}]},
    }
    if status:
        res["clinicalStatus"] = {"coding": [{"code": status}]}
    if onset is not None:
        res["onsetDateTime"] = ago(onset)
    if abated is not None:
        res["abatementDateTime"] = ago(abated)
    return res


def flags(*resources):
    indicator, lines, _ = flags_and_evidence(*resources)
    return indicator, lines


def flags_and_evidence(*resources):
    """The card's tier, its finding lines, and the references it cites (its provenance extension's evidence)."""
    card = by_topic(cards_for([lbp(onset_days=10), *resources])).get("red-flags")
    if card is None:
        return None, [], []
    lines = [line[2:] for line in card.detail.splitlines() if line.startswith("- ")]
    return card.indicator, lines, cite(*card.evidence)


CRIT, WARN = Indicator.CRITICAL, Indicator.WARNING


@pytest.mark.parametrize(
    ("resource", "tier", "line"),
    [
        pytest.param(
            cond("192970008", "Cauda equina syndrome", SCT),
            CRIT,
            f"cauda equina syndrome: Cauda equina syndrome ({ago(5)})",
            id="cauda-equina",
        ),
        pytest.param(
            cond("192970008", "Cauda equina syndrome", SCT, status="resolved"),
            None,
            None,
            id="resolved-cauda-equina-is-not-current",
        ),
        pytest.param(
            cond("192970008", "Cauda equina syndrome", SCT, status=None, abated=2),
            None,
            None,
            id="cauda-equina-abated-2-days-ago",
        ),
        pytest.param(
            cond("R33.9", "Retention of urine"),
            CRIT,
            f"new urinary retention: Retention of urine ({ago(5)})",
            id="urinary-retention",
        ),
        pytest.param(cond("R33.9", "Retention of urine", status="resolved"), None, None, id="resolved-retention"),
        pytest.param(
            cond("R32", "Urinary incontinence", onset=None),
            CRIT,
            "new incontinence: Urinary incontinence",
            id="undated-incontinence-named-without-a-date",
        ),
        pytest.param(cond("M21.371", "Foot drop", status=None, abated=1), None, None, id="foot-drop-abated"),
        pytest.param(cond("M21.371", "Foot drop"), CRIT, f"new motor deficit: Foot drop ({ago(5)})", id="foot-drop"),
        pytest.param(cond("386661006", "Fever", SCT), CRIT, f"fever: Fever ({ago(5)})", id="fever-condition"),
        pytest.param(cond("386661006", "Fever", SCT, status=None, abated=1), None, None, id="fever-abated-yesterday"),
        pytest.param(
            observation("8310-5", 38.5, "Cel", days=2),
            CRIT,
            f"temperature 38.5 °C on {ago(2)}",
            id="temperature-celsius-reads-as-degrees-not-its-ucum-code",
        ),
        pytest.param(
            observation("8310-5", 101.0, "[degF]", days=2),
            CRIT,
            f"temperature 101 °F (38.3 °C) on {ago(2)}",
            id="temperature-fahrenheit-101-is-38.3-celsius-and-says-so",
        ),
        pytest.param(observation("8310-5", 100.2, "[degF]", days=2), None, None, id="100.2-fahrenheit-is-37.9-celsius"),
        *[
            pytest.param(
                observation("8310-5", 100.4, unit, days=2),
                CRIT,
                f"temperature 100.4 °F (38 °C) on {ago(2)}",
                id=f"100.4-{unit}-is-fahrenheit",
            )
            for unit in ("[degF]", "degF", "°F", "F", "[DEGF]")
        ],
        *[
            pytest.param(observation("8310-5", 100.2, unit, days=2), None, None, id=f"100.2-{unit}-is-37.9-celsius")
            for unit in ("degF", "°F", "F")
        ],
        *[
            pytest.param(
                observation("8310-5", 38.5, unit, days=2),
                CRIT,
                f"temperature 38.5 °C on {ago(2)}",
                id=f"38.5-{unit}-reads-as-degrees-celsius",
            )
            for unit in ("Cel", "°C", "C", "degC")
        ],
        pytest.param(observation("8310-5", 310.2, "K", days=2), None, None, id="310.2-kelvin-is-37-celsius-no-fever"),
        *[
            pytest.param(observation("8310-5", 44, unit, days=2), None, None, id=f"44-{unit}-is-fahrenheit-not-celsius")
            for unit in ("[degF]", "degF", "°F", "F")
        ],
        *[
            pytest.param(
                observation("8310-5", 46, unit, days=2),
                CRIT,
                f"temperature 46 °C on {ago(2)}",
                id=f"46-{unit}-is-celsius-as-sent",
            )
            for unit in ("Cel", "°C", "C", "degC")
        ],
        pytest.param(
            observation("8310-5", 38.6, "deg", days=2),
            CRIT,
            f"temperature 38.6 deg on {ago(2)}",
            id="38.6-in-an-unknown-unit-reads-as-celsius",
        ),
        pytest.param(
            observation("8310-5", 45, "deg", days=2),
            CRIT,
            f"temperature 45 deg on {ago(2)}",
            id="45-unknown-is-celsius",
        ),
        pytest.param(observation("8310-5", 46, "deg", days=2), None, None, id="46-unknown-is-fahrenheit-7.8-celsius"),
        pytest.param(
            observation("8310-5", 113, "deg", days=2),
            CRIT,
            f"temperature 113 °F (45 °C) on {ago(2)}",
            id="113-unknown-is-fahrenheit-45-celsius",
        ),
        pytest.param(observation("8310-5", 114, "deg", days=2), None, None, id="114-unknown-is-no-body-temperature"),
        pytest.param(
            observation("8310-5", 1e308, "[degF]", days=2),
            CRIT,
            f"temperature 1e+308 °F (5.55556e+307 °C) on {ago(2)}",
            id="1e308-fahrenheit-does-not-overflow-to-inf",
        ),
        pytest.param(
            observation("8310-5", 38.2, days=2),
            CRIT,
            f"temperature 38.2 on {ago(2)}",
            id="temperature-without-unit-read-as-celsius",
        ),
        pytest.param(
            cond("M46.26", "Vertebral osteomyelitis"),
            CRIT,
            f"spinal infection: Vertebral osteomyelitis ({ago(5)})",
            id="spinal-infection",
        ),
        pytest.param(
            cond("M46.26", "Vertebral osteomyelitis", status="resolved"), None, None, id="resolved-spinal-infection"
        ),
        pytest.param(
            cond("C61", "Prostate cancer", status="resolved"),
            WARN,
            f"cancer: Prostate cancer ({ago(5)})",
            id="cancer-at-any-status",
        ),
        pytest.param(
            cond("Z85.3", "History of breast cancer", status="inactive"),
            WARN,
            f"cancer: History of breast cancer ({ago(5)})",
            id="cancer-history-at-any-status",
        ),
        pytest.param(
            cond("R63.4", "Abnormal weight loss"),
            WARN,
            f"unexplained weight loss: Abnormal weight loss ({ago(5)})",
            id="weight-loss",
        ),
        pytest.param(cond("R63.4", "Abnormal weight loss", status="resolved"), None, None, id="resolved-weight-loss"),
        pytest.param(
            cond("R63.4", "Abnormal weight loss", onset=None),
            WARN,
            "unexplained weight loss: Abnormal weight loss",
            id="undated-weight-loss-counts",
        ),
        pytest.param(
            cond("B20", "HIV disease", status="inactive"),
            WARN,
            f"immunosuppression: HIV disease ({ago(5)})",
            id="immunosuppression-at-any-status",
        ),
        pytest.param(
            cond("F11.20", "Opioid dependence", status="active", onset=2000),
            WARN,
            f"injection or illicit drug use: Opioid dependence ({ago(2000)})",
            id="active-drug-use-disorder-whenever-it-began",
        ),
        pytest.param(
            cond("F11.20", "Opioid dependence", status=None, onset=2000, abated=1000),
            None,
            None,
            id="drug-use-abated-years-ago",
        ),
        pytest.param(
            cond("M81.0", "Osteoporosis", status="inactive"),
            WARN,
            f"osteoporosis: Osteoporosis ({ago(5)})",
            id="osteoporosis-at-any-status",
        ),
        pytest.param(
            cond("Z79.52", "Long term steroids"),
            WARN,
            f"long-term systemic steroids: Long term steroids ({ago(5)})",
            id="z79.52",
        ),
        pytest.param(cond("Z79.52", "Long term steroids", status="resolved"), None, None, id="resolved-z79.52"),
        pytest.param(
            cond("S32.009A", "Lumbar fracture", status="resolved", onset=30),
            WARN,
            f"recent trauma or vertebral fracture: Lumbar fracture ({ago(30)})",
            id="trauma-at-any-status",
        ),
        pytest.param(
            cond("S32.009A", "Lumbar fracture", onset=None),
            WARN,
            "recent trauma or vertebral fracture: Lumbar fracture",
            id="undated-fracture-counts",
        ),
        pytest.param(cond("S32.009A", "Lumbar fracture", onset=-3), None, None, id="fracture-dated-in-the-future"),
    ],
)
def test_each_red_flag_as_the_card_names_it(resource, tier, line):
    indicator, lines, evidence = flags_and_evidence(resource)
    assert indicator == tier
    assert lines == ([line] if line else [])
    if tier:  # the chart entry that raised the flag is cited, so an auditor can find it (issue 25)
        assert f"{resource['resourceType']}/{resource['id']}" in evidence


def test_a_fracture_dated_today_is_recent_trauma():
    _, lines = flags(cond("S32.009A", "Lumbar fracture", onset=0))
    assert lines == [f"recent trauma or vertebral fracture: Lumbar fracture ({ago(0)})"]


def steroid(status="active", kind="MedicationRequest", start=100, end=None, rid="s1"):
    res = {
        "resourceType": kind,
        "id": rid,
        "status": status,
        "subject": SUBJECT,
        "medicationCodeableConcept": {"coding": [{"system": RX, "code": "312617", "display": "prednisone 5 MG"}]},
    }
    if kind == "MedicationRequest":
        return res | {"intent": "order", "authoredOn": ago(start)}
    return res | {"effectivePeriod": {"start": ago(start)} | ({"end": ago(end)} if end is not None else {})}


@pytest.mark.parametrize(
    ("meds", "days"),
    [
        pytest.param([steroid(start=99)], 100, id="active-order-counts-from-its-start-to-today-inclusive"),
        pytest.param(
            [steroid(kind="MedicationStatement", start=150, end=51)], 100, id="ended-statement-counts-its-own-days"
        ),
        pytest.param(
            [steroid(kind="MedicationStatement", start=400, end=260)],
            106,
            id="a-course-that-began-before-the-year-counts-from-365-days-ago",
        ),
        pytest.param(
            [
                steroid(kind="MedicationStatement", start=150, end=91, rid="a"),
                steroid(kind="MedicationStatement", start=120, end=51, rid="b"),
            ],
            100,
            id="overlapping-courses-count-each-day-once",
        ),
        pytest.param(
            [
                steroid(kind="MedicationStatement", start=150, end=106, rid="a"),
                steroid(kind="MedicationStatement", start=95, end=41, rid="b"),
            ],
            100,
            id="two-courses-add-up",
        ),
        pytest.param([steroid(status="entered-in-error", start=99)], None, id="entered-in-error-does-not-count"),
        pytest.param([steroid(status="cancelled", start=99)], None, id="cancelled-does-not-count"),
        pytest.param([steroid(status="completed", start=99)], None, id="completed-order-without-end-is-one-day"),
        *[
            pytest.param(
                [steroid(status=status, kind="MedicationStatement", start=150, end=10)],
                None,
                id=f"a-{status}-statement-is-no-use",
            )
            for status in ("entered-in-error", "cancelled", "draft", "not-taken", "intended")
        ],
        pytest.param(
            [steroid(status="completed", kind="MedicationStatement", start=150, end=51)],
            100,
            id="a-completed-statement-is-use",
        ),
    ],
)
def test_days_of_systemic_steroids_in_the_last_year(meds, days):
    _, lines = flags(*meds)
    expected = f"systemic corticosteroids for {days} days in the last 12 months: prednisone 5 MG"
    assert [line.split(" (")[0] for line in lines] == ([expected] if days else [])  # named with the drug (0.10 item 9)


def test_the_steroid_line_names_each_drug_with_its_date_and_cites_its_orders():
    _, lines, evidence = flags_and_evidence(steroid(start=99, rid="s1"), steroid(start=60, rid="s2"))
    assert lines == [
        "systemic corticosteroids for 100 days in the last 12 months: "
        f"prednisone 5 MG (2 orders, last ordered {ago(60)})"
    ]
    assert {"MedicationRequest/s1", "MedicationRequest/s2"} <= set(evidence)
