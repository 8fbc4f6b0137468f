"""What is kept to count referrals whose consent allows statistics, and reading it back.

Only codes and times: the incident's classification in clear (the sealed
outbox cannot be counted from), the referral's own routing fields, the times
its status changed and the outcomes reported. Rows exist only for referrals
whose consent names the ``statistics`` purpose, and go when it is withdrawn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, RowMapping, Select, delete, select

from hub.contracts.status import ReferralStatus
from hub.stats.facts import UNKNOWN, ReferralFacts
from hub.store._errors import translating
from hub.store._sql import chunked, insert_many_or_ignore
from hub.store.schema import (
    agencies,
    referral_timeline,
    referrals,
    statistics_outcomes,
    statistics_referrals,
)

__all__ = [
    "CountedOutcome",
    "CountedReferral",
    "facts_between",
    "forget_consent",
    "forget_subject",
    "record_outcomes",
    "record_referrals",
]


@dataclass(frozen=True, slots=True)
class CountedReferral:
    referral_id: str
    counted_at: datetime
    violence: str | None
    online: bool | None
    age_band: str | None
    first_contact: str | None


@dataclass(frozen=True, slots=True)
class CountedOutcome:
    source: str
    event_id: str
    referral_id: str
    outcome: str
    at: datetime


@translating
def record_referrals(conn: Connection, rows: Sequence[CountedReferral]) -> None:
    insert_many_or_ignore(
        conn,
        statistics_referrals,
        [
            {
                "referral_id": row.referral_id,
                "counted_at": row.counted_at,
                "violence": row.violence,
                "online": row.online,
                "age_band": row.age_band,
                "first_contact": row.first_contact,
            }
            for row in rows
        ],
        conflict_on=["referral_id"],
        returning="referral_id",
    )


@translating
def record_outcomes(conn: Connection, rows: Sequence[CountedOutcome]) -> None:
    insert_many_or_ignore(
        conn,
        statistics_outcomes,
        [
            {
                "source": row.source,
                "event_id": row.event_id,
                "referral_id": row.referral_id,
                "outcome": row.outcome,
                "at": row.at,
            }
            for row in rows
        ],
        conflict_on=["source", "event_id"],
        returning="event_id",
    )


@translating
def forget_consent(conn: Connection, consent_id: str) -> None:
    """She withdrew the consent: her referrals under it are counted no more."""
    _forget(conn, select(referrals.c.referral_id).where(referrals.c.consent_id == consent_id))


def _forget(conn: Connection, under: Select[tuple[str]]) -> None:
    conn.execute(delete(statistics_outcomes).where(statistics_outcomes.c.referral_id.in_(under)))
    conn.execute(delete(statistics_referrals).where(statistics_referrals.c.referral_id.in_(under)))


@translating
def forget_subject(conn: Connection, subject_id: str) -> None:
    """She was erased: none of her referrals is counted, nor its codes kept."""
    _forget(conn, select(referrals.c.referral_id).where(referrals.c.subject_id == subject_id))


@translating
def facts_between(
    conn: Connection,
    start: datetime,
    end: datetime,
    pathway_of_step: Mapping[str, str],
) -> list[ReferralFacts]:
    """The facts of every counted referral requested in ``[start, end)``."""
    counted = (
        conn.execute(
            select(
                statistics_referrals,
                referrals.c.service,
                referrals.c.pathway_step,
                referrals.c.due_by,
                referrals.c.created_at,
                agencies.c.region,
            )
            .join(referrals, referrals.c.referral_id == statistics_referrals.c.referral_id)
            .outerjoin(agencies, agencies.c.agency_id == referrals.c.from_agency)
            .where(
                statistics_referrals.c.counted_at >= start, statistics_referrals.c.counted_at < end
            )
        )
        .mappings()
        .all()
    )
    ids = [m["referral_id"] for m in counted]
    reached: dict[tuple[str, str], datetime] = {}
    outcomes: dict[str, list[str]] = {}
    wanted = (ReferralStatus.ACCEPTED.value, ReferralStatus.COMPLETED.value)
    for chunk in chunked(ids):
        for m in conn.execute(
            select(
                referral_timeline.c.referral_id, referral_timeline.c.status, referral_timeline.c.at
            ).where(
                referral_timeline.c.referral_id.in_(chunk), referral_timeline.c.status.in_(wanted)
            )
        ).mappings():
            key = (m["referral_id"], m["status"])
            reached[key] = min(reached.get(key, m["at"]), m["at"])
        for m in conn.execute(
            select(statistics_outcomes.c.referral_id, statistics_outcomes.c.outcome)
            .where(statistics_outcomes.c.referral_id.in_(chunk))
            .order_by(statistics_outcomes.c.at)
        ).mappings():
            outcomes.setdefault(m["referral_id"], []).append(m["outcome"])
    return [_facts(m, reached, outcomes, pathway_of_step) for m in counted]


def _facts(
    m: RowMapping,
    reached: Mapping[tuple[str, str], datetime],
    outcomes: Mapping[str, list[str]],
    pathway_of_step: Mapping[str, str],
) -> ReferralFacts:
    referral_id = str(m["referral_id"])
    step = str(m["pathway_step"]) if m["pathway_step"] is not None else UNKNOWN
    violence = str(m["violence"]) if m["violence"] is not None else UNKNOWN
    if violence != UNKNOWN and m["online"]:
        violence += "/online"
    due_by, created_at = m["due_by"], m["created_at"]
    assert isinstance(created_at, datetime)
    return ReferralFacts(
        region=str(m["region"]) if m["region"] is not None else UNKNOWN,
        pathway=pathway_of_step.get(step, UNKNOWN),
        step=step,
        service=str(m["service"]),
        violence=violence,
        age_band=str(m["age_band"]) if m["age_band"] is not None else UNKNOWN,
        requested_at=created_at,
        accepted_at=reached.get((referral_id, ReferralStatus.ACCEPTED.value)),
        completed_at=reached.get((referral_id, ReferralStatus.COMPLETED.value)),
        due_by=due_by if isinstance(due_by, datetime) else None,
        outcomes=tuple(outcomes.get(referral_id, ())),
    )
