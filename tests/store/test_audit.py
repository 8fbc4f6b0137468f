"""The audit repository: chained entries and signed checkpoints."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Connection

from hub.errors import StoreError
from hub.store import AuditEntryRow, Store, audit


def _entry(chain: str, seq: int, at: datetime, referral_id: str | None = None) -> AuditEntryRow:
    return AuditEntryRow(
        chain_id=chain,
        seq=seq,
        entry_id=f"{chain}-{seq}",
        at=at,
        action="referral.viewed",
        actor="agency-1",
        event_id=f"ev-{chain}-{seq}",
        referral_id=referral_id,
        consent_id=None,
        details={"seq": seq},
        prev_hash=f"h{seq - 1}",
        hash=f"h{seq}",
    )


def test_append_and_chain_head(conn: Connection, now: datetime) -> None:
    """chain_head returns the entry with the highest seq of that chain."""
    assert audit.chain_head(conn, "main") is None
    for seq in (1, 2, 3):
        audit.append_entry(conn, _entry("main", seq, now))
    audit.append_entry(conn, _entry("other", 1, now))
    assert audit.chain_head(conn, "main") == _entry("main", 3, now)


def test_fork_is_refused(store: Store, now: datetime) -> None:
    """Appending a seq the chain already has, or a used entry_id, raises StoreError."""
    with store.transaction() as conn:
        audit.append_entry(conn, _entry("main", 1, now))
    with pytest.raises(StoreError), store.transaction() as conn:
        audit.append_entry(conn, replace(_entry("main", 1, now), entry_id="another"))
    with pytest.raises(StoreError), store.transaction() as conn:
        audit.append_entry(conn, replace(_entry("main", 2, now), entry_id="main-1"))
    with store.transaction() as conn:
        assert audit.count_entries(conn) == 1


def test_entries_filters_and_order(conn: Connection, now: datetime) -> None:
    """entries filters by chain, half-open time window and referral, ordered by (chain, seq)."""
    audit.append_entry(conn, _entry("b", 1, now, "r1"))
    audit.append_entry(conn, _entry("a", 1, now + timedelta(minutes=1)))
    audit.append_entry(conn, _entry("a", 2, now + timedelta(minutes=2), "r1"))
    audit.append_entry(conn, _entry("b", 2, now + timedelta(minutes=3)))

    def keys(rows: list[AuditEntryRow]) -> list[tuple[str, int]]:
        return [(r.chain_id, r.seq) for r in rows]

    assert keys(audit.entries(conn)) == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    assert keys(audit.entries(conn, chain_id="b")) == [("b", 1), ("b", 2)]
    window = audit.entries(conn, since=now + timedelta(minutes=1), until=now + timedelta(minutes=3))
    assert keys(window) == [("a", 1), ("a", 2)]
    assert keys(audit.entries(conn, referral_id="r1")) == [("a", 2), ("b", 1)]
    assert audit.entries(conn, chain_id="b", referral_id="r1")[0] == _entry("b", 1, now, "r1")


def test_all_chain_heads_and_count(conn: Connection, now: datetime) -> None:
    """all_chain_heads maps each chain to its last (seq, hash); count_entries counts."""
    assert audit.all_chain_heads(conn) == {}
    assert audit.count_entries(conn) == 0
    for chain, last in (("a", 3), ("b", 1)):
        for seq in range(1, last + 1):
            audit.append_entry(conn, _entry(chain, seq, now))
    assert audit.all_chain_heads(conn) == {"a": (3, "h3"), "b": (1, "h1")}
    assert audit.count_entries(conn) == 4
    assert audit.count_entries(conn, "a") == 3


def test_checkpoints(conn: Connection, now: datetime) -> None:
    """Checkpoints read back in order with heads as (seq, hash) tuples."""
    assert audit.latest_checkpoint(conn) is None
    first = audit.add_checkpoint(
        conn, at=now, heads={"a": (3, "h3")}, prev_hash="genesis", signature="sig1", key_id="k1"
    )
    second = audit.add_checkpoint(
        conn,
        at=now + timedelta(hours=1),
        heads={"a": (5, "h5"), "b": (1, "h1")},
        prev_hash="cp1",
        signature="sig2",
        key_id="k1",
    )
    assert second > first
    stored = audit.checkpoints(conn)
    assert [c.seq for c in stored] == [first, second]
    assert stored[0].heads == {"a": (3, "h3")}
    assert stored[0].at == now
    latest = audit.latest_checkpoint(conn)
    assert latest is not None
    assert (latest.seq, latest.heads, latest.prev_hash) == (
        second,
        {"a": (5, "h5"), "b": (1, "h1")},
        "cp1",
    )
    assert (latest.signature, latest.key_id) == ("sig2", "k1")


def test_append_entries_stores_a_batch(conn: Connection, now: datetime) -> None:
    """append_entries stores every row given, and nothing for an empty batch."""
    audit.append_entries(conn, [])
    assert audit.count_entries(conn) == 0
    batch = [_entry("a", 1, now), _entry("b", 1, now), _entry("a", 2, now)]
    audit.append_entries(conn, batch)
    assert audit.entries(conn) == [batch[0], batch[2], batch[1]]


def test_append_entries_refuses_a_fork(store: Store, now: datetime) -> None:
    """A batch holding a (chain_id, seq) already taken raises StoreError and stores nothing."""
    with store.transaction() as conn:
        audit.append_entry(conn, _entry("main", 1, now))
    with pytest.raises(StoreError), store.transaction() as conn:
        audit.append_entries(
            conn, [_entry("main", 2, now), replace(_entry("main", 1, now), entry_id="x")]
        )
    with store.transaction() as conn:
        assert audit.count_entries(conn) == 1


def test_chain_heads_reads_the_heads_of_the_chains_asked_for(
    conn: Connection, now: datetime
) -> None:
    """chain_heads maps each chain asked for that has entries to its last (seq, hash)."""
    assert audit.chain_heads(conn, []) == {}
    chains = [f"c{n:03d}" for n in range(300)]  # more than one query's worth
    audit.append_entries(conn, [_entry(chain, seq, now) for chain in chains for seq in (1, 2)])
    audit.append_entry(conn, _entry("c007", 3, now))
    heads = audit.chain_heads(conn, [*chains, "absent", "c007"])
    assert len(heads) == 300
    assert heads["c007"] == (3, "h3")
    assert heads["c299"] == (2, "h2")
    assert "absent" not in heads


def test_stream_chains_yields_whole_chains_in_order(conn: Connection, now: datetime) -> None:
    """Each chain comes once, complete and in seq order; after= resumes past a chain."""
    audit.append_entries(
        conn, [_entry(c, s, now) for c, s in (("b", 2), ("a", 1), ("c", 1), ("b", 1), ("a", 2))]
    )
    streamed = [(chain, [row.seq for row in rows]) for chain, rows in audit.stream_chains(conn)]
    assert streamed == [("a", [1, 2]), ("b", [1, 2]), ("c", [1])]
    assert [chain for chain, _ in audit.stream_chains(conn, after="a")] == ["b", "c"]
    assert list(audit.stream_chains(conn, after="c")) == []
    assert audit.next_chain_id(conn) == "a"
    assert audit.next_chain_id(conn, "a") == "b"
    assert audit.next_chain_id(conn, "c") is None


def test_stream_chains_leaves_the_transaction_usable(conn: Connection, now: datetime) -> None:
    """Streaming is set per statement: the same transaction can still write afterwards."""
    audit.append_entry(conn, _entry("a", 1, now))
    assert len(list(audit.stream_chains(conn))) == 1
    audit.append_entry(conn, _entry("a", 2, now))
    assert audit.count_entries(conn) == 2


def test_heads_appended_after(conn: Connection, now: datetime) -> None:
    """On SQLite, the heads of the chains written after the named entries; elsewhere None."""
    for chain, seq in (("a", 1), ("b", 1), ("a", 2)):
        audit.append_entry(conn, _entry(chain, seq, now))
    named = {"a": (2, "h2"), "b": (1, "h1")}
    for chain, seq in (("c", 1), ("b", 2), ("b", 3)):
        audit.append_entry(conn, _entry(chain, seq, now))
    appended = audit.heads_appended_after(conn, named)
    if conn.dialect.name == "sqlite":
        assert appended == {"b": (3, "h3"), "c": (1, "h1")}
        assert audit.heads_appended_after(conn, {"gone": (1, "h1")}) is None
    else:
        assert appended is None
    assert audit.heads_appended_after(conn, {}) is None


def test_latest_checkpoint_with_heads_skips_empty_ones(conn: Connection, now: datetime) -> None:
    """The newest checkpoint naming any head is found past newer ones that name none."""
    assert audit.latest_checkpoint_with_heads(conn) is None
    named = audit.add_checkpoint(
        conn, at=now, heads={"a": (1, "h1")}, prev_hash="g", signature="", key_id=""
    )
    for _ in range(3):
        audit.add_checkpoint(conn, at=now, heads={}, prev_hash="p", signature="", key_id="")
    found = audit.latest_checkpoint_with_heads(conn)
    assert found is not None
    assert (found.seq, found.heads) == (named, {"a": (1, "h1")})
