"""The uuids of a response: cards' time-ordered (version 7), the rest random (version 4); canonical, fresh, never
repeated by a forked worker."""

import os
import time
import uuid

from cds_service.cards import card_uuid, new_uuid


def test_new_uuid_gives_distinct_canonical_random_uuids():
    made = [new_uuid() for _ in range(2000)]
    parsed = [uuid.UUID(u) for u in made]
    assert len(set(made)) == len(made)
    assert all(p.version == 4 and p.variant == uuid.RFC_4122 and str(p) == u for p, u in zip(parsed, made, strict=True))
    assert {u[19] for u in made} == set("89ab"), "the variant digit keeps its two random bits"
    assert len({u[14] for u in made}) == 1 and len({u[0] for u in made}) == 16


def test_card_uuids_are_canonical_version_7_stamped_with_the_millisecond_they_were_made():
    before = time.time_ns() // 1_000_000
    made = [card_uuid() for _ in range(2000)]
    after = time.time_ns() // 1_000_000
    parsed = [uuid.UUID(u) for u in made]
    assert len(set(made)) == len(made), "unique within the same millisecond"
    assert all(p.version == 7 and p.variant == uuid.RFC_4122 and str(p) == u for p, u in zip(parsed, made, strict=True))
    assert all(before <= p.int >> 80 <= after for p in parsed), "the first 48 bits are the Unix time in ms"
    assert {u[19] for u in made} == set("89ab") and len({u[35] for u in made}) == 16, "the rest is random"
    assert len({u[15:18] for u in made}) > 1000, "12 random bits after the version digit"


def test_card_uuids_sort_in_the_order_issued_so_the_card_log_index_grows_at_its_end():
    """A random key lands anywhere in the card log's index (a page of it read and dirtied per card); a key made
    later sorts after every key made a millisecond or more before it."""
    earlier = [card_uuid() for _ in range(50)]
    time.sleep(0.002)
    later = [card_uuid() for _ in range(50)]
    assert max(earlier) < min(later)


def test_a_forked_worker_never_repeats_the_uuids_its_parent_will_give():
    """Random bytes are read ahead: a gunicorn worker forked from the master must not inherit the master's."""
    new_uuid()  # the parent has bytes in hand
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next uuids, leave at once
        os.write(write, "".join([*(new_uuid() for _ in range(4)), *(card_uuid() for _ in range(4))]).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 4096).decode()
    os.close(read), os.close(write)
    parent = "".join([*(new_uuid() for _ in range(4)), *(card_uuid() for _ in range(4))])
    assert len(child) == len(parent) == 8 * 36 and child != parent
    child_ids, parent_ids = ({text[i : i + 36] for i in range(0, 288, 36)} for text in (child, parent))
    assert not child_ids & parent_ids
    assert not {u[15:] for u in child_ids} & {u[15:] for u in parent_ids}, "nor their random bits"
