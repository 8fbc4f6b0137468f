"""The transactional outbox: events waiting to be published to Kafka.

Events are written here in the same transaction as the state change that
produced them; a relay publishes them afterwards and marks them published, so
an event is never lost and never published without its state change.

An event is identified by its ``(source, event_id)``: CloudEvents ids are unique
per source only, so one agency's ids never collide with another's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, or_, select, update

from hub.store._errors import translating
from hub.store._sql import chunked, insert_many_or_ignore_keys, insert_or_ignore, pairs_among
from hub.store._types import EventKey
from hub.store.schema import outbox

__all__ = [
    "OutboxRow",
    "add",
    "add_many",
    "claim",
    "count_pending",
    "get",
    "get_many",
    "mark_published",
    "pending",
    "published",
    "release",
    "unpublish",
]


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An event to publish; ``seq`` gives the order it was written in."""

    seq: int
    source: str
    event_id: str
    topic: str
    key: str
    envelope: dict[str, Any]
    created_at: datetime
    published_at: datetime | None


def _row(m: RowMapping) -> OutboxRow:
    return OutboxRow(
        seq=int(m["seq"]),
        source=m["source"],
        event_id=m["event_id"],
        topic=m["topic"],
        key=m["key"],
        envelope=m["envelope"],
        created_at=m["created_at"],
        published_at=m["published_at"],
    )


@translating
def add(
    conn: Connection,
    *,
    source: str,
    event_id: str,
    topic: str,
    key: str,
    envelope: dict[str, Any],
    at: datetime,
    published_at: datetime | None = None,
) -> bool:
    """Queue an event; False, and no change, if ``source`` already queued ``event_id``.

    ``published_at`` records a message already published, kept so that it can
    be published again if the broker loses it.
    """
    return insert_or_ignore(
        conn,
        outbox,
        {
            "source": source,
            "event_id": event_id,
            "topic": topic,
            "key": key,
            "envelope": envelope,
            "created_at": at,
            "published_at": published_at,
        },
        conflict_on=["source", "event_id"],
    )


@translating
def add_many(
    conn: Connection,
    events: Sequence[tuple[EventKey, str, Mapping[str, Any]]],
    *,
    topic: str,
    at: datetime,
) -> set[EventKey]:
    """Queue ``((source, event_id), key, envelope)`` on ``topic``, in order; the events new here.

    An event already queued, by this call or a concurrent one, is left as it is.
    """
    added = insert_many_or_ignore_keys(
        conn,
        outbox,
        [
            {
                "source": source,
                "event_id": event_id,
                "topic": topic,
                "key": key,
                "envelope": dict(envelope),
                "created_at": at,
                "published_at": None,
            }
            for (source, event_id), key, envelope in events
        ],
        conflict_on=["source", "event_id"],
    )
    return {(source, event_id) for source, event_id in added}


@translating
def published(conn: Connection, *, after_seq: int, limit: int) -> list[OutboxRow]:
    """Published messages with ``seq > after_seq``, by seq: what a recovery re-examines."""
    result = conn.execute(
        select(outbox)
        .where(outbox.c.seq > after_seq, outbox.c.published_at.is_not(None))
        .order_by(outbox.c.seq)
        .limit(limit)
    ).mappings()
    return [_row(m) for m in result]


@translating
def unpublish(conn: Connection, seqs: Sequence[int]) -> None:
    """Queue messages again for the relay."""
    if seqs:
        conn.execute(
            update(outbox)
            .where(outbox.c.seq.in_(list(seqs)))
            .values(published_at=None, claimed_until=None)
        )


@translating
def get(conn: Connection, source: str, event_id: str) -> OutboxRow | None:
    m = (
        conn.execute(select(outbox).where(outbox.c.source == source, outbox.c.event_id == event_id))
        .mappings()
        .first()
    )
    return _row(m) if m is not None else None


@translating
def get_many(conn: Connection, keys: Sequence[EventKey]) -> dict[EventKey, OutboxRow]:
    """The queued events among ``(source, event_id)`` keys; those never queued are absent."""
    wanted = set(keys)
    found: dict[EventKey, OutboxRow] = {}
    for chunk in chunked(sorted(wanted)):
        result = conn.execute(
            select(outbox).where(pairs_among(outbox.c.source, outbox.c.event_id, chunk))
        ).mappings()
        for row in map(_row, result):
            if (row.source, row.event_id) in wanted:
                found[row.source, row.event_id] = row
    return found


@translating
def pending(conn: Connection, limit: int = 100) -> list[OutboxRow]:
    """Unpublished events, oldest first."""
    result = conn.execute(
        select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.seq).limit(limit)
    ).mappings()
    return [_row(m) for m in result]


#: Any constant shared by every relay: claims on PostgreSQL queue on this lock.
_CLAIM_LOCK_KEY = 0x6875_622D_6F75_7462  # "hub-outb"


@translating
def claim(conn: Connection, limit: int, *, now: datetime, until: datetime) -> list[OutboxRow]:
    """Lease up to ``limit`` pending events, oldest first, to publish before ``until``.

    Another relay's live lease keeps its rows from being claimed, and also
    every later row with the same key: a record is never published ahead of an
    earlier one of its subject, so per-key order on the topic holds with
    several relays. A lease that lapsed (its relay crashed) is claimed again.

    On PostgreSQL claims queue on a transaction-scoped advisory lock: a claim
    sees every claim committed before it, so two relays never lease one row.
    The lock is held only for this short statement pair, never while
    publishing. SQLite serialises writers itself (and one process only).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_CLAIM_LOCK_KEY)))
    pending_row = outbox.c.published_at.is_(None)
    leased_keys = select(outbox.c.key).where(pending_row, outbox.c.claimed_until > now)
    rows = conn.execute(
        select(outbox)
        .where(
            pending_row,
            or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now),
            outbox.c.key.not_in(leased_keys.scalar_subquery()),
        )
        .order_by(outbox.c.seq)
        .limit(limit)
    ).mappings()
    claimed = [_row(m) for m in rows]
    for chunk in chunked([row.seq for row in claimed]):
        conn.execute(update(outbox).where(outbox.c.seq.in_(chunk)).values(claimed_until=until))
    return claimed


@translating
def release(conn: Connection, seqs: Sequence[int]) -> None:
    """Give up the lease on rows not published after all: any relay may claim them now."""
    for chunk in chunked(list(seqs)):
        conn.execute(
            update(outbox)
            .where(outbox.c.seq.in_(chunk), outbox.c.published_at.is_(None))
            .values(claimed_until=None)
        )


@translating
def mark_published(conn: Connection, seqs: Sequence[int], at: datetime) -> None:
    """Mark events published; one already marked keeps its first timestamp."""
    if not seqs:
        return
    conn.execute(
        update(outbox)
        .where(outbox.c.seq.in_(list(seqs)), outbox.c.published_at.is_(None))
        .values(published_at=at)
    )


@translating
def count_pending(conn: Connection) -> int:
    count = conn.execute(
        select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
    ).scalar_one()
    return int(count)
