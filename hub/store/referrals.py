"""Referrals between agencies and the timeline of events on each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, or_, select, update

from hub.errors import StoreError
from hub.store._errors import translating
from hub.store._sql import chunked, insert_many_or_ignore, pairs_among
from hub.store.schema import referral_timeline, referrals

__all__ = [
    "ReferralRow",
    "TimelineEntry",
    "TimelineRow",
    "append_timelines",
    "count_overdue",
    "get_referral",
    "get_referrals",
    "insert_referrals",
    "referrals_for_agency",
    "timeline",
    "update_status",
]


@dataclass(frozen=True, slots=True)
class ReferralRow:
    """The current state of a referral; ``version`` counts its updates from 1."""

    referral_id: str
    from_agency: str
    to_agency: str
    subject_id: str
    consent_id: str
    service: str
    priority: str
    status: str
    due_by: datetime | None
    pathway_step: str | None
    created_at: datetime
    updated_at: datetime
    version: int


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One event in a referral's history, numbered from 1 by ``seq``."""

    referral_id: str
    seq: int
    event_id: str
    event_type: str
    status: str | None
    actor: str
    at: datetime
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """An event to append to a referral's timeline; the store numbers it."""

    referral_id: str
    event_id: str
    event_type: str
    status: str | None
    actor: str
    at: datetime
    detail: Mapping[str, Any]


def _referral(m: RowMapping) -> ReferralRow:
    return ReferralRow(
        referral_id=m["referral_id"],
        from_agency=m["from_agency"],
        to_agency=m["to_agency"],
        subject_id=m["subject_id"],
        consent_id=m["consent_id"],
        service=m["service"],
        priority=m["priority"],
        status=m["status"],
        due_by=m["due_by"],
        pathway_step=m["pathway_step"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        version=int(m["version"]),
    )


def _entry(m: RowMapping) -> TimelineRow:
    return TimelineRow(
        referral_id=m["referral_id"],
        seq=int(m["seq"]),
        event_id=m["event_id"],
        event_type=m["event_type"],
        status=m["status"],
        actor=m["actor"],
        at=m["at"],
        detail=m["detail"],
    )


def _missing(referral_id: str) -> StoreError:
    # Retriable: on an event stream the referral's creation may simply not
    # have been processed yet.
    return StoreError(f"referral {referral_id!r} does not exist")


@translating
def get_referral(conn: Connection, referral_id: str) -> ReferralRow | None:
    m = (
        conn.execute(select(referrals).where(referrals.c.referral_id == referral_id))
        .mappings()
        .first()
    )
    return _referral(m) if m is not None else None


@translating
def get_referrals(conn: Connection, referral_ids: Sequence[str]) -> dict[str, ReferralRow]:
    """The referrals among ``referral_ids`` that exist, by id: one query per few hundred."""
    found: dict[str, ReferralRow] = {}
    for chunk in chunked(sorted(set(referral_ids))):
        result = conn.execute(select(referrals).where(referrals.c.referral_id.in_(chunk)))
        for m in result.mappings():
            found[m["referral_id"]] = _referral(m)
    return found


@translating
def insert_referrals(conn: Connection, rows: Sequence[ReferralRow]) -> set[str]:
    """Insert new referrals; the ids inserted, leaving out any that already existed."""
    inserted = insert_many_or_ignore(
        conn,
        referrals,
        [
            {
                "referral_id": row.referral_id,
                "from_agency": row.from_agency,
                "to_agency": row.to_agency,
                "subject_id": row.subject_id,
                "consent_id": row.consent_id,
                "service": row.service,
                "priority": row.priority,
                "status": row.status,
                "due_by": row.due_by,
                "pathway_step": row.pathway_step,
                "created_at": row.created_at,
                "updated_at": row.updated_at,
                "version": row.version,
            }
            for row in rows
        ],
        conflict_on=["referral_id"],
        returning="referral_id",
    )
    return {str(referral_id) for referral_id in inserted}


@translating
def update_status(conn: Connection, referral_id: str, status: str, at: datetime) -> None:
    """Set the status, stamp ``updated_at`` and bump ``version``.

    Raises ``StoreError`` if the referral does not exist. Whether the
    transition is legal is the caller's business, not the store's.
    """
    result = conn.execute(
        update(referrals)
        .where(referrals.c.referral_id == referral_id)
        .values(status=status, updated_at=at, version=referrals.c.version + 1)
    )
    if result.rowcount == 0:
        raise _missing(referral_id)


_INSERT_TIMELINE = referral_timeline.insert()


@translating
def append_timelines(conn: Connection, entries: Sequence[TimelineEntry]) -> list[bool]:
    """Append events to their referrals' timelines, in order; per entry, whether it was new.

    An entry whose event (its actor, the event's source, and id) is already on
    its referral's timeline, or earlier in ``entries``, changes nothing. Raises
    ``StoreError``, and appends nothing, if a referral does not exist.
    """
    if not entries:
        return []
    referral_ids = sorted({entry.referral_id for entry in entries})
    _lock_referrals(conn, referral_ids)
    seen = _events_on_timelines(conn, [(e.referral_id, e.actor, e.event_id) for e in entries])
    last_seq = _last_seqs(conn, referral_ids)
    rows: list[dict[str, Any]] = []
    appended: list[bool] = []
    for entry in entries:
        key = (entry.referral_id, entry.actor, entry.event_id)
        if key in seen:
            appended.append(False)
            continue
        seen.add(key)
        last_seq[entry.referral_id] = seq = last_seq.get(entry.referral_id, 0) + 1
        rows.append(
            {
                "referral_id": entry.referral_id,
                "seq": seq,
                "event_id": entry.event_id,
                "event_type": entry.event_type,
                "status": entry.status,
                "actor": entry.actor,
                "at": entry.at,
                "detail": dict(entry.detail),
            }
        )
        appended.append(True)
    if rows:
        conn.execute(_INSERT_TIMELINE, rows)
    return appended


def _lock_referrals(conn: Connection, referral_ids: Sequence[str]) -> None:
    # Locking the referral rows, in one sorted order, serialises appenders on
    # PostgreSQL so two of them cannot compute the same next seq, and cannot
    # deadlock on each other.
    found: set[str] = set()
    for chunk in chunked(referral_ids):
        result = conn.execute(
            select(referrals.c.referral_id)
            .where(referrals.c.referral_id.in_(chunk))
            .order_by(referrals.c.referral_id)
            .with_for_update()
        )
        found.update(result.scalars())
    for referral_id in referral_ids:
        if referral_id not in found:
            raise _missing(referral_id)


def _events_on_timelines(
    conn: Connection, keys: Sequence[tuple[str, str, str]]
) -> set[tuple[str, str, str]]:
    wanted = set(keys)
    found: set[tuple[str, str, str]] = set()
    timeline = referral_timeline.c
    for chunk in chunked(sorted(wanted)):
        pairs = [(referral_id, event_id) for referral_id, _, event_id in chunk]
        result = conn.execute(
            select(timeline.referral_id, timeline.actor, timeline.event_id).where(
                pairs_among(timeline.referral_id, timeline.event_id, pairs)
            )
        )
        found.update(
            key for key in ((str(r), str(a), str(e)) for r, a, e in result) if key in wanted
        )
    return found


def _last_seqs(conn: Connection, referral_ids: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunked(referral_ids):
        result = conn.execute(
            select(referral_timeline.c.referral_id, func.max(referral_timeline.c.seq))
            .where(referral_timeline.c.referral_id.in_(chunk))
            .group_by(referral_timeline.c.referral_id)
        )
        found.update((str(r), int(seq)) for r, seq in result)
    return found


@translating
def timeline(conn: Connection, referral_id: str) -> list[TimelineRow]:
    """The referral's events in the order they were appended."""
    result = conn.execute(
        select(referral_timeline)
        .where(referral_timeline.c.referral_id == referral_id)
        .order_by(referral_timeline.c.seq)
    ).mappings()
    return [_entry(m) for m in result]


@translating
def referrals_for_agency(conn: Connection, agency_id: str, limit: int = 100) -> list[ReferralRow]:
    """Referrals the agency sent or received, most recently updated first."""
    result = conn.execute(
        select(referrals)
        .where(or_(referrals.c.from_agency == agency_id, referrals.c.to_agency == agency_id))
        .order_by(referrals.c.updated_at.desc(), referrals.c.referral_id)
        .limit(limit)
    ).mappings()
    return [_referral(m) for m in result]


@translating
def count_overdue(conn: Connection, now: datetime, open_statuses: Sequence[str]) -> int:
    """Referrals still open past their due-by time: the ones that have stalled."""
    found = conn.execute(
        select(func.count())
        .select_from(referrals)
        .where(
            referrals.c.due_by.is_not(None),
            referrals.c.due_by < now,
            referrals.c.status.in_(list(open_statuses)),
        )
    ).scalar_one()
    return int(found)
