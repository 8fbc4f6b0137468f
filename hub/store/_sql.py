"""Dialect-specific statement builders the repositories share.

``INSERT ... ON CONFLICT`` is spelled the same on SQLite and PostgreSQL, but
SQLAlchemy exposes it only through each dialect's own ``insert`` construct.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Executable, Table
from sqlalchemy.dialects import postgresql, sqlite

from hub.errors import StoreError

__all__ = ["insert_or_ignore", "upsert"]


def insert_or_ignore(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    *,
    conflict_on: Sequence[str],
) -> bool:
    """Insert ``values`` unless a row with the same ``conflict_on`` key exists.

    Returns True when a row was inserted. The decision is made by the database
    in the one statement, so concurrent callers cannot both win.
    """
    name = conn.dialect.name
    if name == "postgresql":
        stmt: Executable = (
            postgresql.insert(table)
            .values(dict(values))
            .on_conflict_do_nothing(index_elements=list(conflict_on))
        )
    elif name == "sqlite":
        stmt = (
            sqlite.insert(table)
            .values(dict(values))
            .on_conflict_do_nothing(index_elements=list(conflict_on))
        )
    else:
        raise StoreError(f"unsupported database dialect {name!r}")
    # SQLAlchemy only keeps the rowcount of UPDATE and DELETE by default; an
    # INSERT's is lost when its cursor closes unless asked for.
    result = conn.execute(stmt, execution_options={"preserve_rowcount": True})
    return result.rowcount == 1


def upsert(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    *,
    conflict_on: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``values``, or overwrite the ``update`` columns of the existing row."""
    name = conn.dialect.name
    if name == "postgresql":
        pg = postgresql.insert(table).values(dict(values))
        conn.execute(
            pg.on_conflict_do_update(
                index_elements=list(conflict_on),
                set_={column: pg.excluded[column] for column in update},
            )
        )
    elif name == "sqlite":
        lite = sqlite.insert(table).values(dict(values))
        conn.execute(
            lite.on_conflict_do_update(
                index_elements=list(conflict_on),
                set_={column: lite.excluded[column] for column in update},
            )
        )
    else:
        raise StoreError(f"unsupported database dialect {name!r}")
