"""How far each audit chain has been published to the ``hub.audit`` topic.

A durable watermark per chain: after a restart the stream resumes where it
stopped, and an entry published twice (a crash between publishing and moving
the watermark) is recognised downstream by its ``entry_id``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import Connection, Integer, func, literal_column, select

from hub.store._errors import translating
from hub.store._sql import chunked, upsert_many
from hub.store.audit import _ENTRY_COLUMNS, AuditEntryRow, _entry_of
from hub.store.schema import audit_entries, audit_stream_heads

__all__ = ["advance", "unpublished"]


@translating
def unpublished(conn: Connection, limit: int, *, after: int = 0) -> tuple[list[AuditEntryRow], int]:
    """Entries past their chain's watermark, each chain's in order, and where to look next.

    Pass the position returned back as ``after`` to skip what has been read:
    on SQLite, where one writer at a time gives rows increasing rowids in
    commit order, the next call then reads only rows appended since. On
    PostgreSQL the position stays 0 and every call compares every chain with
    its watermark.
    """
    head = audit_stream_heads.c
    query = (
        select(*_ENTRY_COLUMNS)
        .outerjoin(audit_stream_heads, head.chain_id == audit_entries.c.chain_id)
        .where(audit_entries.c.seq > func.coalesce(head.seq, 0))
        .limit(limit)
    )
    if conn.dialect.name != "sqlite":
        query = query.order_by(audit_entries.c.chain_id, audit_entries.c.seq)
        return [_entry_of(row) for row in conn.execute(query)], 0
    rowid = literal_column("audit_entries.rowid", Integer)
    result = conn.execute(query.add_columns(rowid).where(rowid > after).order_by(rowid))
    rows = list(result)
    position = int(rows[-1][-1]) if rows else after
    return [_entry_of(row[:-1]) for row in rows], position


@translating
def advance(conn: Connection, heads: Mapping[str, int], at: datetime) -> None:
    """Move each chain's watermark forward to ``heads[chain]``; never backwards."""
    current: dict[str, int] = {}
    for chunk in chunked(sorted(heads)):
        result = conn.execute(
            select(audit_stream_heads.c.chain_id, audit_stream_heads.c.seq).where(
                audit_stream_heads.c.chain_id.in_(chunk)
            )
        )
        current.update((str(chain_id), int(seq)) for chain_id, seq in result)
    rows = [
        {"chain_id": chain_id, "seq": seq, "published_at": at}
        for chain_id, seq in sorted(heads.items())
        if current.get(chain_id, 0) < seq
    ]
    upsert_many(
        conn, audit_stream_heads, rows, conflict_on=["chain_id"], update=["seq", "published_at"]
    )
