"""Reading what the hub published, as a consumer with the store's keys does."""

from __future__ import annotations

from hub.consumers.records import IncomingRecord, OutgoingMessage
from hub.consumers.sealing import open_records
from hub.store import Store


def in_clear(store: Store, message: OutgoingMessage) -> bytes:
    """A published record's value with its data opened by the subject's key."""
    record = IncomingRecord(message.topic, 0, 0, message.key, message.value, message.headers)
    with store.transaction() as conn:
        (opened,) = open_records(conn, [record])
    assert opened.value is not None, opened.refusal
    return opened.value
