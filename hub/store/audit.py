"""Storage for the hash-chained audit log and its signed checkpoints.

Only storage lives here; computing and verifying hashes and signatures is the
audit module's job. The primary key ``(chain_id, seq)`` makes a fork
impossible: of two writers appending the same ``seq`` to a chain, the second
fails with ``StoreError`` and must re-read the head.

Reading the log whole (:func:`stream_chains`) is one ordered, streamed query:
memory holds one chain at a time, however long the log.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnClause,
    Connection,
    Integer,
    RowMapping,
    and_,
    func,
    literal_column,
    select,
)

from hub.store._errors import store_errors, translating
from hub.store._sql import chunked, pairs_among
from hub.store.schema import audit_checkpoints, audit_entries

__all__ = [
    "AuditCheckpointRow",
    "AuditEntryRow",
    "add_checkpoint",
    "all_chain_heads",
    "append_entries",
    "append_entry",
    "chain_head",
    "chain_heads",
    "checkpoints",
    "count_entries",
    "entries",
    "heads_appended_after",
    "latest_checkpoint",
    "latest_checkpoint_with_heads",
    "next_chain_id",
    "stream_chains",
]

#: ``(seq, hash)`` of a chain's last entry.
Head: TypeAlias = tuple[int, str]


@dataclass(slots=True)
class AuditEntryRow:
    """One entry of an audit chain; ``hash`` covers the entry and ``prev_hash``.

    Treat it as immutable (``dataclasses.replace`` makes a changed copy). It
    is not declared frozen because a verifier builds one for every entry of
    the log, and a frozen dataclass's ``__init__`` costs four times as much:
    it sets each field through ``object.__setattr__``.
    """

    chain_id: str
    seq: int
    entry_id: str
    at: datetime
    action: str
    actor: str
    event_id: str | None
    referral_id: str | None
    consent_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class AuditCheckpointRow:
    """A signed record of chain heads: ``heads[chain_id] == (seq, hash)``.

    The heads are those of the chains that advanced since the checkpoint
    before it (see :mod:`hub.audit.checkpoints`).
    """

    seq: int
    at: datetime
    heads: dict[str, tuple[int, str]]
    prev_hash: str
    signature: str
    key_id: str


# The columns in AuditEntryRow's field order, so a row converts positionally:
# a verifier converts every entry of the log, and by-name lookups cost more
# than the rest of the conversion.
_ENTRY_COLUMNS = (
    audit_entries.c.chain_id,
    audit_entries.c.seq,
    audit_entries.c.entry_id,
    audit_entries.c.at,
    audit_entries.c.action,
    audit_entries.c.actor,
    audit_entries.c.event_id,
    audit_entries.c.referral_id,
    audit_entries.c.consent_id,
    audit_entries.c.details,
    audit_entries.c.prev_hash,
    audit_entries.c.hash,
)


def _entry_of(row: Sequence[Any]) -> AuditEntryRow:
    # int() makes a seq the database holds as something else unreadable here,
    # where the verifier can name its chain, rather than deep in a comparison.
    chain_id, seq, *rest = row
    return AuditEntryRow(chain_id, int(seq), *rest)


def _checkpoint(m: RowMapping) -> AuditCheckpointRow:
    # JSON has no tuples; heads are stored as two-element arrays.
    heads = {str(chain): (int(pair[0]), str(pair[1])) for chain, pair in m["heads"].items()}
    return AuditCheckpointRow(
        seq=int(m["seq"]),
        at=m["at"],
        heads=heads,
        prev_hash=m["prev_hash"],
        signature=m["signature"],
        key_id=m["key_id"],
    )


_INSERT_ENTRY = audit_entries.insert()


def _entry_values(row: AuditEntryRow) -> dict[str, Any]:
    return {
        "chain_id": row.chain_id,
        "seq": row.seq,
        "entry_id": row.entry_id,
        "at": row.at,
        "action": row.action,
        "actor": row.actor,
        "event_id": row.event_id,
        "referral_id": row.referral_id,
        "consent_id": row.consent_id,
        "details": row.details,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


@translating
def append_entry(conn: Connection, row: AuditEntryRow) -> None:
    """Store an entry; ``StoreError`` if its ``(chain_id, seq)`` or ``entry_id`` is taken."""
    # Values as parameters of one shared statement: nothing to build per entry.
    conn.execute(_INSERT_ENTRY, _entry_values(row))


@translating
def append_entries(conn: Connection, rows: Sequence[AuditEntryRow]) -> None:
    """Store entries in one round of statements; ``StoreError`` as :func:`append_entry`."""
    if rows:
        conn.execute(_INSERT_ENTRY, [_entry_values(row) for row in rows])


@translating
def chain_head(conn: Connection, chain_id: str) -> AuditEntryRow | None:
    """The chain's last entry, None for a chain with no entries."""
    row = conn.execute(
        select(*_ENTRY_COLUMNS)
        .where(audit_entries.c.chain_id == chain_id)
        .order_by(audit_entries.c.seq.desc())
        .limit(1)
    ).first()
    return _entry_of(row) if row is not None else None


@translating
def chain_heads(conn: Connection, chain_ids: Collection[str]) -> dict[str, Head]:
    """``{chain_id: (seq, hash)}`` of the last entry of each of ``chain_ids`` that has one.

    One statement per few hundred chains, whatever their number, but it reads
    every entry of the chains named: meant for short chains (a referral's, a
    consent's). Read a long chain's head with :func:`chain_head`.
    """
    heads: dict[str, Head] = {}
    for chunk in chunked(sorted(set(chain_ids))):
        found = conn.execute(
            select(audit_entries.c.chain_id, audit_entries.c.seq, audit_entries.c.hash).where(
                audit_entries.c.chain_id.in_(chunk)
            )
        )
        for chain_id, seq, digest in found:
            if seq > heads.get(chain_id, (0, ""))[0]:
                heads[str(chain_id)] = (int(seq), str(digest))
    return heads


@translating
def entries(
    conn: Connection,
    *,
    chain_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    referral_id: str | None = None,
) -> list[AuditEntryRow]:
    """Entries matching every filter given, ordered by ``(chain_id, seq)``.

    The time window is half-open: ``since <= at < until``.
    """
    query = select(*_ENTRY_COLUMNS)
    if chain_id is not None:
        query = query.where(audit_entries.c.chain_id == chain_id)
    if since is not None:
        query = query.where(audit_entries.c.at >= since)
    if until is not None:
        query = query.where(audit_entries.c.at < until)
    if referral_id is not None:
        query = query.where(audit_entries.c.referral_id == referral_id)
    result = conn.execute(query.order_by(audit_entries.c.chain_id, audit_entries.c.seq))
    return [_entry_of(row) for row in result]


#: Rows fetched per round trip while streaming the log.
_STREAM_BATCH = 2_000


def _streamed(batch: int) -> dict[str, Any]:
    """Statement options that fetch ``batch`` rows at a time (server-side on PostgreSQL).

    Per statement: set on the connection they would stream every later
    statement of the transaction too, and an INSERT cannot run that way.
    """
    return {"stream_results": True, "yield_per": batch}


def stream_chains(
    conn: Connection, *, after: str | None = None
) -> Iterator[tuple[str, list[AuditEntryRow]]]:
    """Every chain after ``after`` in chain order, one at a time, its entries in seq order.

    One query streams the whole log (a server-side cursor on PostgreSQL), so
    memory holds one chain however long the log is. A chain is yielded only
    once all of its entries were read; a row that cannot be read back raises
    (ValueError, TypeError or KeyError) before its chain is yielded, and the
    caller may resume with ``after`` set to the last chain it got.
    """
    query = select(*_ENTRY_COLUMNS).order_by(audit_entries.c.chain_id, audit_entries.c.seq)
    if after is not None:
        query = query.where(audit_entries.c.chain_id > after)
    with store_errors():
        result = conn.execute(query.execution_options(**_streamed(_STREAM_BATCH)))
        try:
            yield from _grouped(result)
        finally:
            result.close()


def _grouped(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[str, list[AuditEntryRow]]]:
    chain_id: str | None = None
    chain: list[AuditEntryRow] = []
    for row in rows:
        entry = _entry_of(row)
        if entry.chain_id != chain_id:
            if chain_id is not None:
                yield chain_id, chain
            chain_id, chain = entry.chain_id, []
        chain.append(entry)
    if chain_id is not None:
        yield chain_id, chain


@translating
def next_chain_id(conn: Connection, after: str | None = None) -> str | None:
    """The first chain id after ``after`` in chain order, None past the last."""
    query = select(func.min(audit_entries.c.chain_id))
    if after is not None:
        query = query.where(audit_entries.c.chain_id > after)
    found: str | None = conn.execute(query).scalar_one_or_none()
    return found


@translating
def all_chain_heads(conn: Connection) -> dict[str, Head]:
    """``{chain_id: (seq, hash)}`` of every chain's last entry."""
    last = (
        select(audit_entries.c.chain_id, func.max(audit_entries.c.seq).label("seq"))
        .group_by(audit_entries.c.chain_id)
        .subquery()
    )
    result = conn.execute(
        select(audit_entries.c.chain_id, audit_entries.c.seq, audit_entries.c.hash).join(
            last,
            and_(
                audit_entries.c.chain_id == last.c.chain_id,
                audit_entries.c.seq == last.c.seq,
            ),
        )
    )
    return {chain_id: (int(seq), digest) for chain_id, seq, digest in result}


def _rowid() -> ColumnClause[int]:
    """The number SQLite gives each row on insert (see heads_appended_after)."""
    return literal_column("rowid", Integer)


@translating
def heads_appended_after(conn: Connection, heads: Mapping[str, Head]) -> dict[str, Head] | None:
    """Heads of the chains that gained entries after every entry ``heads`` names.

    ``heads`` are those a checkpoint recorded; the answer is what the next one
    must record. It comes from the entries stored since, without reading the
    rest of the log, using the order SQLite numbers rows in: each new row's
    rowid is above every existing one, and writers take turns. None where
    that order is unavailable (PostgreSQL, which also lets writers commit out
    of order), or when none of the named entries is left to measure from.
    """
    if conn.dialect.name != "sqlite" or not heads:
        return None
    mark = _newest_rowid(conn, heads)
    if mark is None:
        return None
    appended: dict[str, Head] = {}
    query = select(audit_entries.c.chain_id, audit_entries.c.seq, audit_entries.c.hash).where(
        _rowid() > mark
    )
    for chain_id, seq, digest in conn.execute(query):
        known = appended.get(chain_id)
        if known is None or seq > known[0]:
            appended[chain_id] = (int(seq), digest)
    return appended


def _newest_rowid(conn: Connection, heads: Mapping[str, Head]) -> int | None:
    newest: int | None = None
    keys = sorted((chain_id, seq) for chain_id, (seq, _) in heads.items())
    for chunk in chunked(keys):
        wanted = set(chunk)
        query = select(audit_entries.c.chain_id, audit_entries.c.seq, _rowid()).where(
            pairs_among(audit_entries.c.chain_id, audit_entries.c.seq, chunk)
        )
        for chain_id, seq, rowid in conn.execute(query):
            if (chain_id, seq) in wanted and (newest is None or rowid > newest):
                newest = int(rowid)
    return newest


@translating
def count_entries(conn: Connection, chain_id: str | None = None) -> int:
    """How many entries there are, in one chain or in all."""
    query = select(func.count()).select_from(audit_entries)
    if chain_id is not None:
        query = query.where(audit_entries.c.chain_id == chain_id)
    return int(conn.execute(query).scalar_one())


@translating
def add_checkpoint(
    conn: Connection,
    *,
    at: datetime,
    heads: Mapping[str, Head],
    prev_hash: str,
    signature: str,
    key_id: str,
) -> int:
    """Store a signed checkpoint and return its ``seq``."""
    result = conn.execute(
        audit_checkpoints.insert()
        .values(
            at=at,
            heads={chain: [seq, digest] for chain, (seq, digest) in heads.items()},
            prev_hash=prev_hash,
            signature=signature,
            key_id=key_id,
        )
        .returning(audit_checkpoints.c.seq)
    )
    return int(result.scalar_one())


@translating
def checkpoints(conn: Connection) -> list[AuditCheckpointRow]:
    """Every checkpoint, oldest first."""
    result = conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq)).mappings()
    return [_checkpoint(m) for m in result]


@translating
def latest_checkpoint(conn: Connection) -> AuditCheckpointRow | None:
    m = (
        conn.execute(select(audit_checkpoints).order_by(audit_checkpoints.c.seq.desc()).limit(1))
        .mappings()
        .first()
    )
    return _checkpoint(m) if m is not None else None


@translating
def latest_checkpoint_with_heads(conn: Connection) -> AuditCheckpointRow | None:
    """The newest checkpoint that records at least one head, None if none does."""
    result = conn.execute(
        select(audit_checkpoints)
        .order_by(audit_checkpoints.c.seq.desc())
        .execution_options(**_streamed(16))
    ).mappings()
    try:
        for m in result:
            row = _checkpoint(m)
            if row.heads:
                return row
        return None
    finally:
        result.close()
