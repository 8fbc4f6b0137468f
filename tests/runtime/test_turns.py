"""Polling loops that must not run twice run in one hub process at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.runtime.turns import run_in_turn
from hub.store import Store
from hub.store.turns import SoleTurn


class _Poller:
    """A stand-in for a polling loop: counts its rounds and who else is polling."""

    running: set[str] = set()

    def __init__(self, name: str) -> None:
        self.name = name
        self.rounds = 0
        self.overlaps = 0

    async def run(self) -> None:
        try:
            while True:
                _Poller.running.add(self.name)
                self.overlaps += len(_Poller.running) > 1
                self.rounds += 1
                await asyncio.sleep(0.02)
        finally:
            _Poller.running.discard(self.name)


@pytest.fixture
def store(postgres_schema_url: str) -> Iterator[Store]:
    with Store.open(postgres_schema_url) as opened:
        yield opened


@pytest.mark.postgres
async def test_one_process_polls_at_a_time_and_another_takes_over_when_it_stops(
    store: Store,
) -> None:
    """Of two processes only one polls; when it stops, the one standing by starts polling."""
    pollers = [_Poller("first"), _Poller("second")]
    tasks = []
    for poller in pollers:
        turn = SoleTurn(Store(store.engine), "court-files")
        tasks.append(asyncio.create_task(run_in_turn(turn, "court files", poller.run, check_s=0.1)))
        await asyncio.sleep(0.3)
    holder = 0 if pollers[0].rounds else 1
    standing_by = pollers[1 - holder]

    assert standing_by.rounds == 0
    tasks[holder].cancel()
    await asyncio.gather(tasks[holder], return_exceptions=True)
    await asyncio.sleep(0.5)
    tasks[1 - holder].cancel()
    await asyncio.gather(tasks[1 - holder], return_exceptions=True)

    assert standing_by.rounds > 0
    assert sum(poller.overlaps for poller in pollers) == 0


def test_on_sqlite_the_one_process_always_holds_the_turn(tmp_path: Path) -> None:
    """SQLite serves one process, which needs no lock to poll."""
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as store:
        assert SoleTurn(store, "court-files").held()
        assert SoleTurn(store, "court-files").held()
