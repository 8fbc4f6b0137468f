"""Consent: who may receive what, and the redaction that enforces it."""

from hub.consent.policy import (
    ConsentRecord,
    Permit,
    Recipient,
    Redaction,
    allows_statistics,
    may_refer_under,
    permit,
    redact,
)

__all__ = [
    "ConsentRecord",
    "Permit",
    "Recipient",
    "Redaction",
    "allows_statistics",
    "may_refer_under",
    "permit",
    "redact",
]
