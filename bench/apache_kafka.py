"""The same raw and pipeline figures on Apache Kafka: one KRaft node started by ``deploy/kafka``.

Tansu keeps nothing on disk and has no idempotent producer; Apache Kafka writes every record to
its log and the hub runs with the producer production uses, so the two show what the engine costs.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

from bench.context import Run
from bench.hub_process import HubProcess
from bench.inbox_watch import InboxWatcher
from bench.pipeline import deliver_all, throughput
from bench.raw_kafka import raw_passthrough
from bench.workload import RECIPIENT
from hub.broker import KafkaSettings, make_producer

__all__ = ["APACHE_FIGURES", "apache_figures"]

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "kafka"

APACHE_FIGURES = (
    "raw_kafka_apache_per_s",
    "hub_pipeline_apache_per_s",
    "hub_pipeline_apache_ratio",
)


def _free_pair() -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two consecutive free ports")


def _start(data: Path) -> str:
    command = [str(DEPLOY / "start.sh"), "--nodes", "1", "--data", str(data)]
    result = subprocess.run(
        [*command, "--port", str(_free_pair())], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"Apache Kafka did not start: {result.stderr[-2000:]}")
    return result.stdout.strip().splitlines()[-1]


async def apache_figures(run: Run, workdir: Path) -> None:
    data = workdir / "apache-kafka"
    bootstrap = await asyncio.to_thread(_start, data)
    try:
        raw = await raw_passthrough(bootstrap, run.prepared.raw)
        run.results.add("raw_kafka_apache_per_s", raw)
        run.log(f"raw kafka on Apache Kafka {raw:,.0f} events/s")
        hub = HubProcess(bootstrap, workdir / "apache-hub", run.workload, apache=True)
        hub.database.parent.mkdir(parents=True, exist_ok=True)
        await _pipeline(run, hub, bootstrap, raw)
    finally:
        await asyncio.to_thread(
            subprocess.run, [str(DEPLOY / "stop.sh"), "--data", str(data)], check=False
        )


async def _pipeline(run: Run, hub: HubProcess, bootstrap: str, raw: float) -> None:
    producer = make_producer(KafkaSettings(bootstrap_servers=bootstrap, idempotent_producer=True))
    await producer.start()
    try:
        await hub.start()
        with InboxWatcher(hub.database, RECIPIENT) as watcher:
            timeout = run.config.drain_timeout_s
            await deliver_all(hub, watcher, producer, run.prepared.warmup, timeout)
            per_s = await throughput(hub, watcher, producer, run.prepared.pipeline, timeout)
        run.results.add("hub_pipeline_apache_per_s", per_s)
        run.results.add("hub_pipeline_apache_ratio", per_s / raw)
        run.log(f"hub pipeline on Apache Kafka {per_s:,.0f} events/s")
    finally:
        await producer.stop()
        await hub.stop()
