"""Where a number stops being a dose (rules/_dosing.py MAX_AMOUNT, MAX_PER_DAY): at the bound it is read, one past it
it is a data error, read as no usable dose, so that no product of such numbers reaches a card as infinity. The
bounds are written out, not imported: a test must fail when one moves."""

from __future__ import annotations

import pytest

from cds_service.rules._dosing import dosage, dose, per_day
from tests.fhir_builders import dosage as raw_dosage


@pytest.mark.parametrize(
    ("amount", "read"),
    [
        pytest.param(1_000_000, True, id="an-amount-at-the-bound-is-read"),
        pytest.param(1_000_001, False, id="one-past-it-is-a-data-error"),
        pytest.param(1e308, False, id="near-the-float-limit-is-a-data-error"),
    ],
)
def test_an_amount_per_administration_is_read_up_to_its_bound(amount, read):
    found = dose(dosage(raw_dosage(amount, "mg")))
    assert (found is not None) is read


@pytest.mark.parametrize(
    ("frequency", "read"),
    [
        pytest.param(10_000, True, id="administrations-at-the-bound-are-read"),
        pytest.param(10_001, False, id="one-past-it-is-a-data-error"),
    ],
)
def test_administrations_a_day_are_read_up_to_their_bound(frequency, read):
    assert (per_day(dosage(raw_dosage(1, "mg", frequency))) is not None) is read
