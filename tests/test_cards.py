"""Card serialisation details an EHR relies on."""


def test_cite_names_each_fact_once_by_type_and_id_and_leaves_out_facts_without_an_id():
    from datetime import date

    from cds_service.citations import cite
    from cds_service.record.patient_record import ConditionFact, MedicationFact, ObservationFact

    def condition(cid):
        return ConditionFact(cid, frozenset(), "Sciatica", "active", date(2026, 1, 1), None, None, frozenset())

    draft = MedicationFact("MedicationRequest", "d1", True, "draft", frozenset(), "oxycodone", None, None, frozenset())
    phq9 = ObservationFact("o1", frozenset(), "PHQ-9", date(2026, 1, 1), 14, None, frozenset(), None, frozenset())
    assert cite(condition("c1"), [draft, condition("c1"), condition(None)], None, phq9, "Patient/pt-1") == [
        "Condition/c1",
        "MedicationRequest/d1",
        "Observation/o1",
        "Patient/pt-1",
    ]


def test_every_card_names_its_rule_and_knowledge_even_without_evidence():
    from cds_service.cards import EXT_EVIDENCE, EXT_KNOWLEDGE, EXT_RULE, Card, Indicator, to_json
    from cds_service.knowledge import load

    out = to_json(Card("second-line", Indicator.INFO, "s", "d"), load())
    assert out["extension"][EXT_RULE] == "https://backpain-cds.org/fhir/PlanDefinition/second-line|1.0.0"
    assert out["extension"][EXT_KNOWLEDGE] == load().identity.as_json()
    assert EXT_EVIDENCE not in out["extension"]  # no empty fields


def test_a_cards_evidence_and_mme_stay_on_that_card_not_on_the_next_of_its_topic():
    """Each topic's rule and knowledge extensions are made once and shared: a card adds its evidence and MME to a
    copy, so the next card of the topic (this call's or the next call's) carries neither."""
    from cds_service.cards import EXT_EVIDENCE, MME_EXTENSION, Card, Indicator, to_json
    from cds_service.knowledge import load

    kb = load()
    first = to_json(Card("opioid-high-dose", Indicator.WARNING, "s", "d", mme=120.0, evidence=("Condition/c1",)), kb)
    assert first["extension"][EXT_EVIDENCE] == ["Condition/c1"] and first["extension"][MME_EXTENSION] == 120.0
    second = to_json(Card("opioid-high-dose", Indicator.WARNING, "s", "d"), kb)
    assert EXT_EVIDENCE not in second["extension"] and MME_EXTENSION not in second["extension"]
    assert set(second["extension"]) == set(kb.card_sources["opioid-high-dose"][2])


def test_a_shared_citation_names_the_episode_then_each_order_once_duplicates_and_missing_ids_included():
    """The opioid cards' Citation spells each medication's reference itself (not by the property): the same
    references, in the same order, each once, an order without an id left out; cards adding to it add only what
    it lacks."""
    from datetime import date

    from cds_service.citations import Citation, Cited, cite, references_of
    from cds_service.record.patient_record import ConditionFact, MedicationFact

    def order(oid, kind="MedicationRequest"):
        return MedicationFact(kind, oid, False, "active", frozenset(), "oxycodone", None, None, frozenset())

    back = ConditionFact("c1", frozenset(), "Back pain", "active", date(2026, 1, 1), None, None, frozenset())
    orders = [order("m1"), order("m2", "MedicationStatement"), order("m1"), order("m3"), order("m4"), order("m5")]
    expected = ["MedicationRequest/m1", "MedicationStatement/m2", "MedicationRequest/m3", "MedicationRequest/m4"]
    assert references_of(orders[:5]) == expected
    assert Citation(None, orders[:5]).references == expected
    assert Citation(None, [*orders[:5], order(None)]).references == expected  # no id: left out
    both = Citation(Cited(["Condition/c1"]), orders[:4])
    assert both.references == ["Condition/c1", *expected[:3]]
    assert references_of([back, *orders[:4]], ("Condition/c1",)) == both.references
    assert cite(both, [order("m9"), back]) == ["Condition/c1", *expected[:3], "MedicationRequest/m9"]
    assert cite(both, orders) == ["Condition/c1", *expected, "MedicationRequest/m5"]
    assert cite(both, [back], orders[:2]) is both.references  # nothing added: the shared list itself
    assert Citation(None, [back, *orders[:2]]).references == ["Condition/c1", *expected[:2]]  # any fact


def test_orders_with_odd_ids_are_cited_as_their_property_spells_them():
    """Ids that hold a separator, digits, empty and missing ids, and a second resource type: one reference per
    order, as MedicationFact.reference spells it, by the Citation, by references_of and by cite."""
    from cds_service.citations import Citation, cite, references_of
    from cds_service.record.patient_record import MedicationFact

    def order(oid, kind="MedicationRequest"):
        return MedicationFact(kind, oid, False, "active", frozenset(), "oxycodone", None, None, frozenset())

    for name, ids in [
        ("separator inside an id", ["a", "b\nc", "b/c", "d"]),
        ("digits for an id", ["a", "5", "c", "d"]),  # a number is no id: the reader leaves it out
        ("an empty id", ["a", "", "c", "d"]),
        ("an id missing", ["a", None, "c", "d"]),
    ]:
        orders = [order(i) for i in ids]
        spelt = [o.reference for o in orders if o.id is not None]
        assert Citation(None, orders).references == references_of(orders) == cite(orders) == spelt, name
    mixed = [order("a"), order("b", "MedicationStatement"), order("c"), order("d")]
    assert Citation(None, mixed).references == [
        "MedicationRequest/a",
        "MedicationStatement/b",
        "MedicationRequest/c",
        "MedicationRequest/d",
    ]


def test_a_card_takes_its_fields_in_order_with_their_defaults_and_stays_frozen():
    """Card writes its own __init__ (cheaper than the frozen dataclass's): it must stay the dataclass's. Checked by
    calling it (compiled, it has no signature to inspect)."""
    import dataclasses

    import pytest

    from cds_service.cards import SUMMARY_MAX, Card, Indicator

    fields = dataclasses.fields(Card)
    card = Card("second-line", Indicator.INFO, "s", "d", mme=12.5, evidence=("Patient/1",))
    assert card == Card("second-line", Indicator.INFO, "s", "d", (), (), 12.5, False, False, ("Patient/1",))
    assert (
        Card(*[getattr(card, f.name) for f in fields])
        == card
        == Card(**{f.name: getattr(card, f.name) for f in fields})
    )
    bare = Card("second-line", Indicator.INFO, "s", "d")
    assert [f.default for f in fields[:4]] == [dataclasses.MISSING] * 4
    assert [getattr(bare, f.name) for f in fields[4:]] == [f.default for f in fields[4:]]
    assert hash(card) == hash(dataclasses.replace(card)) and dataclasses.replace(card, detail="e").detail == "e"
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.detail = "changed"  # type: ignore[misc]
    with pytest.raises(ValueError):
        Card("second-line", Indicator.INFO, "s" * (SUMMARY_MAX + 1), "d")


def test_computed_values_are_worked_out_once_and_kept_under_their_own_names():
    """What several cards read (the knowledge's card sources, a Citation's references) is worked out on its first
    read and kept in the object's __dict__ under the name it is read by, compiled or not: a second read is the same
    object, with no work (were the name wrong, every read would work it out again: the answers would not show it)."""
    from cds_service.citations import Citation, computed
    from cds_service.knowledge import Identity, Knowledge, load
    from cds_service.record.patient_record import MedicationFact
    from cds_service.rules._episode import Episode
    from cds_service.rules._mme import MmeResult

    for cls in (Citation, Episode, Identity, Knowledge, MmeResult):
        named = {name: d.name for name, d in vars(cls).items() if isinstance(d, computed)}
        assert named and all(name == kept for name, kept in named.items()), (cls.__name__, named)
    kb = load()
    first = kb.card_sources
    assert "card_sources" in vars(kb) and kb.card_sources is first
    fields = ("MedicationRequest", "o1", False, "active", frozenset(), "oxycodone", None, None, frozenset())
    order = MedicationFact(*fields)
    citation = Citation(None, [order])
    assert citation.references is citation.references == ["MedicationRequest/o1"]
    assert vars(citation)["references"] is citation.references
