"""Which subject each referral is about, known from the moment it is accepted.

Later events of a referral (status changes, outcomes) do not carry the subject
id; their stored payloads are still encrypted under her key, found here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from hub.store._errors import translating
from hub.store._sql import chunked, insert_many_or_ignore
from hub.store.schema import referral_subjects

__all__ = ["link_many", "subject_of", "subjects_of"]


@translating
def link_many(conn: Connection, links: Sequence[tuple[str, str]], at: datetime) -> set[str]:
    """Record ``(referral id, subject id)`` pairs; the referral ids not known before."""
    linked = insert_many_or_ignore(
        conn,
        referral_subjects,
        [
            {"referral_id": referral_id, "subject_id": subject_id, "created_at": at}
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
