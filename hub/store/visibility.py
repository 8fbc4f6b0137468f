"""What an agency may read of a referral or a consent: what it sent, and what reached it.

Every read path (``/v1/referrals``, FHIR Task search and updates, ``/v1/consents``)
asks here, so they agree. "Reached it" is the disclosure record: the router writes a
row for each copy it routes to a recipient, in the same transaction as its decision,
and none for a copy consent blocked. A recipient to whom nothing of a referral was
delivered therefore sees nothing of it, not even that it exists.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, and_, exists, or_, select

from hub.store._errors import translating
from hub.store.consents import ConsentRow, get_consent
from hub.store.referrals import ReferralRow, TimelineRow, get_referral, get_referrals, timeline
from hub.store.schema import disclosures, referrals

__all__ = ["consent_seen_by", "referral_seen_by", "referrals_seen_by", "timeline_seen_by"]


def _delivered(agency_id: str, *where: ColumnElement[bool]) -> ColumnElement[bool]:
    """Some copy matching ``where`` was routed to the agency."""
    return exists().where(disclosures.c.recipient == agency_id, *where)


def _visible(agency_id: str) -> ColumnElement[bool]:
    # Its parties only: the referrer always, the recipient once a copy reached it.
    return or_(
        referrals.c.from_agency == agency_id,
        and_(
            referrals.c.to_agency == agency_id,
            _delivered(agency_id, disclosures.c.referral_id == referrals.c.referral_id),
        ),
    )


@translating
def referral_seen_by(conn: Connection, referral_id: str, agency_id: str) -> ReferralRow | None:
    """The referral, if the agency made it or was delivered some of it; else None."""
    visible = conn.execute(
        select(referrals.c.referral_id).where(
            referrals.c.referral_id == referral_id, _visible(agency_id)
        )
    ).first()
    return get_referral(conn, referral_id) if visible is not None else None


@translating
def referrals_seen_by(conn: Connection, agency_id: str, limit: int = 100) -> list[ReferralRow]:
    """The referrals the agency may see, most recently updated first."""
    ids = list(
        conn.execute(
            select(referrals.c.referral_id)
            .where(_visible(agency_id))
            .order_by(referrals.c.updated_at.desc(), referrals.c.referral_id)
            .limit(limit)
        ).scalars()
    )
    found = get_referrals(conn, ids)
    return [found[referral_id] for referral_id in ids if referral_id in found]


@translating
def timeline_seen_by(conn: Connection, referral_id: str, agency_id: str) -> list[TimelineRow]:
    """The referral's events the agency sent or was delivered, in order."""
    if referral_seen_by(conn, referral_id, agency_id) is None:
        return []
    delivered = set(
        conn.execute(
            select(disclosures.c.event_id).where(
                disclosures.c.referral_id == referral_id, disclosures.c.recipient == agency_id
            )
        ).scalars()
    )
    return [
        entry
        for entry in timeline(conn, referral_id)
        if entry.actor == agency_id or entry.event_id in delivered
    ]


@translating
def consent_seen_by(conn: Connection, consent_id: str, agency_id: str) -> ConsentRow | None:
    """The consent, if the agency recorded it or received data under it; else None.

    Being named in its scope is not enough: an agency the hub never delivered
    anything to under her consent learns nothing of it.
    """
    row = get_consent(conn, consent_id)
    if row is None or row.recorded_by == agency_id:
        return row
    received = conn.execute(
        select(_delivered(agency_id, disclosures.c.consent_id == consent_id))
    ).scalar()
    return row if received else None
