"""`drug_labels` names each drug once per state, in first-seen order, with the count of its orders: renewals of one
drug, one after another or apart, make one label; a draft of it, another."""

from __future__ import annotations

from datetime import date

from cds_service.knowledge import load
from cds_service.record.patient_record import MedicationFact, PatientRecord
from cds_service.rules._names import drug_labels, renewals_last_ordered

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


def test_labels_and_last_ordered_kept_for_a_list_are_never_another_lists():
    record = PatientRecord(load(), "p1")
    a, b, c = order("A", date(2026, 9, 1)), order("A", date(2026, 10, 1)), order("A", date(2026, 11, 1))
    assert drug_labels(record, [a, b], "drug", TODAY) == ["A (2 orders, last ordered 2026-10-01)"]
    assert drug_labels(record, [a, c], "drug", TODAY) == ["A (2 orders, last ordered 2026-11-01)"]  # same first
    assert drug_labels(record, [a], "drug", TODAY) == ["A (last ordered 2026-09-01)"]
    assert renewals_last_ordered(record, [a, b], TODAY) == "last ordered 2026-10-01"
    assert renewals_last_ordered(record, [a, c], TODAY) == "last ordered 2026-11-01"
    assert renewals_last_ordered(record, [], TODAY) == ""


def test_a_list_changed_after_it_was_labelled_is_labelled_anew():
    record = PatientRecord(load(), "p1")
    a, b = order("A", date(2026, 9, 1)), order("A", date(2026, 10, 1))
    meds, group = [a], [a]
    assert drug_labels(record, meds, "drug", TODAY) == ["A (last ordered 2026-09-01)"]
    other = PatientRecord(load(), "p1")  # where no label has kept the group
    assert renewals_last_ordered(other, group, TODAY) == "last ordered 2026-09-01"
    meds.append(b)
    group.append(b)
    assert drug_labels(record, meds, "drug", TODAY) == ["A (2 orders, last ordered 2026-10-01)"]
    assert renewals_last_ordered(other, group, TODAY) == "last ordered 2026-10-01"


def test_an_equal_list_of_other_facts_gets_the_same_labels():
    record = PatientRecord(load(), "p1")
    assert drug_labels(record, [order("A", date(2026, 9, 1))], "drug", TODAY) == ["A (last ordered 2026-09-01)"]
    assert drug_labels(record, (order("A", date(2026, 9, 1)),), "drug", TODAY) == ["A (last ordered 2026-09-01)"]
