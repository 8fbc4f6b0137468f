"""The journal of published copies: what the hub sends an agency is recorded first.

Every copy the hub publishes to an agency's inbox topic is kept, sealed, in the
outbox in the same transaction that records its effects, marked as published
by the consumer that publishes it right after the commit. A publish that fails
hands the copy back to the relay (:func:`hand_to_relay`); a crash before it
is covered by the recovery at start, which publishes again every journalled
copy whose delivery is not recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from hub.broker.topics import inbox_topic
from hub.consumers.records import OutgoingMessage
from hub.consumers.sealing import sealed_message
from hub.contracts import CloudEvent
from hub.services.vault import seal_unless_erased
from hub.store import outbox

__all__ = ["JOURNAL_SEPARATOR", "hand_to_relay", "journal_copy", "journal_id"]

#: Separates the event id from its recipient in a journalled copy's outbox id.
JOURNAL_SEPARATOR = ">"


def journal_id(event_id: str, recipient: str) -> str:
    """The outbox id under which one recipient's copy of an event is journalled."""
    return f"{event_id}{JOURNAL_SEPARATOR}{recipient}"


def journal_copy(
    conn: Connection, recipient: str, event: CloudEvent, now: datetime
) -> OutgoingMessage | None:
    """Keep the copy for ``recipient``; its sealed record, or None (nothing kept) once erased."""
    envelope = seal_unless_erased(conn, event, now)
    if envelope is None:
        return None
    outbox.add(
        conn,
        source=event.source,
        event_id=journal_id(event.id, recipient),
        topic=inbox_topic(recipient),
        key=event.subject,
        envelope=envelope,
        at=now,
        published_at=now,
    )
    return sealed_message(inbox_topic(recipient), event.subject, envelope)


def hand_to_relay(conn: Connection, copies: Sequence[tuple[str, str, str]]) -> None:
    """Queue journalled ``(source, event id, recipient)`` copies again: their publish failed."""
    keys = [(source, journal_id(event_id, recipient)) for source, event_id, recipient in copies]
    rows = outbox.get_many(conn, keys)
    outbox.unpublish(conn, [row.seq for row in rows.values()])
