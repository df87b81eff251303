"""`drug_labels` names each drug once per state, in first-seen order, with the count of its orders: renewals of one
drug, one after another or apart, make one label; a draft of it, another."""

from __future__ import annotations

from datetime import date

from cds_service.knowledge import load
from cds_service.record.patient_record import MedicationFact, PatientRecord
from cds_service.rules._names import drug_labels

TODAY = date(2026, 11, 27)


def order(display: str, start: date, draft: bool = False) -> MedicationFact:
    return MedicationFact(
        "MedicationRequest", display, draft, "draft" if draft else "active", frozenset(), display, start, None,
        frozenset(), (),
    )  # fmt: skip


def labels(*meds: MedicationFact) -> list[str]:
    return drug_labels(PatientRecord(load(), "p1"), list(meds), "drug", TODAY)


def test_renewals_apart_and_together_make_one_label_each_drug_in_first_seen_order():
    a1, b1, a2 = order("A", date(2026, 10, 1)), order("B", date(2026, 9, 1)), order("A", date(2026, 11, 1))
    assert labels(a1, b1, a2) == ["A (2 orders, last ordered 2026-11-01)", "B (last ordered 2026-09-01)"]
    assert labels(a1, a2, b1) == ["A (2 orders, last ordered 2026-11-01)", "B (last ordered 2026-09-01)"]


def test_the_same_name_spelt_again_is_the_same_drug():
    again = "".join(["A", ""]) + "B"  # equal, not the same string object
    assert labels(order("AB", date(2026, 10, 1)), order(again, date(2026, 11, 1))) == [
        "AB (2 orders, last ordered 2026-11-01)"
    ]


def test_a_draft_of_a_drug_on_the_chart_is_labelled_apart():
    chart, draft = order("A", date(2026, 10, 1)), order("A", TODAY, draft=True)
    found = labels(chart, draft, order("A", date(2026, 11, 1)))
    assert found[0] == "A (2 orders, last ordered 2026-11-01)"
    assert found[1].startswith("A (draft")
    assert len(found) == 2
