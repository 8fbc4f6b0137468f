"""One process at a time: a PostgreSQL session lock for loops that must not run twice.

Some background loops keep their progress in memory between reading the store
and publishing (the audit streamer); two copies would publish the same rows.
With several hub processes, each such loop holds a :class:`SoleTurn` before a
round: the first process to take it keeps it on a connection of its own until
it stops or dies (PostgreSQL drops a session's locks with its connection), and
the others stand by and take over then. SQLite has one process: its turn is
always held.
"""

from __future__ import annotations

import zlib

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import SQLAlchemyError

from hub.store.engine import Store

__all__ = ["SoleTurn"]

#: The first key of the two-key advisory locks; the second names the loop.
_NAMESPACE = 0x6875_6274  # "hubt"


class SoleTurn:
    """Whether this process is the one running the loop called ``name``. Not thread-safe."""

    def __init__(self, store: Store, name: str) -> None:
        self._store = store
        self._key = zlib.crc32(name.encode()) - 2**31  # a stable signed 32-bit key
        self._conn: Connection | None = None

    def held(self) -> bool:
        """True if this process holds the turn, taking it if nobody does."""
        if self._store.dialect_name != "postgresql":
            return True
        if self._conn is not None:
            try:
                self._conn.execute(select(1)).scalar_one()
                self._conn.commit()
                return True
            except SQLAlchemyError:
                self.release()  # the connection, and with it the lock, is gone
        conn = self._store.engine.connect()
        try:
            taken = bool(
                conn.execute(select(func.pg_try_advisory_lock(_NAMESPACE, self._key))).scalar_one()
            )
            conn.commit()
        except SQLAlchemyError:
            conn.invalidate()
            conn.close()
            return False
        if not taken:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        """Let another process take the turn."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        # Discarded rather than pooled: a pooled connection would keep the lock.
        conn.invalidate()
        conn.close()
