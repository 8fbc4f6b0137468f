"""How much work each figure does: a full run and a short smoke run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["BenchConfig"]

DEFAULT_OUT = Path(__file__).with_name("results.json")


@dataclass(frozen=True)
class BenchConfig:
    runs: int
    quick: bool
    out: Path
    #: Messages through the bare producer and consumer.
    raw_events: int
    #: Events published to ``hub.ingress`` for the throughput figure.
    pipeline_events: int
    #: Offered load and duration of the latency figure.
    latency_rate: int
    latency_seconds: float
    #: A load the hub sustains, to tell per-hop latency from queueing.
    low_latency_rate: int
    low_latency_seconds: float
    http_requests: int
    http_concurrency: int
    #: Distinct Bundles, and how long each side of the FHIR comparison runs.
    fhir_bundles: int
    cpu_seconds: float
    #: Referrals whose audit chains are verified (several entries each).
    audit_referrals: int
    #: How long to wait for the hub to deliver a phase's events before giving up.
    drain_timeout_s: float

    @classmethod
    def full(cls, runs: int, out: Path = DEFAULT_OUT) -> BenchConfig:
        return cls(
            runs=runs,
            quick=False,
            out=out,
            raw_events=50_000,
            pipeline_events=4_000,
            latency_rate=1_000,
            latency_seconds=5.0,
            low_latency_rate=100,
            low_latency_seconds=5.0,
            http_requests=2_000,
            http_concurrency=32,
            fhir_bundles=200,
            cpu_seconds=2.0,
            audit_referrals=2_000,
            drain_timeout_s=180.0,
        )

    @classmethod
    def smoke(cls, runs: int, out: Path = DEFAULT_OUT) -> BenchConfig:
        return cls(
            runs=runs,
            quick=True,
            out=out,
            raw_events=5_000,
            pipeline_events=500,
            latency_rate=1_000,
            latency_seconds=1.0,
            low_latency_rate=100,
            low_latency_seconds=1.0,
            http_requests=300,
            http_concurrency=32,
            fhir_bundles=20,
            cpu_seconds=0.3,
            audit_referrals=200,
            drain_timeout_s=60.0,
        )
