"""The dead-letters repository: recording, listing, replay and exclusion."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from hub.store import dead_letters


def test_add_and_get(conn: Connection, now: datetime) -> None:
    """A dead letter reads back with every field and an id from add."""
    dl_id = dead_letters.add(
        conn,
        topic="referrals.v1",
        event_id="e1",
        reason="schema mismatch",
        at=now,
        agency_id="a1",
        envelope={"id": "e1"},
        attempts=3,
    )
    row = dead_letters.get(conn, dl_id)
    assert row is not None
    assert (row.id, row.topic, row.agency_id, row.event_id) == (dl_id, "referrals.v1", "a1", "e1")
    assert (row.reason, row.envelope, row.attempts) == ("schema mismatch", {"id": "e1"}, 3)
    assert row.created_at == now
    assert (row.replayed_at, row.excluded_reason) == (None, None)


def test_unparseable_envelope_is_stored_as_none(conn: Connection, now: datetime) -> None:
    """A dead letter without an envelope keeps envelope None."""
    dl_id = dead_letters.add(conn, topic="t", event_id="e1", reason="not json", at=now)
    row = dead_letters.get(conn, dl_id)
    assert row is not None
    assert (row.envelope, row.agency_id, row.attempts) == (None, None, 1)


def test_same_event_can_fail_twice(conn: Connection, now: datetime) -> None:
    """Each failure of the same event is its own dead letter."""
    first = dead_letters.add(conn, topic="t", event_id="e1", reason="x", at=now)
    second = dead_letters.add(conn, topic="t", event_id="e1", reason="y", at=now)
    assert second > first
    assert len(dead_letters.list_dead_letters(conn)) == 2


def test_get_unknown_is_none(conn: Connection) -> None:
    """get returns None for an id never used."""
    assert dead_letters.get(conn, 12345) is None


def test_list_filters(conn: Connection, now: datetime) -> None:
    """Listing filters by agency and leaves out replayed and excluded letters by default."""
    ids = [
        dead_letters.add(conn, topic="t", event_id=f"e{i}", reason="r", at=now, agency_id=agency)
        for i, agency in enumerate(["a1", "a2", "a1", "a1"])
    ]
    assert dead_letters.mark_replayed(conn, ids[2], now)
    assert dead_letters.exclude(conn, ids[3], "duplicate of e0")
    assert [d.id for d in dead_letters.list_dead_letters(conn)] == ids[:2]
    assert [d.id for d in dead_letters.list_dead_letters(conn, agency_id="a1")] == ids[:1]
    assert [
        d.id for d in dead_letters.list_dead_letters(conn, agency_id="a1", include_replayed=True)
    ] == [ids[0], ids[2]]
    everything = dead_letters.list_dead_letters(
        conn, include_replayed=True, include_excluded=True, limit=3
    )
    assert [d.id for d in everything] == ids[:3]


def test_mark_replayed_twice_keeps_first_time(conn: Connection, now: datetime) -> None:
    """Marking a dead letter replayed again keeps the first replayed_at."""
    dl_id = dead_letters.add(conn, topic="t", event_id="e1", reason="r", at=now)
    assert dead_letters.mark_replayed(conn, dl_id, now)
    assert dead_letters.mark_replayed(conn, dl_id, now + timedelta(hours=1))
    row = dead_letters.get(conn, dl_id)
    assert row is not None
    assert row.replayed_at == now


def test_exclude_records_reason(conn: Connection, now: datetime) -> None:
    """exclude stores the reason; unknown ids return False."""
    dl_id = dead_letters.add(conn, topic="t", event_id="e1", reason="r", at=now)
    assert dead_letters.exclude(conn, dl_id, "poison message")
    row = dead_letters.get(conn, dl_id)
    assert row is not None
    assert row.excluded_reason == "poison message"
    assert dead_letters.exclude(conn, dl_id + 100, "x") is False
    assert dead_letters.mark_replayed(conn, dl_id + 100, now) is False
