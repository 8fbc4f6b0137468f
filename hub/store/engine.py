"""Engine construction and the :class:`Store` handle the rest of the hub holds.

The engine is synchronous; async callers wrap store calls in
``asyncio.to_thread``. It is safe to share between threads: every transaction
checks out its own pooled connection.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

from hub.errors import ConfigError, StoreError
from hub.store._errors import store_errors
from hub.store.migrations import migrate, require_current

__all__ = ["Store", "create_store_engine", "is_embedded"]

_URL_KEY = "database_url"

# How long a SQLite connection waits for another writer before failing.
# Writers hold the lock only for one short transaction, so this is generous.
_SQLITE_BUSY_TIMEOUT_MS = 30_000

_PG_CONNECT_TIMEOUT_S = 10


def _parse(url: str) -> URL:
    if "://" not in url:
        # A bare path is taken to be an embedded SQLite database file.
        return URL.create("sqlite", database=url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(_URL_KEY, f"not a database URL: {exc}") from exc
    if parsed.drivername in {"postgres", "postgresql"}:
        # psycopg 3 is the only PostgreSQL driver the hub ships with.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_is_memory(url: URL) -> bool:
    database = url.database or ""
    return database in {"", ":memory:"} or url.query.get("mode") == "memory"


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    # Switching a new database file to WAL needs an exclusive lock, and SQLite
    # reports SQLITE_BUSY for it at once instead of calling the busy handler,
    # so two processes opening a fresh file together must retry by hand. Once
    # the file is in WAL mode (it is a persistent setting) this succeeds at once.
    deadline = time.monotonic() + _SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise
            time.sleep(0.005)


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Hand transaction control to SQLAlchemy (see _sqlite_on_begin); the
    # sqlite3 module's own implicit BEGIN skips DDL and SELECT.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # busy_timeout first, so that it covers everything after it.
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
        # NORMAL is durable across application crashes in WAL mode; only an
        # OS crash can lose the last commits.
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Take the write lock at BEGIN rather than at the first write. A deferred
    # transaction that reads and then writes fails outright with SQLITE_BUSY
    # if another connection committed in between; busy_timeout cannot help it.
    # Most store transactions read and then write, so they queue here
    # instead; the price is that read-only transactions queue as well.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_engine(url: URL) -> Engine:
    kwargs: dict[str, Any] = {}
    if _sqlite_is_memory(url):
        # Each connection to ":memory:" is a database of its own, so the pool
        # holds exactly one connection and threads take turns with it.
        kwargs.update(poolclass=QueuePool, pool_size=1, max_overflow=0)
    elif url.query.get("uri") != "true" and url.database:
        directory = Path(url.database).expanduser().parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the database directory {directory}: {exc}") from exc
    engine = create_engine(
        url, connect_args={"check_same_thread": False}, hide_parameters=True, **kwargs
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _postgres_engine(url: URL) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = _PG_CONNECT_TIMEOUT_S
    if "application_name" not in url.query:
        connect_args["application_name"] = "referral-hub"
    # pre_ping replaces connections a server restart or failover has cut.
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args)


def create_store_engine(url: str) -> Engine:
    """Build an engine for a SQLite or PostgreSQL URL without connecting.

    ``postgresql://`` and ``postgres://`` select the psycopg 3 driver; a SQLite
    file's parent directory is created; a bare path means a SQLite file.
    Statement parameters are kept out of error messages and logs: they carry
    personal data about the people being referred.
    """
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        return _postgres_engine(parsed)
    raise ConfigError(_URL_KEY, f"unsupported database {backend!r}; use sqlite or postgresql")


def is_embedded(url: str) -> bool:
    """Whether ``url`` is an embedded SQLite database, which one hub process owns.

    Such a store is upgraded when the hub opens it; a shared (PostgreSQL) one
    is upgraded by its operators with ``hub db upgrade``.
    """
    return _parse(url).get_backend_name() == "sqlite"


class Store:
    """The hub's database: an engine plus transaction handling."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._closed = False
        # SQLite admits one writer at a time, and a writer that finds the lock
        # taken sleeps in growing steps (up to 100 ms) before trying again. In
        # this process, queue on a mutex instead, which wakes the next writer the
        # moment the lock is free; other processes still meet busy_timeout.
        self._writer = threading.RLock() if engine.dialect.name == "sqlite" else None

    @classmethod
    def open(
        cls, url: str, *, apply_migrations: bool = True, require_current_schema: bool = False
    ) -> Store:
        """Create the engine for ``url``; bring its schema up to date, or insist it is.

        With ``require_current_schema`` (and no ``apply_migrations``) a schema
        older or newer than this release's is refused with a non-retriable
        ``StoreError`` naming ``hub db upgrade``.
        """
        engine = create_store_engine(url)
        try:
            if apply_migrations:
                migrate(engine)
            elif require_current_schema:
                require_current(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def dialect_name(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: committed if the block succeeds, rolled back if it raises.

        Database errors in the block or at commit surface as ``StoreError``;
        any other exception propagates unchanged after the rollback. Do not
        nest these: the inner one would need a second connection, which on
        SQLite waits for the outer one's write lock until it times out.
        """
        self._check_open()
        with self._serialised(), store_errors(), self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _serialised(self) -> Iterator[None]:
        if self._writer is None:
            yield
            return
        with self._writer:
            yield

    def ping(self) -> None:
        """Round-trip to the database; ``StoreError`` if it cannot be reached."""
        self._check_open()
        with store_errors(), self._engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()

    def close(self) -> None:
        """Close the pooled connections (an in-memory database is lost with them)."""
        self._closed = True
        self._engine.dispose()

    def _check_open(self) -> None:
        if self._closed:
            # Without this the engine would quietly reconnect, and an
            # in-memory database would come back empty.
            error = StoreError("the store has been closed")
            error.retriable = False
            raise error

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._engine.url.render_as_string(hide_password=True)!r})"
