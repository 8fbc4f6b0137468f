"""Compare an agency's tables with its mapping, and name every mismatch.

Run at start-up (the agency is then left out, the others served) and by
``hub adapters check social-db``: a column renamed or retyped by an upgrade of
the agency's application shows up here, before a row is misread.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Integer,
    Numeric,
    String,
    Table,
    inspect,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import TypeEngine

from hub.adapters.social_db.database import AgencyDatabase

__all__ = ["Mismatch", "check_schema"]

_MOMENTS = frozenset({"due_by", "occurred_at", "time"})
_FLAGS = frozenset({"do_not_contact"})


@dataclass(frozen=True)
class Mismatch:
    """One way the database differs from the mapping."""

    table: str
    column: str | None
    problem: str

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"{where}: {self.problem}"


def check_schema(database: AgencyDatabase) -> list[Mismatch]:
    """Every mismatch between the agency's tables and its mapping; empty when they agree."""
    settings = database.settings
    try:
        inspector = inspect(database.engine)
        names = set(inspector.get_table_names()) | set(inspector.get_view_names())
    except SQLAlchemyError as exc:
        return [Mismatch("(database)", None, f"cannot connect: {type(exc).__name__}")]
    found: list[Mismatch] = []
    for source in settings.outgoing:
        if source.table not in names:
            found.append(Mismatch(source.table, None, "no such table or view"))
            continue
        table = database.table(source.table)
        wanted = {source.key: "key", **{column: field for field, column in source.columns.items()}}
        found.extend(_columns(table, wanted))
    inbound = settings.inbound
    if inbound is not None:
        if inbound.table not in names:
            found.append(Mismatch(inbound.table, None, "no such table"))
        else:
            table = database.table(inbound.table)
            found.extend(
                _columns(table, {column: field for field, column in inbound.columns.items()})
            )
            key = inbound.columns["event_id"]
            if key in table.c and not _unique(database, table, key):
                found.append(
                    Mismatch(
                        inbound.table,
                        key,
                        "holds the event id but is neither the primary key nor unique, "
                        "so a redelivery could be written twice",
                    )
                )
    return found


def _columns(table: Table, wanted: dict[str, str]) -> list[Mismatch]:
    found = []
    for column, field in sorted(wanted.items()):
        if column not in table.c:
            found.append(Mismatch(table.name, column, f"no such column (mapped to {field})"))
            continue
        problem = _type_problem(field, table.c[column].type)
        if problem:
            found.append(Mismatch(table.name, column, problem))
    return found


def _type_problem(field: str, kind: TypeEngine[object]) -> str | None:
    if field in _MOMENTS:
        if isinstance(kind, DateTime | Date | String):
            return None
        return f"{field} needs a date-time or text column, found {kind}"
    if field in _FLAGS:
        if isinstance(kind, Boolean | Integer | String):
            return None
        return f"{field} needs a boolean, integer or text column, found {kind}"
    if field == "key":
        if isinstance(kind, Integer | String | Numeric):
            return None
        return f"the row key needs an integer or text column, found {kind}"
    if isinstance(kind, String | Integer | Numeric):
        return None
    return f"{field} needs a text column, found {kind}"


def _unique(database: AgencyDatabase, table: Table, column: str) -> bool:
    if [c.name for c in table.primary_key.columns] == [column]:
        return True
    inspector = inspect(database.engine)
    for constraint in inspector.get_unique_constraints(table.name):
        if constraint["column_names"] == [column]:
            return True
    return any(
        index.get("unique") and index["column_names"] == [column]
        for index in inspector.get_indexes(table.name)
    )
