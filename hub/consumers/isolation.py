"""One bad record never stops a consumer: it is isolated, retried, then dead-lettered.

A batch handler applies a whole batch at once. When it fails for a reason
other than the store or the broker being unavailable (an error whose
``retriable`` is true, which rewinds the batch until they are back), the
failure is in the records themselves: each record of the batch is then
handled alone, up to ``max_attempts`` times, and one that still fails is
handed to ``dead_letter`` with the reason, so the rest of the batch and its
partition go on. Handlers are idempotent per record (event ids are claimed
once), so a record handled again after a partial success changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from hub.consumers.records import IncomingRecord
from hub.errors import HubError
from hub.observability import get_logger

__all__ = ["BatchHandler", "DeadLetterHandler", "isolating"]

#: Handles a whole batch; returns once its effects are durable.
BatchHandler = Callable[[Sequence[IncomingRecord]], Awaitable[None]]
#: Records, stores and publishes one record that cannot be processed, with the reason.
DeadLetterHandler = Callable[[IncomingRecord, str], Awaitable[None]]

_log = get_logger(__name__)


def isolating(
    handle: BatchHandler,
    dead_letter: DeadLetterHandler,
    *,
    max_attempts: int,
    pause_s: float = 0.2,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> BatchHandler:
    """``handle``, with a failing record set aside after ``max_attempts`` attempts of its own."""

    async def handle_isolated(records: Sequence[IncomingRecord]) -> None:
        try:
            await handle(records)
            return
        except Exception as exc:
            if _outage(exc):
                raise
            if len(records) > 1:
                _log.warning(
                    "batch failed; handling its records one by one",
                    records=len(records),
                    error_type=type(exc).__name__,
                )
        for record in records:
            await _one(record)

    async def _one(record: IncomingRecord) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                await handle([record])
                return
            except Exception as exc:
                if _outage(exc):
                    raise
                if attempt >= max_attempts:
                    reason = f"{_reason(exc)} (gave up after {attempt} attempts)"
                    _log.warning(
                        "record dead-lettered after repeated failures",
                        topic=record.topic,
                        partition=record.partition,
                        offset=record.offset,
                        attempts=attempt,
                        error_type=type(exc).__name__,
                    )
                    await dead_letter(record, reason)
                    return
            await sleep(pause_s * attempt)

    return handle_isolated


def _outage(exc: Exception) -> bool:
    """The store or the broker is unavailable: the whole batch waits for it."""
    return isinstance(exc, HubError) and exc.retriable


def _reason(exc: Exception) -> str:
    # The hub's own errors name fields, never values; anything else may quote
    # the data it choked on, so only its kind is kept.
    if isinstance(exc, HubError):
        return f"{type(exc).__name__}: {exc}"[:900]
    return f"unexpected {type(exc).__name__}"
