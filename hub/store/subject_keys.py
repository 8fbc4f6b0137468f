"""Per-subject encryption keys, destroyed to make a subject's data unreadable.

Destroying a key leaves a tombstone (``key`` NULL, ``destroyed_at`` set) so a
key is never issued again for an erased subject.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, select, update

from hub.store._errors import translating
from hub.store._sql import chunked, insert_many_or_ignore, insert_or_ignore
from hub.store.schema import subject_keys

__all__ = ["destroy_key", "get_key", "get_keys", "get_or_create_keys"]


@translating
def get_key(conn: Connection, subject_id: str) -> bytes | None:
    """The subject's key; None if it has none or it was destroyed."""
    value = conn.execute(
        select(subject_keys.c.key).where(subject_keys.c.subject_id == subject_id)
    ).scalar_one_or_none()
    return bytes(value) if value is not None else None


@translating
def get_keys(conn: Connection, subject_ids: Sequence[str]) -> dict[str, bytes | None]:
    """Each subject's key: None for a destroyed one; absent when she has none yet."""
    found: dict[str, bytes | None] = {}
    for chunk in chunked(sorted(set(subject_ids))):
        result = conn.execute(
            select(subject_keys.c.subject_id, subject_keys.c.key).where(
                subject_keys.c.subject_id.in_(chunk)
            )
        )
        found.update(
            (str(subject_id), bytes(key) if key is not None else None) for subject_id, key in result
        )
    return found


@translating
def get_or_create_keys(
    conn: Connection, new_keys: Mapping[str, bytes], at: datetime
) -> dict[str, bytes | None]:
    """Each subject's key, keyed by subject id: the stored one, else the new one offered
    (now stored); None for an erased subject, who never gets a key again."""
    insert_many_or_ignore(
        conn,
        subject_keys,
        [
            {"subject_id": subject_id, "key": key, "created_at": at}
            for subject_id, key in sorted(new_keys.items())
        ],
        conflict_on=["subject_id"],
        returning="subject_id",
    )
    found = get_keys(conn, list(new_keys))
    return {subject_id: found.get(subject_id) for subject_id in new_keys}


def _destroy_live(conn: Connection, subject_id: str, at: datetime) -> bool:
    result = conn.execute(
        update(subject_keys)
        .where(subject_keys.c.subject_id == subject_id, subject_keys.c.destroyed_at.is_(None))
        .values(key=None, destroyed_at=at)
    )
    return result.rowcount == 1


@translating
def destroy_key(conn: Connection, subject_id: str, at: datetime) -> bool:
    """Destroy the subject's key; True if a live key was destroyed by this call.

    A subject without a key gets a tombstone anyway, so erasure holds for data
    that arrives later.
    """
    if _destroy_live(conn, subject_id, at):
        return True
    if insert_or_ignore(
        conn,
        subject_keys,
        {"subject_id": subject_id, "key": None, "created_at": at, "destroyed_at": at},
        conflict_on=["subject_id"],
    ):
        return False
    # The row exists: already a tombstone, or a key a concurrent transaction
    # created after the first update looked.
    return _destroy_live(conn, subject_id, at)
