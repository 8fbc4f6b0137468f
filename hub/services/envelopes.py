"""Reading ids from an event, or from a stored envelope without trusting it further."""

from __future__ import annotations

import re
from collections.abc import Mapping

from hub.contracts import CloudEvent
from hub.store import EventKey

__all__ = ["consent_of_envelope", "event_key", "namespace_of", "referral_of_envelope"]

#: ``<agency id>:``, the start of an id in that agency's namespace.
_NAMESPACE = re.compile(r"^([a-z0-9][a-z0-9-]{1,62}):")


def event_key(event: CloudEvent) -> EventKey:
    """What names the event in the store: its id is unique only within its source."""
    return (event.source, event.id)


def namespace_of(identifier: str) -> str | None:
    """The agency whose namespace ``identifier`` is in (``<agency>:<local>``), if any."""
    found = _NAMESPACE.match(identifier)
    return found.group(1) if found is not None else None


def referral_of_envelope(envelope: Mapping[str, object]) -> str | None:
    """The referral a stored event is about (consent events have none)."""
    if str(envelope.get("type", "")).startswith("consent."):
        return None
    return _text(envelope.get("subject"))


def consent_of_envelope(envelope: Mapping[str, object]) -> str | None:
    return _text(envelope.get("consentid"))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
