"""A pull-mode reader of the hub's ``inbox`` table, in the bench's own process.

It polls the SQLite file read-only every couple of milliseconds and notes,
for every row it finds, the hub's ``delivered_at`` stamp and the moment the
row became visible here. Visibility is what a pulling agency experiences: the
row is committed. Reading the file directly, rather than through
``GET /v1/inbox``, keeps HTTP load off the hub being measured; in WAL mode a
reader never blocks the hub's writer.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = ["Alive", "InboxWatcher", "Sighting"]

_POLL_S = 0.002

#: Raises when the process being measured has gone away.
Alive = Callable[[], None]


@dataclass(frozen=True, slots=True)
class Sighting:
    delivered_at: float  # the hub's stamp, epoch seconds
    seen_at: float  # when this reader first saw the row, epoch seconds


class InboxWatcher:
    def __init__(self, database: Path, agency_id: str, poll_s: float = _POLL_S) -> None:
        self._database = database
        self._agency_id = agency_id
        self._poll_s = poll_s
        self._seen: dict[str, Sighting] = {}
        self._last_seq = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="inbox-watch", daemon=True)
        self._error: BaseException | None = None

    @property
    def count(self) -> int:
        return len(self._seen)

    def sighting(self, event_id: str) -> Sighting | None:
        return self._seen.get(event_id)

    async def wait_for(self, count: int, timeout_s: float, alive: Alive) -> bool:
        """Wait until ``count`` rows are seen; False on timeout. Raises if the hub died."""
        deadline = time.monotonic() + timeout_s
        while self.count < count:
            if self._error is not None:
                raise RuntimeError(f"the inbox reader failed: {self._error}")
            alive()
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(f"file:{self._database}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            self._error = exc
            return
        try:
            while not self._stop.is_set():
                self._poll(connection)
                time.sleep(self._poll_s)
        except sqlite3.Error as exc:
            self._error = exc
        finally:
            connection.close()

    def _poll(self, connection: sqlite3.Connection) -> None:
        rows = connection.execute(
            "SELECT seq, event_id, delivered_at FROM inbox"
            " WHERE seq > ? AND agency_id = ? ORDER BY seq",
            (self._last_seq, self._agency_id),
        ).fetchall()
        if not rows:
            return
        now = time.time()
        for seq, event_id, delivered_at in rows:
            self._seen.setdefault(event_id, Sighting(_epoch(delivered_at), now))
            self._last_seq = seq


def _epoch(stored: str) -> float:
    # The store keeps SQLite timestamps as naive UTC text.
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).timestamp()
