"""Which data categories went to which agency, for which event and under which consent.

This is the disclosure record a consent's subject is entitled to see, and it is
how the hub knows whom to tell when a consent is withdrawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, RowMapping, select

from hub.store._errors import translating
from hub.store._sql import insert_many_or_ignore
from hub.store.schema import disclosures

__all__ = ["DisclosureRow", "for_referral", "recipients_under", "record_many"]


@dataclass(frozen=True, slots=True)
class DisclosureRow:
    """One copy of an event sent to one recipient.

    ``disclosed`` and ``withheld`` list data categories; ``consent_id`` is None
    for copies that carried no consent-governed data. The event is
    ``(source, event_id)``: ids are unique per source only.
    """

    event_id: str
    recipient: str
    referral_id: str
    consent_id: str | None
    disclosed: list[str]
    withheld: list[str]
    at: datetime
    source: str


def _row(m: RowMapping) -> DisclosureRow:
    return DisclosureRow(
        event_id=m["event_id"],
        recipient=m["recipient"],
        referral_id=m["referral_id"],
        consent_id=m["consent_id"],
        disclosed=m["disclosed"],
        withheld=m["withheld"],
        at=m["at"],
        source=m["source"],
    )


@translating
def record_many(conn: Connection, rows: Sequence[DisclosureRow]) -> int:
    """Record disclosures; how many were new (a copy already recorded is left as it was)."""
    inserted = insert_many_or_ignore(
        conn,
        disclosures,
        [
            {
                "source": row.source,
                "event_id": row.event_id,
                "recipient": row.recipient,
                "referral_id": row.referral_id,
                "consent_id": row.consent_id,
                "disclosed": list(row.disclosed),
                "withheld": list(row.withheld),
                "at": row.at,
            }
            for row in rows
        ],
        conflict_on=["source", "event_id", "recipient"],
        returning="event_id",
    )
    return len(inserted)


@translating
def recipients_under(conn: Connection, consent_id: str) -> set[str]:
    """Every agency that has received data under the consent."""
    result = conn.execute(
        select(disclosures.c.recipient).where(disclosures.c.consent_id == consent_id).distinct()
    )
    return {str(recipient) for recipient in result.scalars()}


@translating
def for_referral(conn: Connection, referral_id: str) -> list[DisclosureRow]:
    """The referral's disclosures in the order they were made."""
    result = conn.execute(
        select(disclosures)
        .where(disclosures.c.referral_id == referral_id)
        .order_by(disclosures.c.at, disclosures.c.event_id, disclosures.c.recipient)
    ).mappings()
    return [_row(m) for m in result]
