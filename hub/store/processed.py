"""Inbox de-duplication: which consumer has already handled which event.

A consumer claims an event in the same transaction as the state change the
event causes, so a redelivered event finds its claim and changes nothing. An
event is named by its ``(source, event_id)``: another source's event with the
same id is another event, handled on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from hub.store._errors import translating
from hub.store._sql import chunked, insert_many_or_ignore_keys, pairs_among
from hub.store._types import EventKey
from hub.store.schema import processed_events

__all__ = ["claim", "claim_many", "is_processed", "processed_among"]


@translating
def claim(conn: Connection, consumer: str, event: EventKey, at: datetime) -> bool:
    """Record that ``consumer`` handles ``event``; False if it already had."""
    return bool(claim_many(conn, consumer, [event], at))


@translating
def claim_many(
    conn: Connection, consumer: str, events: Sequence[EventKey], at: datetime
) -> set[EventKey]:
    """Claim a whole batch at once; the events claimed now, not those handled before."""
    rows = [
        {"consumer": consumer, "source": source, "event_id": event_id, "processed_at": at}
        for source, event_id in events
    ]
    claimed = insert_many_or_ignore_keys(
        conn, processed_events, rows, conflict_on=["consumer", "source", "event_id"]
    )
    return {(source, event_id) for _, source, event_id in claimed}


@translating
def is_processed(conn: Connection, consumer: str, event: EventKey) -> bool:
    return bool(processed_among(conn, consumer, [event]))


@translating
def processed_among(conn: Connection, consumer: str, events: Sequence[EventKey]) -> set[EventKey]:
    """Which of ``events`` the consumer has handled: one query for a whole batch."""
    wanted = set(events)
    found: set[EventKey] = set()
    for chunk in chunked(sorted(wanted)):
        result = conn.execute(
            select(processed_events.c.source, processed_events.c.event_id).where(
                processed_events.c.consumer == consumer,
                pairs_among(processed_events.c.source, processed_events.c.event_id, chunk),
            )
        )
        found.update(key for key in ((str(s), str(e)) for s, e in result) if key in wanted)
    return found
