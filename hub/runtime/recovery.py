"""Recovery after a restart: what was recorded but may not have been published.

The embedded broker starts empty; with Apache Kafka a restarted hub finds its
topics where it left them, but a copy journalled just before a crash may never
have been published (consumers publish only after their commit). So the
store, the durable record, says what was in flight: every message the hub
published (accepted events to ``hub.ingress``, each recipient's copy to its
inbox topic) is kept in the outbox, and each one whose effect is not recorded
yet is queued again.
Republishing is safe: the router and the inboxes de-duplicate on event ids.
"""

from __future__ import annotations

from sqlalchemy import Connection

from hub.broker.topics import INGRESS
from hub.consumers.journal import JOURNAL_SEPARATOR
from hub.consumers.router import ROUTER_CONSUMER
from hub.store import OutboxRow, Store, inbox, outbox, processed
from hub.store import dead_letters as dead_letter_store

__all__ = ["requeue_unconsumed"]

_INBOX_PREFIX, _INBOX_SUFFIX = "agency.", ".inbox"


def requeue_unconsumed(store: Store, page: int = 1000) -> int:
    """Queue again every published message whose effect is not recorded; returns how many."""
    requeued = 0
    after = 0
    while True:
        with store.transaction() as conn:
            rows = outbox.published(conn, after_seq=after, limit=page)
            if not rows:
                return requeued
            lost = [row.seq for row in rows if not _consumed(conn, row)]
            outbox.unpublish(conn, lost)
        requeued += len(lost)
        after = rows[-1].seq


def _consumed(conn: Connection, row: OutboxRow) -> bool:
    topic, message_id = row.topic, row.event_id
    if topic == INGRESS:
        return processed.is_processed(conn, ROUTER_CONSUMER, (row.source, message_id))
    if topic.startswith(_INBOX_PREFIX) and topic.endswith(_INBOX_SUFFIX):
        agency_id = topic[len(_INBOX_PREFIX) : -len(_INBOX_SUFFIX)]
        event_id = message_id.split(JOURNAL_SEPARATOR)[0]
        if message_id.startswith("replay-"):
            event_id = message_id.split("-", 2)[2]
        return (
            inbox.get(conn, agency_id, (row.source, event_id)) is not None
            or processed.is_processed(conn, f"delivery:{agency_id}", (row.source, event_id))
            or dead_letter_store.exists_for(conn, agency_id, event_id)
        )
    return True
