"""Consent: who may receive what, and the redaction that enforces it."""

from hub.consent.policy import ConsentRecord, Permit, Recipient, Redaction, permit, redact

__all__ = ["ConsentRecord", "Permit", "Recipient", "Redaction", "permit", "redact"]
