"""Several outbox relays on one PostgreSQL store, racing over the same rows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from hub.consumers.records import OutgoingMessage
from hub.contracts import new_event
from hub.contracts.examples import EXAMPLES
from hub.observability import HubMetrics
from hub.runtime.relay import OutboxRelay
from hub.store import Store, outbox

pytestmark = pytest.mark.postgres

_KEYS = 7


class _Recorder:
    """A broker stand-in that takes its time, so two relays overlap."""

    def __init__(self, log: list[tuple[str, str]]) -> None:
        self._log = log

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        await asyncio.sleep(0.01)
        self._log.extend(
            (message.key.decode(), dict(message.headers)["ce_id"].decode()) for message in messages
        )


@pytest.fixture
def store(postgres_schema_url: str) -> Iterator[Store]:
    opened = Store.open(postgres_schema_url)
    try:
        yield opened
    finally:
        opened.close()


def _queue(store: Store, count: int, at: datetime) -> list[str]:
    """``count`` accepted events spread over a few keys; their ids in the order accepted."""
    ids = []
    with store.transaction() as conn:
        for index in range(count):
            event = new_event(
                EXAMPLES[("referral.requested", 1)], source="chu", event_id=f"e{index:04d}"
            )
            outbox.add(
                conn,
                source=event.source,
                event_id=event.id,
                topic="hub.ingress",
                key=f"r-{index % _KEYS}",
                envelope=event.structured(),
                at=at,
            )
            ids.append(event.id)
    return ids


def _relay(store: Store, log: list[tuple[str, str]], **options: object) -> OutboxRelay:
    return OutboxRelay(
        store=store,
        publisher=_Recorder(log),
        metrics=HubMetrics.create(),
        batch_size=9,
        **options,  # type: ignore[arg-type]
    )


async def _drain(relay: OutboxRelay) -> None:
    while await relay.drain_once():
        pass


async def test_two_relays_publish_every_accepted_event_exactly_once_in_order(
    store: Store,
) -> None:
    """Two relays draining one outbox publish each event once, each key's events in order."""
    ids = _queue(store, 200, datetime.now(UTC))
    log: list[tuple[str, str]] = []

    await asyncio.gather(*(_drain(_relay(store, log)) for _ in range(2)))

    published = [event_id for _, event_id in log]
    assert sorted(published) == ids
    for key in {key for key, _ in log}:
        in_key = [event_id for k, event_id in log if k == key]
        assert in_key == sorted(in_key)


async def test_rows_leased_by_a_relay_that_died_are_published_by_another_after_the_lease(
    store: Store,
) -> None:
    """A relay that dies holding a lease delays its rows only until the lease lapses."""
    start = datetime.now(UTC)
    ids = _queue(store, 5, start)
    with store.transaction() as conn:  # the dead relay's claim, never marked
        outbox.claim(conn, 10, now=start, until=start + timedelta(seconds=30))
    log: list[tuple[str, str]] = []
    clock = [start + timedelta(seconds=10)]
    survivor = _relay(store, log, lease_s=30.0, clock=lambda: clock[0])

    assert await survivor.drain_once() == 0
    clock[0] = start + timedelta(seconds=31)
    await _drain(survivor)

    assert sorted(event_id for _, event_id in log) == ids
    with store.transaction() as conn:
        assert outbox.count_pending(conn) == 0
