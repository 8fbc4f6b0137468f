"""FHIR dates and date-times to and from the contracts' timezone-aware instants.

FHIR allows partial dates (``2026``, ``2026-03``) and dates without a time;
the contracts need an instant with a timezone. A due date given as a day is
due by the end of that day (UTC, the sender named no zone); anything coarser,
or a time without a zone, is refused rather than guessed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

from hub.adapters.fhir._nodes import Node

__all__ = ["format_date", "format_instant", "instant", "optional_instant", "until"]

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HAS_ZONE = re.compile(r"(Z|[+-]\d{2}:\d{2})$")


def optional_instant(text: str | None) -> datetime | None:
    """A full date-time with a zone, else None (for optional timestamps like meta)."""
    if not text or not _HAS_ZONE.search(text) or "T" not in text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def instant(node: Node, key: str) -> datetime | None:
    """A date-time element as an instant; a bare day is its start (UTC)."""
    text = node.text(key)
    if text is None:
        return None
    if _DAY.fullmatch(text):
        return datetime.combine(date.fromisoformat(text), time.min, UTC)
    found = optional_instant(text)
    if found is None:
        raise node.fail("needs a date-time with a timezone, or a full date", key)
    return found


def until(node: Node, key: str) -> datetime | None:
    """An end-of-period element: a bare day runs to its last second (UTC)."""
    text = node.text(key)
    if text is not None and _DAY.fullmatch(text):
        return datetime.combine(date.fromisoformat(text), time(23, 59, 59), UTC)
    return instant(node, key)


def format_instant(value: datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def format_date(value: date) -> str:
    return value.isoformat()
