"""Inbox de-duplication: which consumer has already handled which event.

A consumer claims an event in the same transaction as the state change the
event causes, so a redelivered event finds its claim and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from hub.store._errors import translating
from hub.store._sql import chunked, insert_many_or_ignore
from hub.store.schema import processed_events

__all__ = ["claim", "claim_many", "is_processed", "processed_among"]


@translating
def claim(conn: Connection, consumer: str, event_id: str, at: datetime) -> bool:
    """Record that ``consumer`` handles ``event_id``; False if it already had."""
    return bool(claim_many(conn, consumer, [event_id], at))


@translating
def claim_many(conn: Connection, consumer: str, event_ids: Sequence[str], at: datetime) -> set[str]:
    """Claim a whole batch at once; the ids claimed now, not those handled before."""
    rows = [
        {"consumer": consumer, "event_id": event_id, "processed_at": at} for event_id in event_ids
    ]
    claimed = insert_many_or_ignore(
        conn, processed_events, rows, conflict_on=["consumer", "event_id"], returning="event_id"
    )
    return {str(event_id) for event_id in claimed}


@translating
def is_processed(conn: Connection, consumer: str, event_id: str) -> bool:
    found = conn.execute(
        select(processed_events.c.event_id).where(
            processed_events.c.consumer == consumer,
            processed_events.c.event_id == event_id,
        )
    ).first()
    return found is not None


@translating
def processed_among(conn: Connection, consumer: str, event_ids: Sequence[str]) -> set[str]:
    """Which of ``event_ids`` the consumer has handled: one query for a whole batch."""
    found: set[str] = set()
    for chunk in chunked(event_ids):
        result = conn.execute(
            select(processed_events.c.event_id).where(
                processed_events.c.consumer == consumer,
                processed_events.c.event_id.in_(chunk),
            )
        ).scalars()
        found.update(str(event_id) for event_id in result)
    return found
