"""Column types shared by the schema and the migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.types import DateTime, TypeDecorator

__all__ = ["EventKey", "UTCDateTime"]

#: ``(source, id)``: what names an event. CloudEvents ids are unique per source
#: only, so two agencies may use the same id for events of their own.
EventKey = tuple[str, str]


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in and comes out as a timezone-aware UTC ``datetime``.

    PostgreSQL stores ``timestamptz`` and hands values back in the session's time
    zone; SQLite has no time zone support at all and returns naive values. Both
    are normalised here so callers never see a naive or non-UTC timestamp.
    Naive input is rejected rather than guessed at: a naive value is a bug in the
    caller, and silently assuming UTC would hide it.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; timestamps must be aware")
        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite's DATETIME is a fixed-width text format; with every value in
            # UTC the text sorts chronologically, so range queries stay correct.
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
