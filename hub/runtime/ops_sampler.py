"""The background task feeding the operations page's charts."""

from __future__ import annotations

import asyncio

from hub.observability.ops_history import OpsHistory

__all__ = ["run_ops_sampler"]


async def run_ops_sampler(history: OpsHistory) -> None:
    """Sample the registry every ``history.sample_s`` seconds until cancelled.

    Reading the registry is memory only and quick, so it runs on the event loop.
    """
    while True:
        history.sample()
        await asyncio.sleep(history.sample_s)
