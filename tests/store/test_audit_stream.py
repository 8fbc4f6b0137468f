"""The audit stream's watermarks: which entries are still to be published to hub.audit."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Connection

from hub.store import AuditEntryRow, audit_stream
from hub.store import audit as audit_store


def _append(conn: Connection, chain_id: str, seq: int, at: datetime) -> None:
    audit_store.append_entry(
        conn,
        AuditEntryRow(
            chain_id=chain_id,
            seq=seq,
            entry_id=f"{chain_id}-{seq}",
            at=at,
            action="routed",
            actor="hub",
            event_id=None,
            referral_id=None,
            consent_id=None,
            details={},
            prev_hash="0" * 64,
            hash=f"{seq:064d}",
        ),
    )


def _pending(conn: Connection) -> list[tuple[str, int]]:
    rows, _ = audit_stream.unpublished(conn, limit=100)
    return sorted((row.chain_id, row.seq) for row in rows)


def test_watermarks_move_forward_only(conn: Connection, now: datetime) -> None:
    """Published entries stop being listed; an older watermark never moves one back."""
    for chain_id, count in (("chain-a", 3), ("chain-b", 2)):
        for seq in range(1, count + 1):
            _append(conn, chain_id, seq, now)
    assert _pending(conn) == [
        ("chain-a", 1),
        ("chain-a", 2),
        ("chain-a", 3),
        ("chain-b", 1),
        ("chain-b", 2),
    ]
    audit_stream.advance(conn, {"chain-a": 2, "chain-b": 2}, now)
    assert _pending(conn) == [("chain-a", 3)]
    audit_stream.advance(conn, {"chain-a": 1, "chain-b": 1}, now + timedelta(seconds=1))
    assert _pending(conn) == [("chain-a", 3)]
    audit_stream.advance(conn, {}, now)
    audit_stream.advance(conn, {"chain-a": 3}, now)
    assert _pending(conn) == []


def test_reading_on_from_a_position_skips_what_was_read(conn: Connection, now: datetime) -> None:
    """On SQLite a position returned skips rows already read; new rows still show."""
    if conn.dialect.name != "sqlite":
        pytest.skip("positions are SQLite rowids; PostgreSQL compares every chain each time")
    _append(conn, "chain-a", 1, now)
    _append(conn, "chain-b", 1, now)
    first, position = audit_stream.unpublished(conn, limit=1)
    rest, position = audit_stream.unpublished(conn, limit=100, after=position)
    assert [(row.chain_id, row.seq) for row in [*first, *rest]] == [
        ("chain-a", 1),
        ("chain-b", 1),
    ]
    _append(conn, "chain-a", 2, now)
    newer, _ = audit_stream.unpublished(conn, limit=100, after=position)
    assert [(row.chain_id, row.seq) for row in newer] == [("chain-a", 2)]
    # Reading from the start again finds every unpublished entry.
    again, _ = audit_stream.unpublished(conn, limit=100)
    assert len(again) == 3
