"""The store's schema, brought up to date with Alembic.

The revisions live in :mod:`hub.store.alembic` (one per step of the schema's
history); this module runs them programmatically, so no ``alembic.ini`` is
needed. A schema change is a new revision file in ``hub/store/alembic/versions``
whose ``down_revision`` is the current head.

:func:`migrate` applies the missing revisions in one transaction. Concurrent
callers (two processes starting together) are serialised by a lock taken at the
start of it: a PostgreSQL transaction-scoped advisory lock, or SQLite's write
lock, which every transaction on a store engine takes up front
(``BEGIN IMMEDIATE``). A store the former hand-written runner created (its
history in ``schema_migrations``, version N) is taken over under the same
lock: Alembic's version table is stamped with revision N and the rest applied.

:func:`require_current` is the start-up check: it refuses, in one line naming
``hub db upgrade``, a schema older (or newer) than this release's.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, func, inspect, select, text

from hub.errors import StoreError
from hub.store._errors import store_errors

__all__ = [
    "UPGRADE_COMMAND",
    "Revision",
    "current_version",
    "head_revision",
    "history",
    "migrate",
    "require_current",
]

#: The command that brings a database up to this release's schema.
UPGRADE_COMMAND = "hub db upgrade"

_SCRIPT_LOCATION = Path(__file__).with_name("alembic")

# A fixed key for pg_advisory_xact_lock, derived from a name so it is unlikely
# to collide with advisory locks other applications take in the same database.
_PG_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"referral-hub:schema-migrations").digest()[:8], "big", signed=True
)

# The former runner's table, and the last version it knew.
_OLD_RUNNER_TABLE = "schema_migrations"
_OLD_RUNNER_LAST = 7


@dataclass(frozen=True, slots=True)
class Revision:
    """One step of the schema's history."""

    revision: str
    description: str


def _config(conn: Connection | None = None) -> Config:
    config = Config()
    # The config is a ConfigParser: a "%" in the path would read as interpolation.
    config.set_main_option("script_location", str(_SCRIPT_LOCATION).replace("%", "%%"))
    config.attributes["connection"] = conn
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    # The revisions ship with the code, so reading them once per process is enough.
    return ScriptDirectory.from_config(_config())


def head_revision() -> str:
    """The revision this release's code expects."""
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package ships its revisions
        raise RuntimeError("the store has no schema revisions")
    return head


def history() -> list[Revision]:
    """Every revision, oldest first."""
    scripts = _scripts()
    return [
        Revision(script.revision, (script.doc or "").strip())
        for script in reversed(list(scripts.walk_revisions()))
    ]


def _old_runner_revision(version: int) -> str:
    return f"{version:04d}"


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    # SQLite: the store engine opened this transaction with BEGIN IMMEDIATE,
    # which already holds the database's single write lock.


def _refuse(message: str) -> StoreError:
    error = StoreError(message)
    error.retriable = False
    return error


def _old_runner_version(conn: Connection) -> int | None:
    """The version the former runner recorded, or None if it never ran here."""
    if not inspect(conn).has_table(_OLD_RUNNER_TABLE):
        return None
    query = text("SELECT version FROM schema_migrations")
    versions = {int(v) for v in conn.execute(query).scalars()}
    if not versions:
        return 0
    if versions != set(range(1, max(versions) + 1)) or max(versions) > _OLD_RUNNER_LAST:
        raise _refuse(
            f"the database records schema versions {sorted(versions)} that this release "
            f"cannot take over (it knows 1..{_OLD_RUNNER_LAST})"
        )
    return max(versions)


def _current(conn: Connection) -> str | None:
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is not None:
        return revision
    old = _old_runner_version(conn)
    return _old_runner_revision(old) if old else None


def _check_known(revision: str | None) -> None:
    if revision is None:
        return
    known = {r.revision for r in history()}
    if revision not in known:
        raise _refuse(
            f"the database schema is at revision {revision}, which this release does not "
            f"know (its latest is {head_revision()}): run a newer release"
        )


def _between(lower: str | None, upper: str | None) -> list[str]:
    """The revisions after ``lower`` up to and including ``upper``, oldest first."""
    order = [r.revision for r in history()]
    start = order.index(lower) + 1 if lower is not None else 0
    end = order.index(upper) + 1 if upper is not None else 0
    return order[start:end]


def migrate(engine: Engine, *, target: str = "head") -> list[str]:
    """Apply the revisions the database lacks, up to ``target``; return those applied now.

    ``engine`` must come from :func:`hub.store.engine.create_store_engine`,
    whose SQLite transactions take the write lock this relies on.
    """
    with store_errors(), engine.begin() as conn:
        _lock(conn)
        config = _config(conn)
        before = MigrationContext.configure(conn).get_current_revision()
        if before is None:
            old = _old_runner_version(conn)
            if old:
                # The former runner left this store at version N: revision N
                # has the same schema, so record it and carry on from there.
                before = _old_runner_revision(old)
                command.stamp(config, before)
        _check_known(before)
        command.upgrade(config, target)
        after = MigrationContext.configure(conn).get_current_revision()
    return _between(before, after)


def current_version(engine: Engine) -> str | None:
    """The database's schema revision; None for a database without the hub's schema."""
    with store_errors(), engine.connect() as conn:
        return _current(conn)


def require_current(engine: Engine) -> None:
    """Refuse (a non-retriable ``StoreError``) a schema other than this release's."""
    current = current_version(engine)
    head = head_revision()
    if current == head:
        return
    _check_known(current)
    found = "holds no hub schema" if current is None else f"schema is at revision {current}"
    raise _refuse(
        f"the database {found}, this release needs revision {head}: run `{UPGRADE_COMMAND}`"
    )
