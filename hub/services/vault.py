"""Stored payloads, sealed under the survivor's own key.

Every event the store keeps (outbox, pull inboxes, dead letters) has its
``data`` encrypted with a key per subject, while the envelope's routing
attributes stay readable. ``hub erase`` destroys the key: every payload of
hers becomes unreadable at once, and the audit log, which never held payloads,
still verifies.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hub.audit.erasure import (
    ENVELOPE_ENC,
    SubjectErased,
    decrypt_payload,
    encrypt_payload,
)
from hub.contracts import CloudEvent
from hub.store import consents, referral_subjects

__all__ = ["is_sealed", "seal", "seal_unless_erased", "subject_for", "unseal"]


def subject_for(conn: Connection, event: CloudEvent) -> str:
    """Whose data an event carries: named in it, or known from its referral or consent."""
    named = event.data.get("subject_id")
    if isinstance(named, str):
        return named
    if event.type.startswith("consent."):
        consent = consents.get_consent(conn, event.subject)
        if consent is not None:
            return consent.subject_id
    found = referral_subjects.subject_of(conn, event.subject)
    # A referral the hub never accepted: its events are refused downstream, and
    # until then they are sealed under a key of their own.
    return found if found is not None else f"unlinked:{event.subject}"


def seal(conn: Connection, event: CloudEvent, at: datetime) -> dict[str, Any]:
    """The event's structured form with ``data`` encrypted; raises SubjectErased once erased."""
    envelope = event.structured()
    envelope["data"] = encrypt_payload(conn, subject_for(conn, event), envelope["data"], at=at)
    return envelope


def seal_unless_erased(conn: Connection, event: CloudEvent, at: datetime) -> dict[str, Any] | None:
    """As :func:`seal`, but None once she is erased: nothing more about her is stored."""
    try:
        return seal(conn, event, at)
    except SubjectErased:
        return None


def is_sealed(envelope: Mapping[str, Any]) -> bool:
    data = envelope.get("data")
    return isinstance(data, dict) and data.get("enc") == ENVELOPE_ENC


def unseal(conn: Connection, envelope: Mapping[str, Any]) -> dict[str, Any] | None:
    """The stored event readable again; None once its subject has been erased."""
    if not is_sealed(envelope):
        return dict(envelope)
    data = decrypt_payload(conn, envelope["data"])
    if data is None:
        return None
    return {**envelope, "data": data}
