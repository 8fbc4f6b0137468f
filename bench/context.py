"""What every part of a bench run shares: its configuration, its events, its results."""

from __future__ import annotations

import sys
from dataclasses import dataclass

from bench.config import BenchConfig
from bench.profiling import Profiler
from bench.results import Results
from bench.workload import Workload
from hub.contracts import CloudEvent, KafkaRecord

__all__ = ["Prepared", "Run", "log"]

_WARMUP_EVENTS = 50


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Prepared:
    """Every event a Kafka run sends, built once: building them is not what is measured."""

    raw: list[KafkaRecord]
    warmup: list[CloudEvent]
    pipeline: list[CloudEvent]
    paced: list[CloudEvent]
    paced_low: list[CloudEvent]
    http: list[CloudEvent]

    @classmethod
    def build(cls, config: BenchConfig, workload: Workload) -> Prepared:
        # Ids are unique within a run; runs never share a store or a broker.
        paced = int(config.latency_rate * config.latency_seconds)
        paced_low = int(config.low_latency_rate * config.low_latency_seconds)
        return cls(
            raw=workload.records("raw", config.raw_events),
            warmup=workload.referrals("warm", _WARMUP_EVENTS),
            pipeline=workload.referrals("pipe", config.pipeline_events),
            paced=workload.referrals("lat", paced),
            paced_low=workload.referrals("low", paced_low),
            http=workload.referrals("http", config.http_requests),
        )


@dataclass(frozen=True)
class Run:
    config: BenchConfig
    prepared: Prepared
    workload: Workload
    results: Results
    profiler: Profiler
    number: int

    def log(self, message: str) -> None:
        log(f"run {self.number}: {message}")
