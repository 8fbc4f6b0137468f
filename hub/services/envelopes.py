"""Reading ids from an event, or from a stored envelope without trusting it further."""

from __future__ import annotations

from collections.abc import Mapping

from hub.contracts import CloudEvent
from hub.store import EventKey

__all__ = ["consent_of_envelope", "event_key", "referral_of_envelope"]


def event_key(event: CloudEvent) -> EventKey:
    """What names the event in the store: its id is unique only within its source."""
    return (event.source, event.id)


def referral_of_envelope(envelope: Mapping[str, object]) -> str | None:
    """The referral a stored event is about (consent events have none)."""
    if str(envelope.get("type", "")).startswith("consent."):
        return None
    return _text(envelope.get("subject"))


def consent_of_envelope(envelope: Mapping[str, object]) -> str | None:
    return _text(envelope.get("consentid"))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
