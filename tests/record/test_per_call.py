"""`per_call`: once per hook call and per argument, never another argument's or another record's answer."""

from __future__ import annotations

from cds_service.knowledge import load
from cds_service.record.patient_record import PatientRecord
from cds_service.record.per_call import per_call


def test_an_answer_is_worked_out_once_per_record_and_argument_and_never_another_ones():
    asked: list[tuple[str, object]] = []

    def question(record: PatientRecord, arg: object) -> object:
        """What is asked."""
        asked.append((record.patient_id, arg))
        return None if arg == "none" else (record.patient_id, arg)

    ask = per_call(question)
    first, second = PatientRecord(load(), "p1"), PatientRecord(load(), "p2")
    assert [ask(first, "a"), ask(first, "b"), ask(first, "a"), ask(second, "a")] == [
        ("p1", "a"),
        ("p1", "b"),
        ("p1", "a"),
        ("p2", "a"),
    ]
    assert ask(first, "none") is None and ask(first, "none") is None  # None is an answer: kept, not asked again
    assert asked == [("p1", "a"), ("p1", "b"), ("p2", "a"), ("p1", "none")]
    assert first.once(question, "b") == ("p1", "b") and len(asked) == 4  # record.once finds it under the same key
    assert (ask.__name__, ask.__doc__) == ("question", "What is asked.")
