"""Which subject each referral is about, and its parties, known from the moment it is accepted.

Later events of a referral (status changes, outcomes) do not carry the subject
id; their stored payloads are still encrypted under her key, found here. Nor do
they say who the referrer and the receiving agency are, which intake needs to
decide whether their sender may send them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from hub.store._errors import translating
from hub.store._sql import chunked, insert_many_or_ignore
from hub.store.schema import referral_subjects

__all__ = ["Parties", "link_many", "parties_of", "subject_of", "subjects_of"]


@dataclass(frozen=True, slots=True)
class Parties:
    """The agency that made a referral and the agency asked to act on it."""

    referrer: str
    receiver: str


@translating
def link_many(
    conn: Connection,
    links: Sequence[tuple[str, str]],
    at: datetime,
    parties: Mapping[str, Parties] | None = None,
) -> set[str]:
    """Record ``(referral id, subject id)`` pairs, and each referral's ``parties`` if given.

    Returns the referral ids not known before.
    """
    known = parties or {}
    linked = insert_many_or_ignore(
        conn,
        referral_subjects,
        [
            {
                "referral_id": referral_id,
                "subject_id": subject_id,
                "created_at": at,
                "from_agency": known[referral_id].referrer if referral_id in known else None,
                "to_agency": known[referral_id].receiver if referral_id in known else None,
            }
            for referral_id, subject_id in links
        ],
        conflict_on=["referral_id"],
        returning="referral_id",
    )
    return {str(referral_id) for referral_id in linked}


@translating
def subject_of(conn: Connection, referral_id: str) -> str | None:
    found = conn.execute(
        select(referral_subjects.c.subject_id).where(referral_subjects.c.referral_id == referral_id)
    ).scalar_one_or_none()
    return str(found) if found is not None else None


@translating
def subjects_of(conn: Connection, referral_ids: Sequence[str]) -> dict[str, str]:
    """The subject of each referral among ``referral_ids`` that has one known."""
    found: dict[str, str] = {}
    for chunk in chunked(sorted(set(referral_ids))):
        result = conn.execute(
            select(referral_subjects.c.referral_id, referral_subjects.c.subject_id).where(
                referral_subjects.c.referral_id.in_(chunk)
            )
        )
        found.update((str(referral_id), str(subject_id)) for referral_id, subject_id in result)
    return found


@translating
def parties_of(conn: Connection, referral_ids: Sequence[str]) -> dict[str, Parties | None]:
    """Each known referral among ``referral_ids`` with its parties, None where not recorded."""
    found: dict[str, Parties | None] = {}
    columns = referral_subjects.c
    for chunk in chunked(sorted(set(referral_ids))):
        result = conn.execute(
            select(columns.referral_id, columns.from_agency, columns.to_agency).where(
                columns.referral_id.in_(chunk)
            )
        )
        for referral_id, referrer, receiver in result:
            found[str(referral_id)] = (
                Parties(str(referrer), str(receiver))
                if referrer is not None and receiver is not None
                else None
            )
    return found
