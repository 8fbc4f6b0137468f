"""The hub figures of one run: ``hub run`` in a child, then its phases one after another.

Each phase starts on an idle hub: the next one waits until everything sent so
far is delivered, so one phase's backlog is never measured as the next one's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.context import Run
from bench.http_ingest import http_ingest, post_all
from bench.hub_process import HubProcess
from bench.inbox_watch import InboxWatcher
from bench.ingest_baseline import baseline_server
from bench.pipeline import deliver_all, latency, settle, throughput
from bench.workload import RECIPIENT
from hub.broker import KafkaSettings, make_producer

__all__ = ["HUB_FIGURES", "hub_figures"]

HUB_FIGURES = (
    "hub_pipeline_per_s",
    "hub_pipeline_ratio",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "http_ingest_per_s",
    "http_ingest_baseline_per_s",
    "http_ingest_ratio",
    "hub_peak_rss_mib",
)


async def hub_figures(run: Run, bootstrap: str, workdir: Path, raw: float | None) -> None:
    hub = HubProcess(bootstrap, workdir, run.workload)
    producer = make_producer(KafkaSettings(bootstrap_servers=bootstrap, idempotent_producer=False))
    await producer.start()
    try:
        await hub.start()
        with InboxWatcher(hub.database, RECIPIENT) as watcher:
            try:
                await _phases(run, hub, watcher, producer, raw)
            finally:
                # Read even when a phase failed: the peak so far is still the hub's.
                if hub.running:
                    memory = hub.peak_rss_mib()
                    run.results.add("hub_peak_rss_mib", memory)
                    run.log(f"hub peak RSS {memory:,.0f} MiB")
    finally:
        await producer.stop()
        await hub.stop()


async def _phases(
    run: Run, hub: HubProcess, watcher: InboxWatcher, producer: Any, raw: float | None
) -> None:
    config, prepared, results = run.config, run.prepared, run.results
    timeout = config.drain_timeout_s
    # Proves both consumer groups have joined before anything is timed.
    await deliver_all(hub, watcher, producer, prepared.warmup, timeout)

    with run.profiler.record(f"run{run.number}-hub-pipeline", hub.pid):
        per_s = await throughput(hub, watcher, producer, prepared.pipeline, timeout)
    results.add("hub_pipeline_per_s", per_s)
    if raw is not None:
        results.add("hub_pipeline_ratio", per_s / raw)
    run.log(f"hub pipeline {per_s:,.0f} events/s")

    sent = watcher.count + len(prepared.paced_low)
    low = await latency(
        hub, watcher, producer, prepared.paced_low, config.low_latency_rate, timeout
    )
    await settle(hub, watcher, sent, timeout)
    results.detail("latency_low_load_to_visible_ms", low.seen_ms)
    results.detail("latency_low_load_delivered_per_s", low.delivered_per_s)
    run.log(f"latency at {config.low_latency_rate}/s p50/p99 {_ms(low.seen_ms)}")

    sent = watcher.count + len(prepared.paced)
    with run.profiler.record(f"run{run.number}-hub-latency", hub.pid):
        found = await latency(hub, watcher, producer, prepared.paced, config.latency_rate, timeout)
    for q in ("p50", "p95", "p99"):
        results.add(f"latency_{q}_ms", found.seen_ms[q])
    results.detail("latency_to_visible_ms", found.seen_ms)
    results.detail("latency_to_delivered_at_ms", found.stamped_ms)
    results.detail("latency_offered_per_s", found.offered_per_s)
    results.detail("latency_delivered_per_s", found.delivered_per_s)
    results.detail("latency_undelivered_in_window", found.undelivered)
    run.log(
        f"latency at {config.latency_rate}/s p50/p99 {_ms(found.seen_ms)}, "
        f"delivered {found.delivered_per_s:,.0f}/s"
    )
    await settle(hub, watcher, sent, timeout)

    sent = watcher.count + len(prepared.http)
    with run.profiler.record(f"run{run.number}-hub-http", hub.pid):
        ingest = await http_ingest(hub.base_url, prepared.http, config.http_concurrency)
    results.add("http_ingest_per_s", ingest.per_s)
    results.detail("http_503_retried", ingest.retried)
    run.log(f"http ingest {ingest.per_s:,.0f} events/s ({ingest.retried} answers 503 retried)")
    # Delivered too before memory is read, so the peak covers every phase's work.
    await settle(hub, watcher, sent, timeout)

    # The same bodies, the same clients, on an idle hub's machine: what a bare endpoint does.
    bodies = [event.to_json() for event in prepared.http]
    concurrency = config.http_concurrency
    async with baseline_server() as url:
        bare = await post_all(url, bodies[:concurrency], bodies[concurrency:], concurrency)
    results.add("http_ingest_baseline_per_s", bare.per_s)
    results.add("http_ingest_ratio", ingest.per_s / bare.per_s)
    run.log(f"http ingest baseline {bare.per_s:,.0f} requests/s")


def _ms(percentiles: dict[str, float]) -> str:
    return f"{percentiles['p50']:,.0f}/{percentiles['p99']:,.0f} ms"
