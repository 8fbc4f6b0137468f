"""The outbox relay's record for each stored event."""

from __future__ import annotations

from datetime import UTC, datetime

from hub.contracts import from_kafka, new_event
from hub.contracts.examples import EXAMPLES
from hub.runtime.relay import _message
from hub.store.outbox import OutboxRow


def test_an_event_stored_with_a_foreign_extension_is_published_without_it() -> None:
    """An event accepted before foreign extensions were refused goes on without them."""
    event = new_event(EXAMPLES[("referral.requested", 1)], source="chu-ibn-rochd")
    envelope = event.structured() | {"survivorname": "Salma Bennani"}
    row = OutboxRow(
        1, event.source, event.id, "hub.ingress", event.subject, envelope, datetime.now(UTC), None
    )

    message = _message(row, envelope)

    assert all(b"Salma" not in value for _, value in message.headers)
    assert from_kafka(message.key, message.value, message.headers) == event
