"""The inbox repository: per-agency mailboxes for pull delivery."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import Connection

from hub.store import Store, inbox


def _add(conn: Connection, agency_id: str, event_id: str, at: datetime) -> bool:
    key = ("agency-a", event_id)
    return bool(inbox.add_many(conn, agency_id, [(key, {"id": event_id})], at))


def test_add_and_get(conn: Connection, now: datetime) -> None:
    """An added event reads back unacknowledged with its envelope."""
    assert _add(conn, "a1", "e1", now)
    row = inbox.get(conn, "a1", ("agency-a", "e1"))
    assert row is not None
    assert (row.agency_id, row.event_id, row.envelope) == ("a1", "e1", {"id": "e1"})
    assert row.delivered_at == now
    assert row.acked_at is None


def test_duplicate_delivery_is_ignored(conn: Connection, now: datetime) -> None:
    """Adding the same event to the same agency twice returns False and keeps one row."""
    assert _add(conn, "a1", "e1", now)
    assert _add(conn, "a1", "e1", now + timedelta(seconds=1)) is False
    assert len(inbox.list_after(conn, "a1", after_seq=0, limit=10)) == 1


def test_same_event_for_two_agencies(conn: Connection, now: datetime) -> None:
    """One event can sit in several agencies' mailboxes."""
    assert _add(conn, "a1", "e1", now)
    assert _add(conn, "a2", "e1", now)
    assert inbox.get(conn, "a2", ("agency-a", "e1")) is not None


def test_list_after_pages_by_cursor(conn: Connection, now: datetime) -> None:
    """list_after returns only the agency's events after the cursor, in order, limited."""
    for i in range(5):
        _add(conn, "a1", f"e{i}", now)
        _add(conn, "a2", f"x{i}", now)
    page = inbox.list_after(conn, "a1", after_seq=0, limit=2)
    assert [r.event_id for r in page] == ["e0", "e1"]
    page = inbox.list_after(conn, "a1", after_seq=page[-1].seq, limit=10)
    assert [r.event_id for r in page] == ["e2", "e3", "e4"]
    assert inbox.list_after(conn, "a1", after_seq=page[-1].seq, limit=10) == []


def test_acked_events_are_hidden_unless_asked(conn: Connection, now: datetime) -> None:
    """Acknowledged events drop out of list_after unless include_acked is set."""
    for i in range(3):
        _add(conn, "a1", f"e{i}", now)
    assert inbox.ack(conn, "a1", ("agency-a", "e1"), now)
    assert [r.event_id for r in inbox.list_after(conn, "a1", after_seq=0, limit=10)] == [
        "e0",
        "e2",
    ]
    every = inbox.list_after(conn, "a1", after_seq=0, limit=10, include_acked=True)
    assert [r.event_id for r in every] == ["e0", "e1", "e2"]


def test_ack_twice_keeps_first_time(conn: Connection, now: datetime) -> None:
    """A second ack returns True and keeps the first acked_at."""
    _add(conn, "a1", "e1", now)
    assert inbox.ack(conn, "a1", ("agency-a", "e1"), now)
    assert inbox.ack(conn, "a1", ("agency-a", "e1"), now + timedelta(minutes=1))
    row = inbox.get(conn, "a1", ("agency-a", "e1"))
    assert row is not None
    assert row.acked_at == now


def test_ack_unknown_is_false(conn: Connection, now: datetime) -> None:
    """Acknowledging an event not in the mailbox returns False."""
    _add(conn, "a1", "e1", now)
    assert inbox.ack(conn, "a2", ("agency-a", "e1"), now) is False
    assert inbox.ack(conn, "a1", ("agency-a", "e2"), now) is False


def test_get_unknown_is_none(conn: Connection) -> None:
    """get returns None for an event not in the agency's mailbox."""
    assert inbox.get(conn, "a1", ("agency-a", "e1")) is None


def test_additions_commit_in_seq_order(store: Store, now: datetime) -> None:
    """A second writer to a mailbox waits for the first, so seq order is commit order."""
    first_added = threading.Event()
    release = threading.Event()
    seqs: dict[str, int] = {}

    def first() -> None:
        with store.transaction() as conn:
            _add(conn, "a1", "e1", now)
            first_added.set()
            release.wait(10)
        with store.transaction() as conn:
            row = inbox.get(conn, "a1", ("agency-a", "e1"))
            assert row is not None
            seqs["e1"] = row.seq

    thread = threading.Thread(target=first)
    thread.start()
    assert first_added.wait(10)
    done = threading.Event()

    def second() -> None:
        with store.transaction() as conn:
            _add(conn, "a1", "e2", now)
        done.set()

    other = threading.Thread(target=second)
    other.start()
    time.sleep(0.3)
    assert not done.is_set()
    release.set()
    thread.join(10)
    other.join(10)
    assert done.is_set()
    with store.transaction() as conn:
        row = inbox.get(conn, "a1", ("agency-a", "e2"))
        assert row is not None
        assert row.seq > seqs["e1"]


def test_add_many_keeps_order_and_skips_held_events(conn: Connection, now: datetime) -> None:
    """A batch lands in the mailbox in the order given; events already there are not repeated."""
    _add(conn, "a1", "e2", now)
    events = [(("agency-a", e), {"id": e}) for e in ("e1", "e2", "e3")]
    added = inbox.add_many(conn, "a1", events, now)
    assert added == {("agency-a", "e1"), ("agency-a", "e3")}
    listed = inbox.list_after(conn, "a1", after_seq=0, limit=10)
    assert [row.event_id for row in listed] == ["e2", "e1", "e3"]
    assert inbox.add_many(conn, "a1", [], now) == set()


def test_add_many_with_the_same_event_twice_stores_it_once(conn: Connection, now: datetime) -> None:
    added = inbox.add_many(
        conn, "a1", [(("agency-a", "e1"), {"n": 1}), (("agency-a", "e1"), {"n": 2})], now
    )
    assert added == {("agency-a", "e1")}
    row = inbox.get(conn, "a1", ("agency-a", "e1"))
    assert row is not None
    assert row.envelope == {"n": 1}
