"""FHIR date parsing and element-level validation."""

from datetime import UTC, date, datetime

import pytest

from cds_service.fhir.parse import Span, Unreadable, parse, to_date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("2026-11-27", date(2026, 11, 27), id="full-date"),
        pytest.param("2026-11-27T23:30:00-05:00", date(2026, 11, 27), id="datetime-keeps-its-own-calendar-day"),
        pytest.param("2026-11", date(2026, 11, 1), id="year-month-takes-the-first-day"),
        pytest.param("2026", date(2026, 1, 1), id="year-only"),
        pytest.param("2026-02-30", None, id="impossible-day"),
        pytest.param("yesterday", None, id="not-a-date"),
        pytest.param(20261127, None, id="number-not-a-date"),
        pytest.param(datetime(2026, 11, 27, 8, tzinfo=UTC), date(2026, 11, 27), id="parsed-datetime"),
    ],
)
def test_to_date(value, expected):
    assert to_date(value) == expected


def test_required_element_missing_or_invalid_is_unreadable():
    with pytest.raises(Unreadable, match="missing code"):
        parse({"resourceType": "Condition"}, ("code",), required=("code",))
    with pytest.raises(Unreadable, match="invalid code"):
        parse({"resourceType": "Condition", "code": {"coding": "x"}}, ("code",), required=("code",))


def test_invalid_optional_element_is_left_out_and_marked_lenient():
    parsed = parse(
        {"resourceType": "Condition", "code": {"text": "LBP"}, "onsetDateTime": "soon"},
        ("code", "onsetDateTime"),
        required=("code",),
    )
    assert parsed.get("onsetDateTime") is None and parsed.get("code").display == "LBP" and parsed.lenient


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        pytest.param(
            {"start": "2026-11-01T08:00:00-05:00", "end": "2026-11-27"},
            Span(date(2026, 11, 1), date(2026, 11, 27)),
            id="both-dates-read-as-calendar-days",
        ),
        pytest.param({"start": "2026-11"}, Span(date(2026, 11, 1), None), id="open-ended-partial-start"),
        pytest.param({"end": "2026-11-27"}, Span(None, date(2026, 11, 27)), id="end-only"),
        pytest.param({"start": "2026-11-01", "end": "soon"}, None, id="an-unreadable-end-drops-the-whole-period"),
        pytest.param({"start": 20261101}, None, id="number-is-not-a-date"),
        pytest.param("2026-11-01", None, id="a-string-is-not-a-period"),
    ],
)
def test_periods_are_read_as_spans_of_dates_or_left_out_leniently(period, expected):
    raw = {"resourceType": "Procedure", "code": {"text": "x"}, "performedPeriod": period}
    parsed = parse(raw, ("code", "performedPeriod"), required=("code",))
    assert parsed.get("performedPeriod") == expected
    assert parsed.lenient is (expected is None)


def test_concepts_are_validated_once_per_distinct_json_and_reduced_to_codes():
    from cds_service.fhir import parse as fhir_parse

    raw = {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.90", "code": "m54.5", "display": "Low back pain"}]}
    first = fhir_parse.concept(raw)
    assert first.codes == {("http://hl7.org/fhir/sid/icd-10-cm", "M545")} and first.display == "Low back pain"
    assert fhir_parse.concept(dict(raw)) is first  # a later request with the same JSON reuses the answer


def test_an_invalid_concept_stays_invalid_from_the_cache():
    from cds_service.fhir import parse as fhir_parse

    bad = {"coding": [{"system": 7, "code": "x"}]}
    for _ in range(2):
        with pytest.raises(ValueError):
            fhir_parse.concept(bad)


def test_the_concept_cache_is_bounded_by_bytes_not_count(monkeypatch):
    """Issue 20.5: 10,000 concepts were kept whatever their size; a concept of 1 MB of text was kept whole."""
    from cds_service.fhir import parse as fhir_parse
    from cds_service.knowledge.memo import Memo

    monkeypatch.setattr(fhir_parse, "_concepts", Memo(256 * 1024))
    found = [fhir_parse.concept({"text": f"drug {i} " + "x" * 300}) for i in range(1000)]
    assert [c.display[:8] for c in found[:3]] == ["drug 0 x", "drug 1 x", "drug 2 x"]  # past the bound: answered
    assert 0 < fhir_parse._concepts.used <= 256 * 1024 and len(fhir_parse._concepts) < 400
    fhir_parse.concept({"text": "y" * (1 << 20)})
    assert all(len(key) < 1000 for key in fhir_parse._concepts)  # a megabyte of text is never kept


def test_the_knowledge_caches_are_bounded_by_bytes():
    """Issue 20.5: the relevance and value-set caches counted entries (50,000 each), so long codes grew them without
    bound in bytes; they now stay within their allowances, however many distinct long codes arrive."""
    from cds_service.knowledge import load, model

    kb = load()
    for i in range(3000):
        code = f"M54.{i}" + "9" * 2000
        kb.is_relevant_raw("http://hl7.org/fhir/sid/icd-10-cm", code)
        kb.classify(frozenset({("http://hl7.org/fhir/sid/icd-10-cm", code[:40])}))
    assert kb.relevance.used <= model.RELEVANCE_CACHE_BYTES and kb.code_classes.used <= model.CLASSES_CACHE_BYTES
    assert all(v.cache.used <= model.VALUE_SET_CACHE_BYTES for v in kb.value_sets.values())


@pytest.mark.parametrize(
    ("text", "read"),
    [
        pytest.param("1800-01-01", True, id="the-first-day-of-1800-is-a-date"),
        pytest.param("1799-12-31", False, id="the-day-before-is-no-date"),
        pytest.param("0001-01-01", False, id="year-one-is-a-placeholder"),
    ],
)
def test_a_chart_date_before_1800_is_no_date(text, read):
    """Year 1 is a placeholder, not a history; the rules count days back from onsets, within the calendar."""
    assert (to_date(text) is not None) is read
    assert (to_date(text + "T10:00:00Z") is not None) is read
