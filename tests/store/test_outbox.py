"""The outbox repository: queued events, publication marks and de-duplication."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from hub.store import outbox


def _add(conn: Connection, event_id: str, at: datetime, **envelope: object) -> bool:
    return outbox.add(
        conn,
        source="agency-a",
        event_id=event_id,
        topic="referrals.v1",
        key="r-1",
        envelope={"id": event_id, "data": dict(envelope)},
        at=at,
    )


def test_add_and_get(conn: Connection, now: datetime) -> None:
    """An added event reads back with its envelope and is unpublished."""
    assert _add(conn, "e1", now, n=1)
    row = outbox.get(conn, "agency-a", "e1")
    assert row is not None
    assert (row.event_id, row.topic, row.key) == ("e1", "referrals.v1", "r-1")
    assert row.envelope == {"id": "e1", "data": {"n": 1}}
    assert row.created_at == now
    assert row.published_at is None


def test_duplicate_event_id_is_ignored(conn: Connection, now: datetime) -> None:
    """Adding an event id already queued returns False and keeps the first envelope."""
    assert _add(conn, "e1", now, n=1)
    assert _add(conn, "e1", now + timedelta(seconds=1), n=2) is False
    row = outbox.get(conn, "agency-a", "e1")
    assert row is not None
    assert row.envelope["data"] == {"n": 1}
    assert outbox.count_pending(conn) == 1


def test_get_unknown_is_none(conn: Connection) -> None:
    """get returns None for an event id never queued."""
    assert outbox.get(conn, "agency-a", "nope") is None


def test_pending_in_seq_order_with_limit(conn: Connection, now: datetime) -> None:
    """pending lists unpublished events oldest first, at most limit of them."""
    for i in range(5):
        _add(conn, f"e{i}", now)
    rows = outbox.pending(conn, 3)
    assert [r.event_id for r in rows] == ["e0", "e1", "e2"]
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)


def test_mark_published_removes_from_pending(conn: Connection, now: datetime) -> None:
    """Published events leave pending and count_pending; the rest stay."""
    for i in range(3):
        _add(conn, f"e{i}", now)
    first, second, _ = outbox.pending(conn, 10)
    outbox.mark_published(conn, [first.seq, second.seq], now)
    assert [r.event_id for r in outbox.pending(conn, 10)] == ["e2"]
    assert outbox.count_pending(conn) == 1
    published = outbox.get(conn, "agency-a", "e0")
    assert published is not None
    assert published.published_at == now


def test_mark_published_twice_keeps_first_time(conn: Connection, now: datetime) -> None:
    """Marking an already published event again keeps its first published_at."""
    _add(conn, "e1", now)
    (row,) = outbox.pending(conn, 10)
    outbox.mark_published(conn, [row.seq], now)
    outbox.mark_published(conn, [row.seq], now + timedelta(minutes=5))
    again = outbox.get(conn, "agency-a", "e1")
    assert again is not None
    assert again.published_at == now


def test_mark_published_with_no_seqs(conn: Connection, now: datetime) -> None:
    """mark_published with an empty list changes nothing."""
    _add(conn, "e1", now)
    outbox.mark_published(conn, [], now)
    assert outbox.count_pending(conn) == 1


def test_duplicate_add_does_not_publish_twice(conn: Connection, now: datetime) -> None:
    """Re-adding a published event id neither re-queues it nor changes it."""
    _add(conn, "e1", now)
    (row,) = outbox.pending(conn, 10)
    outbox.mark_published(conn, [row.seq], now)
    assert _add(conn, "e1", now) is False
    assert outbox.pending(conn, 10) == []


A_E1 = ("agency-a", "e1")


def _envelope(event_id: str, n: int) -> dict[str, object]:
    return {"id": event_id, "data": {"n": n}}


def test_add_many_queues_in_order_and_names_the_new_ids(conn: Connection, now: datetime) -> None:
    """add_many queues the events in the order given and returns only the ids it queued."""
    _add(conn, "e1", now, n=1)
    added = outbox.add_many(
        conn,
        [(("agency-a", "e0"), "r-0", _envelope("e0", 0)), (A_E1, "r-1", _envelope("e1", 2))],
        topic="referrals.v1",
        at=now,
    )
    assert added == {("agency-a", "e0")}
    assert [r.event_id for r in outbox.pending(conn, 10)] == ["e1", "e0"]
    kept = outbox.get(conn, "agency-a", "e1")
    assert kept is not None
    assert kept.envelope["data"] == {"n": 1}
    assert outbox.add_many(conn, [], topic="referrals.v1", at=now) == set()


def test_get_many_finds_the_queued_ids_only(conn: Connection, now: datetime) -> None:
    """get_many returns the rows of the ids queued, keyed by id, and nothing for the others."""
    for i in range(3):
        _add(conn, f"e{i}", now, n=i)
    keys = [("agency-a", "e2"), ("agency-a", "e0"), ("agency-a", "nope"), ("agency-b", "e0")]
    found = outbox.get_many(conn, keys)
    assert sorted(found) == [("agency-a", "e0"), ("agency-a", "e2")]
    assert found["agency-a", "e2"] == outbox.get(conn, "agency-a", "e2")
    assert outbox.get_many(conn, []) == {}


def _add_keyed(conn: Connection, event_id: str, key: str, at: datetime) -> None:
    outbox.add(
        conn,
        source="agency-a",
        event_id=event_id,
        topic="hub.ingress",
        key=key,
        envelope={"id": event_id},
        at=at,
    )


def test_a_leased_row_and_its_subjects_later_rows_are_not_claimed_again(
    conn: Connection, now: datetime
) -> None:
    """A second relay skips rows another relay leased, and every later row of the same key."""
    _add_keyed(conn, "e0", "r-1", now)
    _add_keyed(conn, "e1", "r-2", now)
    lease = now + timedelta(seconds=30)
    first = outbox.claim(conn, 1, now=now, until=lease)
    _add_keyed(conn, "e2", "r-1", now)
    second = outbox.claim(conn, 10, now=now, until=lease)
    assert [row.event_id for row in first] == ["e0"]
    assert [row.event_id for row in second] == ["e1"]


def test_a_lapsed_lease_is_claimed_again(conn: Connection, now: datetime) -> None:
    """Rows leased by a relay that never marked them are claimed once its lease has lapsed."""
    _add_keyed(conn, "e0", "r-1", now)
    outbox.claim(conn, 10, now=now, until=now + timedelta(seconds=30))
    later = now + timedelta(seconds=31)
    assert outbox.claim(conn, 10, now=now + timedelta(seconds=29), until=later) == []
    assert [row.event_id for row in outbox.claim(conn, 10, now=later, until=later)] == ["e0"]
