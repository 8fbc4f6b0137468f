"""Events that could not be processed or delivered, kept for inspection and replay.

A dead letter is settled either by replaying it (``replayed_at``) or by an
operator excluding it from replay with a reason (``excluded_reason``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, select, update

from hub.store._errors import translating
from hub.store.schema import dead_letters

__all__ = [
    "DeadLetterRow",
    "add",
    "exclude",
    "exists_for",
    "get",
    "list_dead_letters",
    "mark_replayed",
]


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    """One dead-lettered event; ``envelope`` is None when it could not be parsed."""

    id: int
    topic: str
    agency_id: str | None
    event_id: str
    reason: str
    envelope: dict[str, Any] | None
    attempts: int
    created_at: datetime
    replayed_at: datetime | None
    excluded_reason: str | None


def _row(m: RowMapping) -> DeadLetterRow:
    return DeadLetterRow(
        id=int(m["id"]),
        topic=m["topic"],
        agency_id=m["agency_id"],
        event_id=m["event_id"],
        reason=m["reason"],
        envelope=m["envelope"],
        attempts=int(m["attempts"]),
        created_at=m["created_at"],
        replayed_at=m["replayed_at"],
        excluded_reason=m["excluded_reason"],
    )


@translating
def add(
    conn: Connection,
    *,
    topic: str,
    event_id: str,
    reason: str,
    at: datetime,
    agency_id: str | None = None,
    envelope: dict[str, Any] | None = None,
    attempts: int = 1,
) -> int:
    """Record a dead letter and return its id.

    Not de-duplicated: the same event may fail again after a replay, and each
    failure is worth keeping.
    """
    result = conn.execute(
        dead_letters.insert()
        .values(
            topic=topic,
            agency_id=agency_id,
            event_id=event_id,
            reason=reason,
            envelope=envelope,
            attempts=attempts,
            created_at=at,
        )
        .returning(dead_letters.c.id)
    )
    return int(result.scalar_one())


@translating
def list_dead_letters(
    conn: Connection,
    *,
    agency_id: str | None = None,
    include_replayed: bool = False,
    include_excluded: bool = False,
    limit: int = 1000,
) -> list[DeadLetterRow]:
    """Dead letters oldest first, optionally for one agency.

    By default only the unsettled ones: neither replayed nor excluded, so that
    whatever replays the listing cannot pick up a letter set aside on purpose.
    """
    query = select(dead_letters)
    if agency_id is not None:
        query = query.where(dead_letters.c.agency_id == agency_id)
    if not include_replayed:
        query = query.where(dead_letters.c.replayed_at.is_(None))
    if not include_excluded:
        query = query.where(dead_letters.c.excluded_reason.is_(None))
    result = conn.execute(query.order_by(dead_letters.c.id).limit(limit)).mappings()
    return [_row(m) for m in result]


@translating
def get(conn: Connection, id: int) -> DeadLetterRow | None:
    m = conn.execute(select(dead_letters).where(dead_letters.c.id == id)).mappings().first()
    return _row(m) if m is not None else None


@translating
def mark_replayed(conn: Connection, id: int, at: datetime) -> bool:
    """Mark a dead letter replayed; True if it exists. A second call keeps the first time."""
    conn.execute(
        update(dead_letters)
        .where(dead_letters.c.id == id, dead_letters.c.replayed_at.is_(None))
        .values(replayed_at=at)
    )
    return _exists(conn, id)


@translating
def exclude(conn: Connection, id: int, reason: str) -> bool:
    """Exclude a dead letter from replay, giving the reason; True if it exists."""
    result = conn.execute(
        update(dead_letters).where(dead_letters.c.id == id).values(excluded_reason=reason)
    )
    return result.rowcount == 1


def _exists(conn: Connection, id: int) -> bool:
    return (
        conn.execute(select(dead_letters.c.id).where(dead_letters.c.id == id)).first() is not None
    )


@translating
def exists_for(conn: Connection, agency_id: str, event_id: str) -> bool:
    """Whether the event was ever dead-lettered for this agency."""
    found = conn.execute(
        select(dead_letters.c.id)
        .where(dead_letters.c.agency_id == agency_id, dead_letters.c.event_id == event_id)
        .limit(1)
    ).first()
    return found is not None
