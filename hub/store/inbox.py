"""Per-agency mailboxes for agencies that pull their events.

An agency reads its mailbox in ``seq`` order from a cursor and acknowledges
what it has handled; redelivery of the same event to the same agency is
ignored. An event is its ``(source, event_id)``: two agencies' events that
share an id are both kept.

A cursor reader relies on a row with a lower ``seq`` never becoming visible
after one with a higher ``seq``. SQLite gives that for free (one writer at a
time). On PostgreSQL, sequence values are handed out before commit, so
:func:`add_many` takes a per-agency advisory lock held to the end of the
transaction: additions to one mailbox commit in ``seq`` order. A transaction
adding to several mailboxes should do so in a fixed order (say, sorted by
agency id); otherwise two such transactions can deadlock, and PostgreSQL
aborts one of them with a (retriable) ``StoreError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select, update

from hub.store._errors import translating
from hub.store._sql import insert_many_or_ignore_keys
from hub.store._types import EventKey
from hub.store.schema import inbox

__all__ = ["InboxRow", "ack", "add_many", "get", "list_after", "with_id"]

# First half of the two-part advisory lock key; the second is the agency id's
# hash. Distinct from other advisory locks the hub takes.
_PG_LOCK_SPACE = 0x1B0C


@dataclass(frozen=True, slots=True)
class InboxRow:
    """An event in an agency's mailbox."""

    seq: int
    agency_id: str
    source: str
    event_id: str
    envelope: dict[str, Any]
    delivered_at: datetime
    acked_at: datetime | None


def _row(m: RowMapping) -> InboxRow:
    return InboxRow(
        seq=int(m["seq"]),
        agency_id=m["agency_id"],
        source=m["source"],
        event_id=m["event_id"],
        envelope=m["envelope"],
        delivered_at=m["delivered_at"],
        acked_at=m["acked_at"],
    )


@translating
def add_many(
    conn: Connection,
    agency_id: str,
    events: Sequence[tuple[EventKey, Mapping[str, Any]]],
    at: datetime,
) -> set[EventKey]:
    """Put ``((source, event_id), envelope)`` in the mailbox in order; the events new to it."""
    if not events:
        return set()
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_SPACE, func.hashtext(agency_id))))
    added = insert_many_or_ignore_keys(
        conn,
        inbox,
        [
            {
                "agency_id": agency_id,
                "source": source,
                "event_id": event_id,
                "envelope": dict(envelope),
                "delivered_at": at,
            }
            for (source, event_id), envelope in events
        ],
        conflict_on=["agency_id", "source", "event_id"],
    )
    return {(source, event_id) for _, source, event_id in added}


@translating
def list_after(
    conn: Connection,
    agency_id: str,
    *,
    after_seq: int,
    limit: int,
    include_acked: bool = False,
) -> list[InboxRow]:
    """The agency's events with ``seq > after_seq``, in ``seq`` order."""
    query = select(inbox).where(inbox.c.agency_id == agency_id, inbox.c.seq > after_seq)
    if not include_acked:
        query = query.where(inbox.c.acked_at.is_(None))
    result = conn.execute(query.order_by(inbox.c.seq).limit(limit)).mappings()
    return [_row(m) for m in result]


@translating
def ack(conn: Connection, agency_id: str, event: EventKey, at: datetime) -> bool:
    """Acknowledge an event; True if it is in the mailbox.

    Acknowledging again is harmless and keeps the first ``acked_at``.
    """
    source, event_id = event
    conn.execute(
        update(inbox)
        .where(
            inbox.c.agency_id == agency_id,
            inbox.c.source == source,
            inbox.c.event_id == event_id,
            inbox.c.acked_at.is_(None),
        )
        .values(acked_at=at)
    )
    return get(conn, agency_id, event) is not None


@translating
def get(conn: Connection, agency_id: str, event: EventKey) -> InboxRow | None:
    source, event_id = event
    m = (
        conn.execute(
            select(inbox).where(
                inbox.c.agency_id == agency_id,
                inbox.c.source == source,
                inbox.c.event_id == event_id,
            )
        )
        .mappings()
        .first()
    )
    return _row(m) if m is not None else None


@translating
def with_id(conn: Connection, agency_id: str, event_id: str) -> list[InboxRow]:
    """The events in the agency's mailbox with this id, from whichever source, by seq."""
    result = conn.execute(
        select(inbox)
        .where(inbox.c.agency_id == agency_id, inbox.c.event_id == event_id)
        .order_by(inbox.c.seq)
    ).mappings()
    return [_row(m) for m in result]
