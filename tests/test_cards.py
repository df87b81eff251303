"""Card serialisation details an EHR relies on."""
import uuid

from cds_service.cards import new_uuid


def test_new_uuid_gives_distinct_canonical_random_uuids():
    made = [new_uuid() for _ in range(2000)]
    parsed = [uuid.UUID(u) for u in made]
    assert len(set(made)) == len(made)
    assert all(p.version == 4 and p.variant == uuid.RFC_4122 and str(p) == u for p, u in zip(parsed, made, strict=True))
    assert {u[19] for u in made} == set("89ab"), "the variant digit keeps its two random bits"
    assert len({u[14] for u in made}) == 1 and len({u[0] for u in made}) == 16
