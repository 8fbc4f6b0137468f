"""Kafka records carry an event's data sealed under the survivor's key; consumers open them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.audit import AuditRecorder, erase_subject
from hub.consumers.records import IncomingRecord, OutgoingMessage, outgoing
from hub.consumers.sealing import (
    ERASED,
    SEALED_HEADER,
    keys_live,
    open_records,
    seal_messages,
    seal_unsealed,
    sealed_message,
)
from hub.contracts import CloudEvent, default_registry, from_kafka, new_event
from hub.services.vault import seal
from hub.store import Store

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
TOPIC = "agency.court.inbox"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as opened:
        yield opened


def referral() -> CloudEvent:
    """The example referral: her name is Salma, her injuries are described."""
    return new_event(default_registry().get("referral.requested", 1).example, source="chu")


def received(message: OutgoingMessage) -> IncomingRecord:
    return IncomingRecord(message.topic, 0, 0, message.key, message.value, message.headers)


def sealed(store: Store, event: CloudEvent) -> OutgoingMessage:
    with store.transaction() as conn:
        (message,) = seal_messages(conn, [(TOPIC, event)], NOW)
    assert message is not None
    return message


def test_a_sealed_record_holds_nothing_in_clear_and_opens_to_the_event(store: Store) -> None:
    """Value and headers hold no payload value; opened, the record reads as the event."""
    event = referral()
    message = sealed(store, event)

    text = message.value + b"".join(value for _, value in message.headers)
    assert b"Salma" not in text
    assert b"Contusions" not in text
    assert (SEALED_HEADER, b"aesgcm") in message.headers
    assert message.key == event.subject.encode()
    with store.transaction() as conn:
        (opened,) = open_records(conn, [received(message)])
    assert opened.value is not None
    assert from_kafka(message.key, opened.value, message.headers) == event


def test_once_she_is_erased_her_records_do_not_open_and_none_is_sealed(store: Store) -> None:
    """After erasure a record of hers opens to nothing, 'subject erased', and none is made."""
    event = referral()
    message = sealed(store, event)
    with store.transaction() as conn:
        erase_subject(
            conn, AuditRecorder(signer=None, actor="hub"), event.data["subject_id"], "op", NOW
        )

    with store.transaction() as conn:
        (opened,) = open_records(conn, [received(message)])
        assert seal_messages(conn, [(TOPIC, event)], NOW) == [None]
    assert opened.value is None
    assert opened.refusal == ERASED


def test_an_altered_sealed_record_is_unreadable_not_an_error(store: Store) -> None:
    """A sealed value that was tampered with, or is not an envelope, is refused with a reason."""
    message = sealed(store, referral())
    envelope = json.loads(message.value)
    envelope["ciphertext"] = envelope["ciphertext"][::-1]
    altered = received(message)
    altered = IncomingRecord(
        altered.topic, 0, 1, altered.key, json.dumps(envelope).encode(), altered.headers
    )
    garbage = IncomingRecord(TOPIC, 0, 2, b"k", b"\x00not json", ((SEALED_HEADER, b"aesgcm"),))

    with store.transaction() as conn:
        opened = open_records(conn, [altered, garbage])

    assert [o.value for o in opened] == [None, None]
    assert all((o.refusal or "").startswith("unreadable") for o in opened)


def test_a_record_published_before_sealing_is_read_as_it_is(store: Store) -> None:
    """A record without the seal header passes through unchanged."""
    plain = received(outgoing(TOPIC, referral()))
    with store.transaction() as conn:
        (opened,) = open_records(conn, [plain])
    assert opened.value == plain.value
    assert opened.refusal is None


def test_a_stored_event_is_published_sealed_and_skipped_once_erased(store: Store) -> None:
    """The relay's path: a stored row goes out sealed as stored; an erased one is not live."""
    event = referral()
    with store.transaction() as conn:
        envelope = seal(conn, event, NOW)
        again = seal_unsealed(conn, event.subject, event.structured(), NOW)
        assert again is not None
        assert keys_live(conn, [envelope, again]) == [True, True]
        erase_subject(
            conn, AuditRecorder(signer=None, actor="hub"), event.data["subject_id"], "op", NOW
        )
        assert keys_live(conn, [envelope]) == [False]
    message = sealed_message(TOPIC, event.subject, envelope)
    assert b"Salma" not in message.value
    assert json.loads(message.value) == envelope["data"]
