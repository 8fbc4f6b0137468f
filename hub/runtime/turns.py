"""Loops that run in one hub process at a time, the others standing by.

The court-files exchange and the social-db capture poll shared folders and
databases: two processes polling at once would take the same files and rows
in twice and write the same files over each other. Consent expiry runs once
too, so that each expiry is audited once. Each runs only while its
process holds the loop's :class:`hub.store.turns.SoleTurn`, checked every few
seconds; a process that loses it (its database connection went) stops the
loop and stands by.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from hub.observability import get_logger
from hub.store.turns import SoleTurn

__all__ = ["run_in_turn"]

_log = get_logger(__name__)


async def run_in_turn(
    turn: SoleTurn, name: str, loop: Callable[[], Awaitable[None]], *, check_s: float = 2.0
) -> None:
    """Run ``loop`` whenever this process holds ``turn``, until it returns or is cancelled."""
    try:
        while True:
            if await asyncio.to_thread(turn.held):
                if await _while_held(turn, loop, check_s):
                    return
                _log.warning("another process took over; standing by", reason=name)
            await asyncio.sleep(check_s)
    finally:
        turn.release()


async def _while_held(turn: SoleTurn, loop: Callable[[], Awaitable[None]], check_s: float) -> bool:
    """True once ``loop`` has returned; False if the turn was lost and the loop stopped."""
    task = asyncio.ensure_future(loop())
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=check_s)
            if done:
                task.result()  # its failure is the caller's to handle
                return True
            if not await asyncio.to_thread(turn.held):
                return False
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
