"""An NSAID or aspirin allergy that contraindicates NSAIDs is named as the chart names it, with its date, and cited
(clinical reference 0.9, 0.10 items 9 and 17, 4.1): "NSAID or aspirin allergy: Aspirin (recorded 1996-12-27)",
never the bare "recorded NSAID or aspirin allergy" the clinical review found on Augustus's chart."""

import pytest

from cds_service.citations import cite
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import PATIENT_ID, RX, SCT, lbp

ASPIRIN = ("1191", "Aspirin")
IBUPROFEN = ("5640", "ibuprofen")


def allergy(rid, code, display="", text=None, recorded=None, onset=None, status="active"):
    coding = {"system": RX if code[0].isdigit() else SCT, "code": code} | ({"display": display} if display else {})
    res = {
        "resourceType": "AllergyIntolerance",
        "id": rid,
        "patient": {"reference": f"Patient/{PATIENT_ID}"},
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": status}]
        },
        "code": {"coding": [coding]} | ({"text": text} if text is not None else {}),
    }
    if recorded:
        res["recordedDate"] = recorded
    if onset:
        res["onsetDateTime"] = onset
    return res


@pytest.mark.parametrize(
    ("allergies", "said"),
    [
        pytest.param(
            [allergy("1b2ce4a9", *ASPIRIN, text="Aspirin", recorded="1996-12-27T04:21:52-05:00")],
            "NSAID or aspirin allergy: Aspirin (recorded 1996-12-27)",
            id="augustus-aspirin-named-as-the-chart-names-it-with-its-recorded-date",
        ),
        pytest.param(
            [allergy("a-ibu", *IBUPROFEN, text="Ibuprofen (hives)", recorded="2020-03-04", onset="2019-05-02")],
            "NSAID or aspirin allergy: Ibuprofen (hives) (recorded 2020-03-04)",
            id="text-before-the-coding-display-and-the-recorded-date-before-the-onset",
        ),
        pytest.param(
            [allergy("a-ibu", *IBUPROFEN, onset="2019-05-02")],
            "NSAID or aspirin allergy: ibuprofen (onset 2019-05-02)",
            id="no-recorded-date-the-onset-dates-it",
        ),
        pytest.param(
            [allergy("a-ibu", *IBUPROFEN)],
            "NSAID or aspirin allergy: ibuprofen",
            id="undated-allergy-named-without-an-invented-date",
        ),
        pytest.param(
            [allergy("a-asa", "1191", recorded="2001-01-02")],
            "NSAID or aspirin allergy: aspirin (recorded 2001-01-02)",
            id="unnamed-aspirin-allergy-named-by-what-it-is",
        ),
        pytest.param(
            [allergy("a-ibu", "5640", recorded="2001-01-02")],
            "NSAID or aspirin allergy: NSAID (recorded 2001-01-02)",
            id="unnamed-ibuprofen-allergy-named-by-what-it-is",
        ),
        pytest.param(
            [allergy("a-x", *IBUPROFEN, text="[Open](https://x.example) **URGENT**", recorded="2001-01-02")],
            "NSAID or aspirin allergy: \\[Open\\](https:\u2060//x.\u2060example) \\*\\*URGENT\\*\\* "
            "(recorded 2001-01-02)",  # escaped: no link, no emphasis (the word joiners break the autolink)
            id="chart-text-escaped-in-card-markdown",
        ),
        pytest.param(
            [
                allergy("a-ibu", *IBUPROFEN, recorded="2015-06-07"),
                allergy("1b2ce4a9", *ASPIRIN, recorded="1996-12-27"),
                allergy("a-pen", "7980", "penicillin G", recorded="1990-01-01"),
            ],
            "NSAID or aspirin allergy: Aspirin (recorded 1996-12-27), ibuprofen (recorded 2015-06-07)",
            id="two-nsaid-allergies-each-named-and-dated-penicillin-left-out",
        ),
    ],
)
def test_the_nsaid_allergy_is_named_with_its_date_and_cited(allergies, said):
    cards = by_topic(cards_for([lbp(), *allergies]))
    for topic in ("nsaid-contraindicated", "acetaminophen-alternative"):
        assert topic in cards
    card = cards["nsaid-contraindicated"]
    reasons = [line[2:] for line in card.detail.splitlines() if line.startswith("- ")]
    assert reasons == [said]
    nsaid_allergies = [a for a in allergies if a["id"] != "a-pen"]
    cited = set(cite(*card.evidence))
    assert {f"AllergyIntolerance/{a['id']}" for a in nsaid_allergies} <= cited
    assert "AllergyIntolerance/a-pen" not in cited


def test_a_resolved_nsaid_allergy_is_neither_named_nor_cited():
    cards = by_topic(cards_for([lbp(), allergy("a-ibu", *IBUPROFEN, recorded="2001-01-02", status="resolved")]))
    assert "nsaid-contraindicated" not in cards and "nsaid-first-line" in cards
    assert not any(ref.startswith("AllergyIntolerance/") for ref in cite(*cards["nsaid-first-line"].evidence))
