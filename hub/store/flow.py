"""What the operations metrics are computed from: referrals' timings and each backlog.

Read on the metrics timer (``hub.runtime.gauges``), never per scrape. Rows carry
no subject data: a referral is reduced to its step, agencies, status and times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from hub.store._errors import translating
from hub.store.schema import consent_history, dead_letters, inbox, outbox, referral_timeline
from hub.store.schema import referrals as referrals_table

__all__ = [
    "AgencyBacklog",
    "ReferralTimes",
    "agency_backlogs",
    "consent_withdrawals",
    "dead_letters_by_agency",
    "oldest_pending_outbox",
    "referral_times",
]


@dataclass(frozen=True, slots=True)
class ReferralTimes:
    """One referral's step, agencies, status and when it reached each status.

    The id, referrer and consent are for addressing overdue notices, never labels.
    """

    referral_id: str
    from_agency: str
    consent_id: str
    pathway_step: str | None
    to_agency: str
    status: str
    created_at: datetime
    due_by: datetime | None
    reached: dict[str, datetime]


@dataclass(frozen=True, slots=True)
class AgencyBacklog:
    agency_id: str
    unacked: int
    oldest_delivered_at: datetime | None


@translating
def referral_times(conn: Connection) -> list[ReferralTimes]:
    """Every referral with the first time it reached each status on its timeline."""
    r, t = referrals_table, referral_timeline
    found: dict[str, ReferralTimes] = {}
    for row in conn.execute(
        select(r.c.referral_id, r.c.pathway_step, r.c.to_agency, r.c.status, r.c.created_at)
        .add_columns(r.c.due_by, r.c.from_agency, r.c.consent_id)
        .order_by(r.c.referral_id)
    ).mappings():
        found[row["referral_id"]] = ReferralTimes(
            referral_id=row["referral_id"],
            from_agency=row["from_agency"],
            consent_id=row["consent_id"],
            pathway_step=row["pathway_step"],
            to_agency=row["to_agency"],
            status=row["status"],
            created_at=row["created_at"],
            due_by=row["due_by"],
            reached={},
        )
    for row in conn.execute(
        select(t.c.referral_id, t.c.status, func.min(t.c.at).label("at"))
        .where(t.c.status.is_not(None))
        .group_by(t.c.referral_id, t.c.status)
    ).mappings():
        times = found.get(row["referral_id"])
        if times is not None:
            times.reached[row["status"]] = row["at"]
    return list(found.values())


@translating
def agency_backlogs(conn: Connection) -> list[AgencyBacklog]:
    """Each agency's unacknowledged pull-inbox events and when the oldest was delivered."""
    rows = conn.execute(
        select(inbox.c.agency_id, func.count(), func.min(inbox.c.delivered_at))
        .where(inbox.c.acked_at.is_(None))
        .group_by(inbox.c.agency_id)
    ).all()
    return [AgencyBacklog(str(a), int(n), oldest) for a, n, oldest in rows]


@translating
def dead_letters_by_agency(conn: Connection) -> dict[str, int]:
    """Dead letters not yet replayed, by agency ("" for ingress records of no agency)."""
    rows = conn.execute(
        select(dead_letters.c.agency_id, func.count())
        .where(dead_letters.c.replayed_at.is_(None))
        .group_by(dead_letters.c.agency_id)
    ).all()
    return {str(agency or ""): int(n) for agency, n in rows}


@translating
def oldest_pending_outbox(conn: Connection) -> datetime | None:
    found: datetime | None = conn.execute(
        select(func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None))
    ).scalar_one()
    return found


@translating
def consent_withdrawals(conn: Connection, statuses: Sequence[str] = ("withdrawn",)) -> int:
    count = conn.execute(
        select(func.count())
        .select_from(consent_history)
        .where(consent_history.c.status.in_(list(statuses)))
    ).scalar_one()
    return int(count)
