"""Transaction-scoped locks that keep a chain, and the checkpoints, from forking.

Appending reads the chain's head and writes the next entry; two writers doing
that at once on PostgreSQL would both read the same head, and the second would
fail on the primary key. A per-chain advisory lock, held to the end of the
caller's transaction, makes them take turns instead; writers to different
chains never wait for each other. SQLite needs nothing here: the store begins
every transaction with ``BEGIN IMMEDIATE``, so writers are already serialised.

Deadlocks: a transaction appending to several chains holds several locks,
and two that share chains and take them in opposite orders can deadlock;
PostgreSQL breaks that by aborting one with a retriable ``StoreError``. Keep
concurrent transactions' chains apart (the router's partitions are keyed by
referral) or take them in sorted order, as ``AuditRecorder.record_many`` does
for a batch. Checkpoints add no such cycle: one
that falls due in the middle of a transaction only *tries* the hub chain's and
the checkpoint locks, and leaves the checkpoint to the next entry when either
is busy. (Driver errors here surface as ``StoreError`` at the boundary of the
store's transaction.)
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

__all__ = ["lock_chain", "lock_checkpoints", "try_lock_chain", "try_lock_checkpoints"]

# First halves of the two-part advisory lock keys; distinct from the other
# spaces the hub uses (the inbox's is 0x1B0C).
_CHAIN_SPACE = 0xA0D1
_CHECKPOINT_SPACE = 0xA0D2


def lock_chain(conn: Connection, chain_id: str) -> None:
    """Hold ``chain_id``'s append lock until the transaction ends (PostgreSQL only)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_CHAIN_SPACE, func.hashtext(chain_id))))


def try_lock_chain(conn: Connection, chain_id: str) -> bool:
    """Take ``chain_id``'s append lock if it is free; False, without waiting, if not."""
    if conn.dialect.name != "postgresql":
        return True
    key = func.pg_try_advisory_xact_lock(_CHAIN_SPACE, func.hashtext(chain_id))
    return bool(conn.execute(select(key)).scalar_one())


def lock_checkpoints(conn: Connection) -> None:
    """Hold the checkpoint lock until the transaction ends (PostgreSQL only).

    Checkpoints form a chain of their own, so writing one must not race another.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_CHECKPOINT_SPACE, 0)))


def try_lock_checkpoints(conn: Connection) -> bool:
    """Take the checkpoint lock if it is free; False, without waiting, if not."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(
        conn.execute(select(func.pg_try_advisory_xact_lock(_CHECKPOINT_SPACE, 0))).scalar_one()
    )
