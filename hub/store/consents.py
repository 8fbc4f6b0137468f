"""Consents: the current state of each consent and every version it has had.

The history is what lets the hub answer "was this referral covered by consent
when it was made?" after the consent has since been withdrawn or changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select

from hub.store._errors import translating
from hub.store._sql import chunked, upsert
from hub.store.schema import consent_history as _history
from hub.store.schema import consents

__all__ = [
    "CONSENT_STATUSES",
    "ConsentHistoryRow",
    "ConsentRow",
    "consent_as_of",
    "consent_history",
    "get_consent",
    "record_consent",
    "serialise_disclosures",
    "versions",
]

CONSENT_STATUSES = frozenset({"active", "withdrawn", "expired"})


@dataclass(frozen=True, slots=True)
class ConsentRow:
    """The current state of a consent.

    ``scope`` is a list of scope entries (dicts). ``updated_at`` and
    ``last_event_id`` describe the event that produced this state.
    """

    consent_id: str
    subject_id: str
    recorded_by: str
    granted_by: str
    status: str
    scope: list[dict[str, Any]]
    valid_from: datetime
    valid_until: datetime | None
    updated_at: datetime
    last_event_id: str


@dataclass(frozen=True, slots=True)
class ConsentHistoryRow:
    """One version of a consent, numbered from 1 by ``seq``."""

    consent_id: str
    seq: int
    event_id: str
    status: str
    scope: list[dict[str, Any]]
    valid_from: datetime
    valid_until: datetime | None
    changed_at: datetime


def _consent(m: RowMapping) -> ConsentRow:
    return ConsentRow(
        consent_id=m["consent_id"],
        subject_id=m["subject_id"],
        recorded_by=m["recorded_by"],
        granted_by=m["granted_by"],
        status=m["status"],
        scope=m["scope"],
        valid_from=m["valid_from"],
        valid_until=m["valid_until"],
        updated_at=m["updated_at"],
        last_event_id=m["last_event_id"],
    )


def _version(m: RowMapping) -> ConsentHistoryRow:
    return ConsentHistoryRow(
        consent_id=m["consent_id"],
        seq=int(m["seq"]),
        event_id=m["event_id"],
        status=m["status"],
        scope=m["scope"],
        valid_from=m["valid_from"],
        valid_until=m["valid_until"],
        changed_at=m["changed_at"],
    )


@translating
def record_consent(conn: Connection, row: ConsentRow, *, event_id: str, at: datetime) -> bool:
    """Make ``row`` the current state of its consent and append it to the history.

    The stored ``updated_at`` and ``last_event_id`` are ``at`` and ``event_id``;
    the row's own values for those two fields are ignored. Returns False, and
    changes nothing, when ``event_id`` was already recorded for this consent.
    """
    if row.status not in CONSENT_STATUSES:
        raise ValueError(f"consent status {row.status!r} is not one of {sorted(CONSENT_STATUSES)}")
    # Lock the current row (PostgreSQL; SQLite transactions already hold the
    # write lock) so concurrent recorders of one consent take turns and cannot
    # both pick the same history seq.
    conn.execute(
        select(consents.c.consent_id)
        .where(consents.c.consent_id == row.consent_id)
        .with_for_update()
    )
    seen = conn.execute(
        select(_history.c.seq).where(
            _history.c.consent_id == row.consent_id,
            _history.c.event_id == event_id,
        )
    ).first()
    if seen is not None:
        return False
    upsert(
        conn,
        consents,
        {
            "consent_id": row.consent_id,
            "subject_id": row.subject_id,
            "recorded_by": row.recorded_by,
            "granted_by": row.granted_by,
            "status": row.status,
            "scope": row.scope,
            "valid_from": row.valid_from,
            "valid_until": row.valid_until,
            "updated_at": at,
            "last_event_id": event_id,
        },
        conflict_on=["consent_id"],
        update=[
            "subject_id",
            "recorded_by",
            "granted_by",
            "status",
            "scope",
            "valid_from",
            "valid_until",
            "updated_at",
            "last_event_id",
        ],
    )
    next_seq = conn.execute(
        select(func.coalesce(func.max(_history.c.seq), 0) + 1).where(
            _history.c.consent_id == row.consent_id
        )
    ).scalar_one()
    conn.execute(
        _history.insert().values(
            consent_id=row.consent_id,
            seq=next_seq,
            event_id=event_id,
            status=row.status,
            scope=row.scope,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            changed_at=at,
        )
    )
    return True


#: What a consent's state is known by: a change to the row changes it.
ConsentVersion = tuple[str, str, datetime]

#: The first key of the two-key PostgreSQL advisory locks taken per consent.
_LOCK_NAMESPACE = 0x6875_6263  # "hubc"


@translating
def serialise_disclosures(
    conn: Connection, *, disclosing: Iterable[str], withdrawing: Iterable[str]
) -> None:
    """Order this transaction against others disclosing under, or withdrawing, the same consents.

    A withdrawal must reach every agency that received data under the consent,
    including data that another router is committing at the same moment. On
    PostgreSQL, a transaction that records disclosures holds a shared lock on
    each consent until it commits; one that reads the recipients for a
    withdrawal holds an exclusive one, so it reads only after every disclosure
    begun before it has committed. Locks are taken in one global order, so two
    transactions never wait on each other in a cycle. SQLite runs one writer at
    a time (and one process), which already orders them.
    """
    if conn.dialect.name != "postgresql":
        return
    exclusive = {_lock_key(consent_id) for consent_id in withdrawing}
    keys = {_lock_key(consent_id) for consent_id in disclosing} | exclusive
    for key in sorted(keys):
        lock = func.pg_advisory_xact_lock if key in exclusive else func.pg_advisory_xact_lock_shared
        conn.execute(select(lock(_LOCK_NAMESPACE, key)))


def _lock_key(consent_id: str) -> int:
    # A stable 32-bit key: PostgreSQL's own hashtext() is not guaranteed
    # stable across major versions, and Python's hash() differs per process.
    return int.from_bytes(hashlib.sha256(consent_id.encode()).digest()[:4], "big", signed=True)


@translating
def versions(conn: Connection, consent_ids: Collection[str]) -> dict[str, ConsentVersion]:
    """Each known consent's ``(status, last_event_id, updated_at)``; unknown ones are absent."""
    found: dict[str, ConsentVersion] = {}
    for chunk in chunked(sorted(set(consent_ids))):
        result = conn.execute(
            select(
                consents.c.consent_id,
                consents.c.status,
                consents.c.last_event_id,
                consents.c.updated_at,
            ).where(consents.c.consent_id.in_(chunk))
        )
        for consent_id, status, last_event_id, updated_at in result:
            found[str(consent_id)] = (str(status), str(last_event_id), updated_at)
    return found


@translating
def get_consent(conn: Connection, consent_id: str) -> ConsentRow | None:
    m = conn.execute(select(consents).where(consents.c.consent_id == consent_id)).mappings().first()
    return _consent(m) if m is not None else None


@translating
def consent_history(conn: Connection, consent_id: str) -> list[ConsentHistoryRow]:
    """Every recorded version of the consent, oldest first."""
    result = conn.execute(
        select(_history).where(_history.c.consent_id == consent_id).order_by(_history.c.seq)
    ).mappings()
    return [_version(m) for m in result]


@translating
def consent_as_of(conn: Connection, consent_id: str, at: datetime) -> ConsentHistoryRow | None:
    """The version in force at ``at``: the latest one changed at or before it.

    Versions are ordered by ``changed_at`` and then ``seq``, so an event that
    arrived late but describes an earlier change still lands in its place.
    None when the consent had not been recorded yet at ``at``.
    """
    m = (
        conn.execute(
            select(_history)
            .where(
                _history.c.consent_id == consent_id,
                _history.c.changed_at <= at,
            )
            .order_by(_history.c.changed_at.desc(), _history.c.seq.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return _version(m) if m is not None else None


@translating
def due_to_expire(conn: Connection, now: datetime, limit: int = 500) -> list[ConsentRow]:
    """Active consents whose ``valid_until`` has passed, earliest first."""
    result = conn.execute(
        select(consents)
        .where(
            consents.c.status == "active",
            consents.c.valid_until.is_not(None),
            consents.c.valid_until <= now,
        )
        .order_by(consents.c.valid_until)
        .limit(limit)
    ).mappings()
    return [_consent(m) for m in result]
