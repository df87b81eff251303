"""Knowledge lookups: the indexed value-set search must answer exactly as asking every value set would."""

from cds_service.knowledge import ICD10CM, RXNORM, load, normalise


def test_value_sets_of_a_code_agree_with_asking_every_value_set():
    kb = load()
    codes = {code for v in kb.value_sets.values() for code in v.include.exact | v.exclude.exact}
    # codes reached only through is-a and regex rules or excludes, and codes in none of ours
    for icd in (
        "M54.5",
        "M51.16",
        "C44.91",
        "C50.911",
        "C79.51",
        "S32.001A",
        "G83.4",
        "R50.9",
        "Z85.46",
        "F11.20",
        "T40.2X1A",
        "N18.4",
        "Z99.999",
    ):
        codes.add(normalise(ICD10CM, icd))
    codes |= {(RXNORM, "0"), ("http://snomed.info/sct", "0"), ("http://loinc.org", "0-0")}
    assert len(codes) > 400
    for code in codes:
        expected = {v.name for v in kb.value_sets.values() if code in v}
        assert {v.name for v in kb.value_sets_of(code)} == expected, code


def test_an_excluded_code_is_not_classified_in_the_value_set_that_excludes_it():
    kb = load()
    skin = normalise(ICD10CM, "C44.91")  # C44 (non-melanoma skin cancer) is excluded from malignancy
    assert "malignancy" not in kb.classify(frozenset({skin}))
    assert "malignancy" in kb.classify(frozenset({normalise(ICD10CM, "C50.911")}))
