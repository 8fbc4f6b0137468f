"""The consumers' error policy: a failing record is isolated, retried, then dead-lettered."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from hub.consumers.isolation import isolating
from hub.consumers.records import IncomingRecord
from hub.errors import InvalidPayload, StoreError


def _record(offset: int) -> IncomingRecord:
    return IncomingRecord("hub.ingress", 0, offset, b"k", f"{offset}".encode(), ())


class Handler:
    """Handles batches, failing every one that holds a record at a ``bad`` offset."""

    def __init__(self, bad: set[int], error: Exception) -> None:
        self.bad = bad
        self.error = error
        self.handled: list[int] = []
        self.calls = 0

    async def __call__(self, records: Sequence[IncomingRecord]) -> None:
        self.calls += 1
        if any(record.offset in self.bad for record in records):
            raise self.error
        self.handled.extend(record.offset for record in records)


class DeadLetters:
    def __init__(self) -> None:
        self.parked: list[tuple[int, str]] = []

    async def __call__(self, record: IncomingRecord, reason: str) -> None:
        self.parked.append((record.offset, reason))


async def _no_sleep(_seconds: float) -> None:
    return None


@pytest.mark.parametrize(
    "error", [InvalidPayload([("data.due_by", "out of range")]), OverflowError("date value")]
)
async def test_a_record_that_keeps_failing_is_dead_lettered_and_the_rest_handled(
    error: Exception,
) -> None:
    """One bad record costs a bounded number of attempts; the others of its batch go on."""
    handler, parked = Handler({1}, error), DeadLetters()
    handle = isolating(handler, parked, max_attempts=3, sleep=_no_sleep)

    await handle([_record(0), _record(1), _record(2)])

    assert handler.handled == [0, 2]
    assert [offset for offset, _ in parked.parked] == [1]
    assert parked.parked[0][1].endswith("(gave up after 3 attempts)")
    assert handler.calls == 1 + 1 + 3 + 1


async def test_an_unexpected_error_reason_names_its_kind_only() -> None:
    """The reason of an error from outside the hub keeps no message that may quote data."""
    handler, parked = Handler({0}, ValueError("Salma Bennani")), DeadLetters()

    await isolating(handler, parked, max_attempts=1, sleep=_no_sleep)([_record(0)])

    assert parked.parked == [(0, "unexpected ValueError (gave up after 1 attempts)")]


async def test_an_outage_rewinds_the_whole_batch_and_parks_nothing() -> None:
    """The store being unavailable is no fault of a record: the batch is read again later."""
    handler, parked = Handler({1}, StoreError("connection refused")), DeadLetters()

    with pytest.raises(StoreError):
        await isolating(handler, parked, max_attempts=3, sleep=_no_sleep)([_record(0), _record(1)])

    assert parked.parked == []


async def test_a_record_that_succeeds_on_a_later_attempt_is_not_parked() -> None:
    """A failure that passes (a lost race) costs an attempt, not the record."""
    parked = DeadLetters()
    failures = iter([True, True, False])
    handled: list[int] = []

    async def flaky(records: Sequence[IncomingRecord]) -> None:
        if next(failures, False):
            raise StoreError("IntegrityError: duplicate key") from None
        handled.extend(record.offset for record in records)

    refused = StoreError("IntegrityError: duplicate key")
    refused.retriable = False

    async def handler(records: Sequence[IncomingRecord]) -> None:
        try:
            await flaky(records)
        except StoreError:
            raise refused from None

    await isolating(handler, parked, max_attempts=3, sleep=_no_sleep)([_record(7)])

    assert handled == [7]
    assert parked.parked == []
