"""Stored payloads, sealed under the survivor's own key.

Every event the store keeps (outbox, pull inboxes, dead letters) has its
``data`` encrypted with a key per subject, while the envelope's routing
attributes stay readable; so has every record the hub publishes to Kafka
(:mod:`hub.consumers.sealing`). ``hub erase`` destroys the key: every payload of
hers becomes unreadable at once, and the audit log, which never held payloads,
still verifies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hub.audit.erasure import (
    ENVELOPE_ENC,
    SubjectErased,
    decrypt_payload,
    encrypt_payloads,
)
from hub.contracts import CloudEvent
from hub.store import consents, referral_subjects

__all__ = [
    "is_sealed",
    "seal",
    "seal_many",
    "seal_unless_erased",
    "subject_for",
    "subjects_for",
    "unseal",
]


def subject_for(conn: Connection, event: CloudEvent) -> str:
    """Whose data an event carries: named in it, or known from its referral or consent."""
    return subjects_for(conn, [event])[0]


def subjects_for(conn: Connection, events: Sequence[CloudEvent]) -> list[str]:
    """:func:`subject_for` of each event, with the referrals' subjects read once."""
    named: list[str | None] = []
    for event in events:
        subject = event.data.get("subject_id")
        if not isinstance(subject, str) and event.type.startswith("consent."):
            consent = consents.get_consent(conn, event.subject)
            subject = consent.subject_id if consent is not None else None
        named.append(subject if isinstance(subject, str) else None)
    pairs = list(zip(events, named, strict=True))
    unnamed = [event.subject for event, subject in pairs if subject is None]
    linked = referral_subjects.subjects_of(conn, unnamed) if unnamed else {}
    # A referral the hub never accepted: its events are refused downstream, and
    # until then they are sealed under a key of their own.
    return [
        subject if subject is not None else linked.get(event.subject, f"unlinked:{event.subject}")
        for event, subject in pairs
    ]


def seal(conn: Connection, event: CloudEvent, at: datetime) -> dict[str, Any]:
    """The event's structured form with ``data`` encrypted; raises SubjectErased once erased."""
    envelope = seal_unless_erased(conn, event, at)
    if envelope is None:
        raise SubjectErased(subject_for(conn, event))
    return envelope


def seal_unless_erased(conn: Connection, event: CloudEvent, at: datetime) -> dict[str, Any] | None:
    """As :func:`seal`, but None once she is erased: nothing more about her is stored."""
    return seal_many(conn, [event], at)[0]


def seal_many(
    conn: Connection, events: Sequence[CloudEvent], at: datetime
) -> list[dict[str, Any] | None]:
    """:func:`seal_unless_erased` of each event, with subjects and keys read once for all."""
    envelopes = [event.structured() for event in events]
    subjects = subjects_for(conn, events)
    sealed = encrypt_payloads(
        conn,
        [
            (subject, envelope["data"])
            for subject, envelope in zip(subjects, envelopes, strict=True)
        ],
        at=at,
    )
    return [
        {**envelope, "data": data} if data is not None else None
        for envelope, data in zip(envelopes, sealed, strict=True)
    ]


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
