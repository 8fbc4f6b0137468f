"""One Kafka run: a fresh broker, the raw baseline on it, then the hub on it.

Every run starts its own embedded broker and its own hub with an empty store,
so runs share no topics, offsets, consumer groups or rows. The raw baseline
runs first, with no hub running, and the hub's ratio is taken against it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.apache_kafka import APACHE_FIGURES, apache_figures
from bench.config import BenchConfig
from bench.context import Prepared, Run
from bench.hub_phases import HUB_FIGURES, hub_figures
from bench.profiling import Profiler
from bench.raw_kafka import raw_passthrough
from bench.results import Results
from bench.two_hop import two_hop_floor
from bench.workload import Workload
from hub.broker import EmbeddedBroker

__all__ = ["run_kafka_figures"]


async def run_kafka_figures(
    config: BenchConfig,
    prepared: Prepared,
    workload: Workload,
    results: Results,
    profiler: Profiler,
    number: int,
) -> None:
    run = Run(config, prepared, workload, results, profiler, number)
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as workdir:
        async with EmbeddedBroker() as broker:
            raw: float | None = None
            try:
                raw = await raw_passthrough(broker.bootstrap_servers, prepared.raw)
                results.add("raw_kafka_passthrough_per_s", raw)
                run.log(f"raw kafka {raw:,.0f} events/s")
            except Exception as exc:
                results.failed(("raw_kafka_passthrough_per_s",), f"run {number}: {exc!r}")
            try:
                floor = await two_hop_floor(broker.bootstrap_servers, prepared.raw)
                results.add("two_hop_floor_per_s", floor)
                if raw is not None:
                    results.add("two_hop_floor_ratio", floor / raw)
                run.log(f"two hops, no work {floor:,.0f} events/s")
            except Exception as exc:
                results.failed(
                    ("two_hop_floor_per_s", "two_hop_floor_ratio"), f"run {number}: {exc!r}"
                )
            before = {name: len(results.figures[name].values) for name in HUB_FIGURES}
            try:
                await hub_figures(run, broker.bootstrap_servers, Path(workdir), raw)
            except Exception as exc:
                missing = tuple(
                    name
                    for name in HUB_FIGURES
                    if len(results.figures[name].values) == before[name]
                )
                results.failed(missing, f"run {number}: {exc}")
                run.log(f"hub figures failed: {exc}")
        before = {name: len(results.figures[name].values) for name in APACHE_FIGURES}
        try:
            await apache_figures(run, Path(workdir))
        except Exception as exc:
            missing = tuple(
                name for name in APACHE_FIGURES if len(results.figures[name].values) == before[name]
            )
            results.failed(missing, f"run {number}: {exc}")
            run.log(f"Apache Kafka figures failed: {exc}")
