"""Upgrading a store whose events were keyed by id alone to keys of (source, id)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import JSON, Engine, column, select, table

from hub.store import Store, create_store_engine, migrate, outbox, processed
from hub.store._types import UTCDateTime
from hub.store.schema import disclosures, inbox, processed_events
from hub.store.schema import outbox as outbox_table

AT = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
ENVELOPE = {"id": "e1", "source": "chu-a", "type": "referral.requested", "data": {}}


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    created = create_store_engine(store_url)
    yield created
    created.dispose()


def _migrate_to_before_source_keys(engine: Engine) -> None:
    # Revision 0006 keys events by their source.
    migrate(engine, target="0005")


def _old_rows(engine: Engine) -> None:
    """Rows as the store held them when an event was its id alone."""
    old_outbox = table(
        "outbox",
        column("event_id"),
        column("topic"),
        column("key"),
        column("envelope", JSON),
        column("created_at", UTCDateTime),
        column("published_at", UTCDateTime),
    )
    old_inbox = table(
        "inbox",
        column("agency_id"),
        column("event_id"),
        column("envelope", JSON),
        column("delivered_at", UTCDateTime),
    )
    old_processed = table(
        "processed_events",
        column("consumer"),
        column("event_id"),
        column("processed_at", UTCDateTime),
    )
    old_disclosures = table(
        "disclosures",
        column("event_id"),
        column("recipient"),
        column("referral_id"),
        column("consent_id"),
        column("disclosed", JSON),
        column("withheld", JSON),
        column("at", UTCDateTime),
    )
    with engine.begin() as conn:
        for event_id, topic in (("e1", "hub.ingress"), ("e1>court", "agency.court.inbox")):
            conn.execute(
                old_outbox.insert().values(
                    event_id=event_id,
                    topic=topic,
                    key="r1",
                    envelope=ENVELOPE,
                    created_at=AT,
                    published_at=AT,
                )
            )
        conn.execute(
            old_inbox.insert().values(
                agency_id="court", event_id="e1", envelope=ENVELOPE, delivered_at=AT
            )
        )
        for consumer, event_id in (("router", "e1"), ("delivery:court", "e1"), ("x", "notice")):
            conn.execute(
                old_processed.insert().values(consumer=consumer, event_id=event_id, processed_at=AT)
            )
        conn.execute(
            old_disclosures.insert().values(
                event_id="e1",
                recipient="court",
                referral_id="r1",
                consent_id="c1",
                disclosed=["contact"],
                withheld=[],
                at=AT,
            )
        )


def test_upgrade_gives_every_stored_event_its_source(engine: Engine, store_url: str) -> None:
    """Events stored before keep being recognised, now under their source; others may reuse ids."""
    _migrate_to_before_source_keys(engine)
    _old_rows(engine)

    migrate(engine)

    with engine.connect() as conn:
        sources = {
            name: sorted(conn.execute(select(t.c.event_id, t.c.source)).all())
            for name, t in (
                ("outbox", outbox_table),
                ("inbox", inbox),
                ("processed", processed_events),
                ("disclosures", disclosures),
            )
        }
    assert sources == {
        "outbox": [("e1", "chu-a"), ("e1>court", "chu-a")],
        "inbox": [("e1", "chu-a")],
        "processed": [("e1", "chu-a"), ("e1", "chu-a"), ("notice", "")],
        "disclosures": [("e1", "chu-a")],
    }
    with Store.open(store_url) as store, store.transaction() as conn:
        assert processed.is_processed(conn, "router", ("chu-a", "e1"))
        assert not processed.is_processed(conn, "router", ("chu-b", "e1"))
        common = {"event_id": "e1", "topic": "hub.ingress", "key": "r1", "at": AT}
        assert not outbox.add(conn, source="chu-a", envelope=ENVELOPE, **common)
        assert outbox.add(conn, source="chu-b", envelope={**ENVELOPE, "source": "chu-b"}, **common)
        added = outbox.add(
            conn, source="chu-b", event_id="e2", topic="t", key="k", envelope={}, at=AT
        )
        assert added
        # The sequence carries on past the rows copied over.
        assert [row.event_id for row in outbox.pending(conn, 10)] == ["e1", "e2"]
