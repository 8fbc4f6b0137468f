"""Audit streamers in several hub processes on one PostgreSQL store: one streams at a time."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest

from hub.audit import AuditAction, AuditRecorder
from hub.consumers.records import OutgoingMessage
from hub.runtime.audit_stream import AuditStreamer
from hub.store import Store

pytestmark = pytest.mark.postgres


class _Recorder:
    def __init__(self) -> None:
        self.entry_ids: list[str] = []

    async def publish(self, messages: Sequence[OutgoingMessage]) -> None:
        self.entry_ids.extend(json.loads(message.value)["entry_id"] for message in messages)


@pytest.fixture
def store(postgres_schema_url: str) -> Iterator[Store]:
    with Store.open(postgres_schema_url) as opened:
        yield opened


def _archive(store: Store, count: int) -> None:
    recorder = AuditRecorder(signer=None, actor="referral-hub")
    with store.transaction() as conn:
        for index in range(count):
            recorder.record(
                conn,
                action=AuditAction.AGENCY_ADDED,
                actor="referral-hub",
                at=datetime.now(UTC),
                details={"agency": f"agency-{index}"},
            )


async def _stream_for(seconds: float, *streamers: AuditStreamer) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(streamer.run()) for streamer in streamers]
    await asyncio.sleep(seconds)
    return tasks


async def _stop(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_two_processes_stream_each_audit_entry_once_and_the_survivor_takes_over(
    store: Store,
) -> None:
    """Two streamers publish every entry once; when the one streaming stops, the other goes on."""
    _archive(store, 40)
    first, second = _Recorder(), _Recorder()
    streamers = [
        AuditStreamer(store=Store(store.engine), publisher=recorder, batch_size=7, idle_s=0.05)
        for recorder in (first, second)
    ]

    tasks = await _stream_for(1.5, *streamers)
    streamed = first.entry_ids + second.entry_ids
    assert len(streamed) == 40
    assert max(Counter(streamed).values()) == 1
    holder = 0 if first.entry_ids else 1
    await _stop([tasks[holder]])
    _archive(store, 5)
    await asyncio.sleep(1.5)
    await _stop([tasks[1 - holder]])

    survivor = (first, second)[1 - holder]
    assert len(survivor.entry_ids) == (5 if holder == 0 else 45)
    assert max(Counter(first.entry_ids + second.entry_ids).values()) == 1
