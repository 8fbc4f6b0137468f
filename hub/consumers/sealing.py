"""Kafka records sealed under the survivor's key, as the store's rows are.

Every record the hub publishes for an event (on ``hub.ingress``, an agency's
inbox topic, a dead-letter topic) holds the event's ``data`` sealed with the
subject's key: the record value is the vault's AES-GCM envelope, marked by the
:data:`SEALED_HEADER`. The CloudEvents attributes (ids, type, source, referral
id, consent id) stay in the ``ce_*`` headers, so records are keyed, ordered and
routed as before. ``hub erase`` destroys the key, and with it every copy on
every topic, however long the broker retains it.

Consumers open records here, with the store's keys, before they parse them;
an erased subject's record is not opened at all. A record without the header
(published before records were sealed) is read as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hub.audit.erasure import ENVELOPE_ENC, decrypt_with, encrypt_payloads, sealed_subject
from hub.consumers.records import IncomingRecord, OutgoingMessage
from hub.contracts import CloudEvent, to_kafka
from hub.contracts.envelope import envelope_from_mapping
from hub.errors import ContractError
from hub.services.vault import is_sealed, seal_many
from hub.store import subject_keys

__all__ = [
    "ERASED",
    "SEALED_HEADER",
    "OpenedRecord",
    "keys_live",
    "open_records",
    "seal_messages",
    "seal_unsealed",
    "sealed_message",
]

#: The header that marks a record whose value is a sealed payload.
SEALED_HEADER = "hub_sealed"
#: Why a record of an erased subject is not processed.
ERASED = "subject erased"


@dataclass(frozen=True)
class OpenedRecord:
    """A record as read, and its value in clear, or why it cannot be had."""

    record: IncomingRecord
    value: bytes | None
    refusal: str | None = None


def seal_messages(
    conn: Connection, items: Sequence[tuple[str, CloudEvent]], at: datetime
) -> list[OutgoingMessage | None]:
    """Each ``(topic, event)`` as a sealed record; None for an erased subject's event."""
    envelopes = seal_many(conn, [event for _, event in items], at)
    return [
        sealed_message(topic, event.subject, envelope) if envelope is not None else None
        for (topic, event), envelope in zip(items, envelopes, strict=True)
    ]


def sealed_message(topic: str, key: str, envelope: Mapping[str, Any]) -> OutgoingMessage:
    """A stored structured envelope, its ``data`` sealed, as a record in binary mode."""
    try:
        record = to_kafka(envelope_from_mapping(dict(envelope)))
    except ContractError:
        # Stored events were validated when accepted; one that no longer parses
        # still goes out, attributes and all inside the seal, so that its
        # consumer dead-letters it with the reason.
        value = json.dumps(envelope["data"] if is_sealed(envelope) else envelope).encode()
        return OutgoingMessage(topic, key.encode(), value, ((SEALED_HEADER, _MARK),))
    return OutgoingMessage(
        topic, key.encode(), record.value, (*record.headers, (SEALED_HEADER, _MARK))
    )


def seal_unsealed(
    conn: Connection, key: str, envelope: Mapping[str, Any], at: datetime
) -> dict[str, Any] | None:
    """A stored envelope with ``data`` sealed, whatever it held; None once erased."""
    if is_sealed(envelope):
        return dict(envelope)
    try:
        event = envelope_from_mapping(dict(envelope))
    except ContractError:
        (sealed,) = encrypt_payloads(conn, [(f"unlinked:{key}", envelope)], at=at)
        return {"data": sealed} if sealed is not None else None
    (sealed_envelope,) = seal_many(conn, [event], at)
    return sealed_envelope


def keys_live(conn: Connection, envelopes: Sequence[Mapping[str, Any]]) -> list[bool]:
    """Whether each sealed envelope's subject still has her key."""
    subjects = [str(envelope["data"]["subject"]) for envelope in envelopes]
    keys = subject_keys.get_keys(conn, subjects)
    return [keys.get(subject) is not None for subject in subjects]


def open_records(conn: Connection, records: Sequence[IncomingRecord]) -> list[OpenedRecord]:
    """Each record's value in clear, with the subjects' keys read once for all."""
    sealed: dict[int, Mapping[str, Any]] = {}
    opened: list[OpenedRecord | None] = []
    for index, record in enumerate(records):
        if not _is_marked(record):
            opened.append(OpenedRecord(record, record.value))
            continue
        try:
            envelope = json.loads(record.value or b"")
            if not isinstance(envelope, dict):
                raise ValueError("the sealed value is not a JSON object")
            sealed_subject(envelope)
        except (ValueError, RecursionError) as exc:
            opened.append(OpenedRecord(record, None, f"unreadable: {_reason(exc)}"))
            continue
        sealed[index] = envelope
        opened.append(None)
    keys = subject_keys.get_keys(conn, [sealed_subject(e) for e in sealed.values()])
    for index, envelope in sealed.items():
        record = records[index]
        key = keys.get(sealed_subject(envelope))
        if key is None:
            opened[index] = OpenedRecord(record, None, ERASED)
            continue
        try:
            opened[index] = OpenedRecord(record, decrypt_with(key, envelope))
        except ValueError as exc:
            opened[index] = OpenedRecord(record, None, f"unreadable: {_reason(exc)}")
    return [item for item in opened if item is not None]


_MARK = ENVELOPE_ENC.encode()


def _is_marked(record: IncomingRecord) -> bool:
    return any(name == SEALED_HEADER for name, _ in record.headers)


def _reason(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc).splitlines()[0][:200]
