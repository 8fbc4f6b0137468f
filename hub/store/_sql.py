"""Dialect-specific statement builders the repositories share.

``INSERT ... ON CONFLICT`` is spelled the same on SQLite and PostgreSQL, but
SQLAlchemy exposes it only through each dialect's own ``insert`` construct.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Executable, Table, and_
from sqlalchemy.dialects import postgresql, sqlite

from hub.errors import StoreError

__all__ = [
    "chunked",
    "insert_many_or_ignore",
    "insert_many_or_ignore_keys",
    "insert_or_ignore",
    "pairs_among",
    "upsert",
    "upsert_many",
]

_T = TypeVar("_T")

#: How many values one ``IN (...)`` list holds: well under SQLite's limit of
#: bound parameters per statement, and a plan PostgreSQL still handles well.
IN_LIST_LIMIT = 500


def chunked(values: Sequence[_T], size: int = IN_LIST_LIMIT) -> Iterator[list[_T]]:
    """``values`` in consecutive lists of at most ``size``."""
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk


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
    stmt = _insert_or_ignore(conn.dialect.name, table, tuple(conflict_on))
    # SQLAlchemy only keeps the rowcount of UPDATE and DELETE by default; an
    # INSERT's is lost when its cursor closes unless asked for.
    result = conn.execute(stmt, dict(values), execution_options={"preserve_rowcount": True})
    return result.rowcount == 1


def pairs_among(
    first: ColumnElement[Any], second: ColumnElement[Any], pairs: Iterable[tuple[Any, Any]]
) -> ColumnElement[bool]:
    """A filter for rows whose ``(first, second)`` may be one of ``pairs``: a superset.

    The caller keeps the exact pairs from what it reads. ``(a, b) IN (VALUES
    ...)`` would be exact, but SQLite answers it by scanning the whole table;
    two plain IN lists let it probe a two-column index instead.
    """
    pairs = list(pairs)
    return and_(first.in_(sorted({a for a, _ in pairs})), second.in_(sorted({b for _, b in pairs})))


def insert_many_or_ignore(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict_on: Sequence[str],
    returning: str,
) -> list[Any]:
    """Insert each of ``rows`` unless its ``conflict_on`` key exists.

    Returns the ``returning`` column of the rows actually inserted: the
    database decides row by row, so two concurrent callers never both win one.
    SQLAlchemy sends the rows as a few multi-row statements, not one per row.
    """
    if not rows:
        return []
    stmt = _insert_or_ignore_returning(conn.dialect.name, table, tuple(conflict_on), returning)
    return list(conn.execute(stmt, [dict(row) for row in rows]).scalars())


def insert_many_or_ignore_keys(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict_on: Sequence[str],
) -> set[tuple[str, ...]]:
    """:func:`insert_many_or_ignore`, answering the ``conflict_on`` key of each row inserted."""
    if not rows:
        return set()
    stmt = _insert_or_ignore_returning_key(conn.dialect.name, table, tuple(conflict_on))
    result = conn.execute(stmt, [dict(row) for row in rows])
    return {tuple(str(value) for value in key) for key in result}


@cache
def _insert_or_ignore_returning_key(
    dialect: str, table: Table, conflict_on: tuple[str, ...]
) -> Executable:
    stmt: Executable = (
        _insert(dialect, table)
        .on_conflict_do_nothing(index_elements=list(conflict_on))
        .returning(*(table.c[name] for name in conflict_on))
    )
    return stmt


@cache
def _insert_or_ignore_returning(
    dialect: str, table: Table, conflict_on: tuple[str, ...], returning: str
) -> Executable:
    stmt: Executable = (
        _insert(dialect, table)
        .on_conflict_do_nothing(index_elements=list(conflict_on))
        .returning(table.c[returning])
    )
    return stmt


@cache
def _insert_or_ignore(dialect: str, table: Table, conflict_on: tuple[str, ...]) -> Executable:
    # Built once per table: the values come as parameters, so the hot path
    # neither builds nor compiles a statement per row.
    stmt: Executable = _insert(dialect, table).on_conflict_do_nothing(
        index_elements=list(conflict_on)
    )
    return stmt


def _insert(dialect: str, table: Table) -> Any:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise StoreError(f"unsupported database dialect {dialect!r}")


def upsert(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    *,
    conflict_on: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert ``values``, or overwrite the ``update`` columns of the existing row."""
    upsert_many(conn, table, [values], conflict_on=conflict_on, update=update)


def upsert_many(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict_on: Sequence[str],
    update: Sequence[str],
) -> None:
    """:func:`upsert` for each of ``rows``, sent as one batch; two rows must not share a key."""
    if not rows:
        return
    stmt = _upsert(conn.dialect.name, table, tuple(conflict_on), tuple(update))
    conn.execute(stmt, [dict(row) for row in rows])


@cache
def _upsert(
    dialect: str, table: Table, conflict_on: tuple[str, ...], update: tuple[str, ...]
) -> Executable:
    insert = _insert(dialect, table)
    stmt: Executable = insert.on_conflict_do_update(
        index_elements=list(conflict_on),
        set_={column: insert.excluded[column] for column in update},
    )
    return stmt
