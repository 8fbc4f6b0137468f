"""Stable identifiers of the versioned contracts."""

from __future__ import annotations

import re

__all__ = ["SCHEMA_BASE", "dataschema_uri", "parse_dataschema"]

SCHEMA_BASE = "https://referral-hub.org/contracts/schemas"

_DATASCHEMA = re.compile(
    re.escape(SCHEMA_BASE) + r"/(?P<type>[a-z][a-z.-]*)/v(?P<version>[0-9]+)\.json"
)


def dataschema_uri(event_type: str, version: int) -> str:
    """The ``dataschema`` of an event, also the ``$id`` of its JSON Schema."""
    return f"{SCHEMA_BASE}/{event_type}/v{version}.json"


def parse_dataschema(uri: str) -> tuple[str, int] | None:
    """(type, version) named by a hub ``dataschema`` URI, or None for a foreign URI."""
    match = _DATASCHEMA.fullmatch(uri)
    if match is None:
        return None
    return match["type"], int(match["version"])
