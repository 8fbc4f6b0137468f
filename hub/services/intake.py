"""Accepting an event: validate, authorise, and commit it to the outbox.

"Accepted" means durable: the caller answers 202 only after this returns. The
same event id accepted twice is one event; the same id with other content is a
conflict. Consent events also update the consent registry in the same
transaction, so a referral accepted a moment later already finds its consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from hub.audit import AuditAction, AuditRecorder
from hub.broker.topics import INGRESS
from hub.contracts import MAX_EVENT_BYTES, CloudEvent, ContractRegistry, to_kafka
from hub.contracts.events import (
    ConsentGrantedV1,
    ConsentWithdrawnV1,
    DeliveryFailedV1,
    EventPayload,
    ReferralRequestedV1,
    ReferralRequestedV2,
)
from hub.errors import (
    AccessDenied,
    Conflict,
    HubError,
    InvalidEnvelope,
    InvalidPayload,
    UnknownEventType,
    UnknownVersion,
)
from hub.services.vault import seal, unseal
from hub.store import Store, consents, outbox, referral_subjects
from hub.store.consents import ConsentRow

__all__ = [
    "Acceptance",
    "accept_event",
    "accept_in",
    "record_refusal",
    "refusal_code",
    "vet",
]

_HUB_ONLY_EXTENSION = "overrideid"

#: The largest Kafka record (key, value and headers) accepted. Below the
#: producer's and the broker's 1 MiB limit by a margin for what the hub adds on
#: the way (consent and override headers, an up-cast, a dead-letter reason): an
#: event the relay could not publish would hold back every event after it.
MAX_RECORD_BYTES = MAX_EVENT_BYTES - 4096


@dataclass(frozen=True)
class Acceptance:
    event_id: str
    event_type: str
    version: int
    created: bool


def accept_event(
    store: Store,
    registry: ContractRegistry,
    event: CloudEvent,
    *,
    sender: str,
    now: datetime,
    audit: AuditRecorder | None = None,
) -> Acceptance:
    """Commit ``event`` from ``sender`` to the outbox, or raise why it cannot be.

    With ``audit``, the acceptance is recorded in the same transaction.
    """
    payload = vet(registry, event, sender)
    with store.transaction() as conn:
        return accept_in(conn, event, payload, sender=sender, now=now, audit=audit)


def vet(registry: ContractRegistry, event: CloudEvent, sender: str) -> EventPayload:
    """The checks that need no store: contract, sender, hub-only content, size."""
    payload = registry.parse(event)
    if event.source != sender:
        raise AccessDenied(f"an agency may only send events whose source is itself ({sender})")
    if isinstance(payload, DeliveryFailedV1):
        raise AccessDenied("delivery.failed events are issued by the hub only")
    if _HUB_ONLY_EXTENSION in event.extensions:
        # It marks a compelled disclosure, which withdrawal cannot stop: the hub
        # sets it on its own copies, an agency may not claim it.
        raise AccessDenied(f"the {_HUB_ONLY_EXTENSION} extension is set by the hub only")
    _check_record_size(event)
    return payload


def accept_in(
    conn: Connection,
    event: CloudEvent,
    payload: EventPayload,
    *,
    sender: str,
    now: datetime,
    audit: AuditRecorder | None,
) -> Acceptance:
    """Accept a vetted event inside the caller's transaction."""
    existing = outbox.get(conn, event.id)
    if existing is not None:
        if unseal(conn, existing.envelope) != event.structured():
            raise Conflict(f"event {event.id} was already accepted with other content")
        return Acceptance(event.id, event.type, event.version, created=False)
    if isinstance(payload, ConsentGrantedV1):
        _record_grant(conn, payload, event, sender, now)
    elif isinstance(payload, ConsentWithdrawnV1):
        _record_withdrawal(conn, payload, event, sender, now)
    if isinstance(payload, ReferralRequestedV1 | ReferralRequestedV2):
        referral_subjects.link(conn, payload.referral_id, payload.subject_id, now)
    added = outbox.add(
        conn,
        event_id=event.id,
        topic=INGRESS,
        key=event.subject,
        envelope=seal(conn, event, now),
        at=now,
    )
    if not added:
        # A concurrent request with this id committed first (PostgreSQL does
        # not serialise the read above): answer as for a retry, or refuse.
        existing = outbox.get(conn, event.id)
        if existing is None or unseal(conn, existing.envelope) != event.structured():
            raise Conflict(f"event {event.id} was already accepted with other content")
        return Acceptance(event.id, event.type, event.version, created=False)
    if audit is not None:
        _record_acceptance(audit, conn, event, payload, sender, now)
    return Acceptance(event.id, event.type, event.version, created=True)


def _record_acceptance(
    audit: AuditRecorder,
    conn: Connection,
    event: CloudEvent,
    payload: EventPayload,
    sender: str,
    now: datetime,
) -> None:
    if isinstance(payload, ConsentGrantedV1 | ConsentWithdrawnV1):
        action = (
            AuditAction.CONSENT_GRANTED
            if isinstance(payload, ConsentGrantedV1)
            else AuditAction.CONSENT_WITHDRAWN
        )
        audit.record(
            conn,
            action=action,
            actor=sender,
            at=now,
            event_id=event.id,
            consent_id=payload.consent_id,
            details={"event_type": event.type},
        )
        return
    audit.record(
        conn,
        action=AuditAction.ACCEPTED,
        actor=sender,
        at=now,
        event_id=event.id,
        referral_id=event.subject,
        consent_id=event.consentid or getattr(payload, "consent_id", None),
        details={"event_type": event.type, "version": event.version},
    )


def _check_record_size(event: CloudEvent) -> None:
    record = to_kafka(event)
    size = len(record.key) + len(record.value) + sum(len(k) + len(v) for k, v in record.headers)
    if size > MAX_RECORD_BYTES:
        reason = f"the event is {size} bytes on the broker; the limit is {MAX_RECORD_BYTES}"
        raise InvalidEnvelope([("(root)", reason)])


def _record_grant(
    conn: Connection, payload: ConsentGrantedV1, event: CloudEvent, sender: str, now: datetime
) -> None:
    if payload.recorded_by != sender:
        raise AccessDenied("a consent is recorded only by the agency that records it")
    current = consents.get_consent(conn, payload.consent_id)
    if current is not None and (
        current.subject_id != payload.subject_id or current.recorded_by != payload.recorded_by
    ):
        raise Conflict(f"consent {payload.consent_id} belongs to another subject or agency")
    scope = [entry.model_dump(mode="json", exclude_none=True) for entry in payload.scope]
    consents.record_consent(
        conn,
        ConsentRow(
            consent_id=payload.consent_id,
            subject_id=payload.subject_id,
            recorded_by=payload.recorded_by,
            granted_by=payload.granted_by.value,
            status="active",
            scope=scope,
            valid_from=payload.valid_from,
            valid_until=payload.valid_until,
            updated_at=now,
            last_event_id=event.id,
        ),
        event_id=event.id,
        at=now,
    )


def _record_withdrawal(
    conn: Connection, payload: ConsentWithdrawnV1, event: CloudEvent, sender: str, now: datetime
) -> None:
    current = consents.get_consent(conn, payload.consent_id)
    if current is None:
        raise InvalidPayload([("data.consent_id", f"no consent {payload.consent_id} is on record")])
    if current.recorded_by != sender:
        raise AccessDenied("a consent is withdrawn only through the agency that recorded it")
    if current.subject_id != payload.subject_id:
        raise InvalidPayload([("data.subject_id", "differs from the consent's subject")])
    consents.record_consent(
        conn,
        ConsentRow(
            consent_id=current.consent_id,
            subject_id=current.subject_id,
            recorded_by=current.recorded_by,
            granted_by=current.granted_by,
            status="withdrawn",
            scope=current.scope,
            valid_from=current.valid_from,
            valid_until=current.valid_until,
            updated_at=now,
            last_event_id=event.id,
        ),
        event_id=event.id,
        at=now,
    )


def refusal_code(exc: HubError) -> str:
    """A short code for why an event was refused, fit for metrics and the audit log."""
    match exc:
        case UnknownEventType() | UnknownVersion():
            return "unknown-type-or-version"
        case InvalidPayload():
            return "invalid"
        case AccessDenied():
            return "forbidden"
        case Conflict():
            return "conflict"
        case _:
            return "refused"


def record_refusal(
    store: Store,
    audit: AuditRecorder,
    exc: HubError,
    *,
    event: CloudEvent | None,
    sender: str,
    now: datetime,
) -> None:
    """Record a refused submission in the hub's own chain.

    The refused content is not trusted, so it names no referral: only the
    sender, the event id and type when they could be read, and the reason code.
    """
    details: dict[str, object] = {"reason": refusal_code(exc)}
    if event is not None:
        details["event_type"] = event.type[:200]
    with store.transaction() as conn:
        audit.record(
            conn,
            action=AuditAction.REFUSED,
            actor=sender,
            at=now,
            event_id=event.id if event is not None else None,
            details=details,
        )
