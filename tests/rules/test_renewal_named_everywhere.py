"""A draft that renews a chart order is called a renewal on every card that names it, not only on the dose cards
(clinical reference 0.9: one name per drug across cards; 0.10 item 1): the opioid-benzodiazepine card listed Brenda
Jackson-style refills by their dose alone, as if a new opioid were being started."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import ago, dosage, lbp, med_request, med_statement, patient

OXY_5 = ("1049621", "oxycodone hydrochloride 5 MG Oral Tablet")
HYDROCODONE = ("856999", "hydrocodone bitartrate 5 MG / acetaminophen 325 MG Oral Tablet")
ALPRAZOLAM = ("308047", "alprazolam 0.25 MG Oral Tablet")
RENEWAL = "renewal of oxycodone hydrochloride 5 MG Oral Tablet (last ordered"


def order_sign(chart, draft):
    found = cards_for([lbp(onset_days=200), *chart], hook="order-sign", drafts=[draft], pt=patient(age=45))
    return by_topic(found)


@pytest.mark.parametrize(
    ("chart", "draft", "renews"),
    [
        pytest.param(
            [med_request(*OXY_5, dosage(1, "TAB", 1, 6, "h")), med_request(*ALPRAZOLAM)],
            med_request(*OXY_5, dosage(1, "TAB", 1, 6, "h"), status="draft", rid="d-oxy"),
            True,
            id="refill-of-the-chart-oxycodone-is-a-renewal-on-the-benzodiazepine-card",
        ),
        pytest.param(
            [med_request(*HYDROCODONE, dosage(1, "TAB", 1, 6, "h")), med_request(*ALPRAZOLAM)],
            med_request(*OXY_5, dosage(1, "TAB", 1, 6, "h"), status="draft", rid="d-oxy"),
            False,
            id="another-opioid-drafted-is-no-renewal",
        ),
        pytest.param(
            [med_request(*ALPRAZOLAM)],
            med_request(*OXY_5, dosage(1, "TAB", 1, 6, "h"), status="draft", rid="d-oxy"),
            False,
            id="first-opioid-drafted-is-no-renewal",
        ),
    ],
)
def test_the_benzodiazepine_card_names_a_renewal_as_the_dose_cards_do(chart, draft, renews):
    found = order_sign(chart, draft)
    benzo = found["opioid-benzodiazepine"].detail
    assert (RENEWAL in benzo) is renews
    assert "draft: 5 mg 4 times a day = 20 mg/day" in benzo  # the drafted dose is still named
    if renews:
        assert RENEWAL in found["opioid-risk"].detail  # the same words on the card listing the MME


def test_one_renewal_is_named_alike_on_every_card_even_beside_a_patient_reported_statement():
    """0.9: the renewal names the same chart entry everywhere; the request is the one kept beside an active statement
    of the same drug (0.4), and a statement is "recorded", never "ordered"."""
    chart = [
        med_request(*OXY_5, dosage(1, "TAB", 4), authored_days=60),
        med_statement(OXY_5[0], "Oxycodone 5 mg (patient reported)", dosage(1, "TAB", 4), start_days=5),
        med_request(*ALPRAZOLAM),
    ]
    found = order_sign(chart, med_request(*OXY_5, dosage(1, "TAB", 4), status="draft", rid="d-oxy"))
    named = {
        line[line.index("renewal of") :].split(")")[0]
        for card in found.values()
        for line in card.detail.splitlines()
        if "renewal of" in line
    }
    assert named == {f"renewal of {OXY_5[1]} (last ordered {ago(60)}"}, named
