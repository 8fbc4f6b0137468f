"""Referrals between agencies and the timeline of events on each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, or_, select, update

from hub.errors import StoreError
from hub.store._errors import translating
from hub.store._sql import insert_or_ignore
from hub.store.schema import referral_timeline, referrals

__all__ = [
    "ReferralRow",
    "TimelineRow",
    "append_timeline",
    "count_overdue",
    "get_referral",
    "insert_referral",
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
def insert_referral(conn: Connection, row: ReferralRow) -> bool:
    """Insert a new referral; False, and no change, if its id already exists."""
    return insert_or_ignore(
        conn,
        referrals,
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
        },
        conflict_on=["referral_id"],
    )


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
def append_timeline(
    conn: Connection,
    referral_id: str,
    *,
    event_id: str,
    event_type: str,
    status: str | None,
    actor: str,
    at: datetime,
    detail: dict[str, Any],
) -> bool:
    """Append an event to the referral's timeline.

    Returns False, and changes nothing, if ``event_id`` is already on it.
    Raises ``StoreError`` if the referral does not exist.
    """
    # Locking the referral row serialises appenders on PostgreSQL so two of
    # them cannot compute the same next seq.
    exists = conn.execute(
        select(referrals.c.referral_id)
        .where(referrals.c.referral_id == referral_id)
        .with_for_update()
    ).first()
    if exists is None:
        raise _missing(referral_id)
    seen = conn.execute(
        select(referral_timeline.c.seq).where(
            referral_timeline.c.referral_id == referral_id,
            referral_timeline.c.event_id == event_id,
        )
    ).first()
    if seen is not None:
        return False
    next_seq = conn.execute(
        select(func.coalesce(func.max(referral_timeline.c.seq), 0) + 1).where(
            referral_timeline.c.referral_id == referral_id
        )
    ).scalar_one()
    conn.execute(
        _INSERT_TIMELINE,
        {
            "referral_id": referral_id,
            "seq": next_seq,
            "event_id": event_id,
            "event_type": event_type,
            "status": status,
            "actor": actor,
            "at": at,
            "detail": detail,
        },
    )
    return True


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
