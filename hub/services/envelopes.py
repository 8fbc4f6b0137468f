"""Reading ids from a stored envelope without trusting it further."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["consent_of_envelope", "referral_of_envelope"]


def referral_of_envelope(envelope: Mapping[str, object]) -> str | None:
    """The referral a stored event is about (consent events have none)."""
    if str(envelope.get("type", "")).startswith("consent."):
        return None
    return _text(envelope.get("subject"))


def consent_of_envelope(envelope: Mapping[str, object]) -> str | None:
    return _text(envelope.get("consentid"))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
