"""The journal of published copies, for a broker that keeps nothing on disk.

On the embedded broker every copy the hub publishes to an agency's inbox topic
is also kept, sealed, in the outbox as already published; after a restart the
recovery publishes again those whose delivery is not recorded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from hub.broker.topics import inbox_topic
from hub.contracts import CloudEvent
from hub.services.vault import seal_unless_erased
from hub.store import outbox

__all__ = ["JOURNAL_SEPARATOR", "journal_copy", "journal_id"]

#: Separates the event id from its recipient in a journalled copy's outbox id.
JOURNAL_SEPARATOR = ">"


def journal_id(event_id: str, recipient: str) -> str:
    """The outbox id under which one recipient's copy of an event is journalled."""
    return f"{event_id}{JOURNAL_SEPARATOR}{recipient}"


def journal_copy(conn: Connection, recipient: str, event: CloudEvent, now: datetime) -> None:
    """Keep the copy for ``recipient``; nothing is kept about an erased subject."""
    envelope = seal_unless_erased(conn, event, now)
    if envelope is None:
        return
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
