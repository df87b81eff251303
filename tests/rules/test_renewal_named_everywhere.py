"""A draft that renews a chart order is called a renewal on every card that names it, not only on the dose cards
(clinical reference 0.9: one name per drug across cards; 0.10 item 1): the opioid-benzodiazepine card listed Brenda
Jackson-style refills by their dose alone, as if a new opioid were being started."""

import pytest

from tests.conftest import by_topic, cards_for
from tests.fhir_builders import dosage, lbp, med_request, patient

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
