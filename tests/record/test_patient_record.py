"""The record builder's own rules: observation window, patient choice, flattening."""

from __future__ import annotations

from cds_service.hook_request import HookContext
from cds_service.knowledge import load
from cds_service.record.builder import build_record
from cds_service.record.observations import OBSERVATION_WINDOW_DAYS
from cds_service.rules import _nsaid_status, depression_screening, red_flags
from tests.conftest import by_topic, cards_for
from tests.fhir_builders import PATIENT_ID, TODAY, bundle, lbp, observation, patient


def test_every_observation_window_fits_inside_what_the_builder_keeps():
    windows = [
        _nsaid_status.LAB_LOOKBACK_DAYS,
        _nsaid_status.PREGNANCY_LOOKBACK_DAYS,
        red_flags.FEVER_LOOKBACK_DAYS,
        depression_screening.LOOKBACK_DAYS,
    ]
    assert max(windows) <= OBSERVATION_WINDOW_DAYS


def test_observation_just_inside_the_window_is_read_and_just_outside_is_not():
    inside = by_topic(cards_for([lbp(onset_days=100), observation("44261-6", 12, days=365)]))
    outside = by_topic(cards_for([lbp(onset_days=100), observation("44261-6", 12, days=366)]))
    assert inside["depression-screening"].indicator.label == "warning"
    assert outside["depression-screening"].indicator.label == "info"


def test_context_patient_gives_the_age_even_when_another_patient_comes_first():
    context = HookContext(user_id="Practitioner/dr-1", patient_id=PATIENT_ID)
    values = [patient(age=10, pid="someone-else"), patient(age=40), bundle([lbp()])]
    assert build_record(load(), context, values, TODAY).age(TODAY) == 40


def test_nested_bundles_are_flattened_in_order():
    context = HookContext(user_id="Practitioner/dr-1", patient_id=PATIENT_ID)
    first, second = lbp(onset_days=5), lbp(onset_days=50)
    record = build_record(load(), context, [bundle([first, bundle([second])])], TODAY)
    assert [c.id for c in record.conditions] == [first["id"], second["id"]]


def test_a_misspelt_value_set_name_fails_loudly_instead_of_matching_nothing():
    import pytest

    context = HookContext(user_id="Practitioner/dr-1", patient_id=PATIENT_ID)
    record = build_record(load(), context, [bundle([lbp()])], TODAY)
    assert record.conditions_in("low-back-pain", TODAY, current=True)
    with pytest.raises(KeyError, match="low-back-pian"):
        record.conditions_in("low-back-pian", TODAY, current=True)


def test_the_builder_keeps_observations_of_the_last_365_days_only():
    kb = load()
    context = HookContext(user_id="Practitioner/dr-1", patient_id=PATIENT_ID)
    kept = {
        days: build_record(kb, context, [bundle([patient(), observation("44261-6", 12, days=days)])], TODAY).latest(
            "phq9", TODAY, 1000
        )
        for days in (365, 366)
    }
    assert kept[365] is not None and kept[366] is None
