"""Group commit for events arriving over HTTP at the same time.

Each request still hears 202 only after its event is committed, but the
requests waiting together share one transaction: the store commits once for
many, where it would otherwise commit, and make each writer wait, once per
event. Within it they are accepted together (:func:`accept_many`): a few
statements for the group, and a refused event undoes none of the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hub.audit import AuditRecorder
from hub.contracts import CloudEvent
from hub.contracts.events import EventPayload
from hub.errors import HubError
from hub.services.intake import Acceptance, Outcome, Submission, accept_many
from hub.store import Store

__all__ = ["GroupIntake"]


@dataclass
class _Waiting:
    submission: Submission
    answer: asyncio.Future[Acceptance]


class GroupIntake:
    """Accepts vetted events, committing those that arrive together as one."""

    def __init__(
        self,
        store: Store,
        *,
        audit: AuditRecorder | None,
        max_batch: int = 128,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._audit = audit
        self._max_batch = max_batch
        self._clock = clock
        self._queue: asyncio.Queue[_Waiting] | None = None
        self._worker: asyncio.Task[None] | None = None

    async def accept(self, event: CloudEvent, payload: EventPayload, sender: str) -> Acceptance:
        """Commit the event (with others waiting now); its own refusal is raised here."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run(self._queue), name="group-intake")
        answer: asyncio.Future[Acceptance] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Waiting(Submission(event, payload, sender), answer))
        return await answer

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def _run(self, queue: asyncio.Queue[_Waiting]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self._max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            try:
                outcomes = await asyncio.to_thread(self._commit, batch)
            except HubError as exc:
                # The store itself failed: nothing was committed, every request hears it.
                for waiting in batch:
                    if not waiting.answer.done():
                        waiting.answer.set_exception(exc)
                continue
            for waiting, outcome in zip(batch, outcomes, strict=True):
                if waiting.answer.done():
                    continue  # the client went away
                if isinstance(outcome, Acceptance):
                    waiting.answer.set_result(outcome)
                else:
                    waiting.answer.set_exception(outcome)

    def _commit(self, batch: list[_Waiting]) -> list[Outcome]:
        now = self._clock()
        with self._store.transaction() as conn:
            return accept_many(
                conn, [waiting.submission for waiting in batch], now=now, audit=self._audit
            )
