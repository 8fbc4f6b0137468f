"""What a bench run found: per-figure values over runs, summaries, targets."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.stats import summarize

__all__ = ["FIGURES", "TARGETS", "Figure", "Results", "Target"]

#: name -> (unit, what it measures), in the order the table shows them.
FIGURES: dict[str, tuple[str, str]] = {
    "raw_kafka_passthrough_per_s": ("events/s", "aiokafka produce+consume, one process"),
    "two_hop_floor_per_s": ("events/s", "the hub's two hops and subscribers, no work"),
    "two_hop_floor_ratio": ("x raw", "two hops / raw: the ceiling of the hub's ratio"),
    "hub_pipeline_per_s": ("events/s", "hub.ingress to visible inbox row"),
    "hub_pipeline_ratio": ("x raw", "hub / raw, same run"),
    "raw_kafka_apache_per_s": ("events/s", "aiokafka produce+consume, Apache Kafka 1 node"),
    "hub_pipeline_apache_per_s": ("events/s", "hub.ingress to inbox row, Apache Kafka 1 node"),
    "hub_pipeline_apache_ratio": ("x raw", "hub / raw, both on Apache Kafka, same run"),
    "http_ingest_per_s": ("events/s", "POST /v1/events, 32 in flight"),
    "http_ingest_baseline_per_s": ("requests/s", "bare FastAPI: parse the CloudEvent, 202"),
    "http_ingest_ratio": ("x bare", "hub / bare endpoint, same run"),
    "latency_p50_ms": ("ms", "send to visible inbox row at the offered load"),
    "latency_p95_ms": ("ms", "send to visible inbox row at the offered load"),
    "latency_p99_ms": ("ms", "send to visible inbox row at the offered load"),
    "hub_peak_rss_mib": ("MiB", "VmHWM of the `hub run` child"),
    "fhir_decode_per_s": ("Bundles/s", "FhirAdapter.decode"),
    "fhir_bare_parse_per_s": ("Bundles/s", "Bundle.model_validate_json"),
    "fhir_decode_ratio": ("x bare", "adapter / bare, same run"),
    "audit_verify_per_s": ("entries/s", "parse + verify_log, signed checkpoints"),
    "audit_bare_per_s": ("entries/s", "json.loads + SHA-256"),
    "audit_verify_ratio": ("x bare", "verify / bare, same run"),
    "audit_verify_store_per_s": ("entries/s", "verify(conn) from SQLite"),
}


@dataclass(frozen=True)
class Target:
    comparison: str
    bound: float

    def met(self, value: float) -> bool:
        compare: Callable[[float, float], bool] = (
            operator.ge if self.comparison == ">=" else operator.le
        )
        return compare(value, self.bound)

    def __str__(self) -> str:
        return f"{self.comparison} {self.bound:g}"


TARGETS: dict[str, Target] = {
    "hub_pipeline_ratio": Target(">=", 0.5),
    "latency_p99_ms": Target("<=", 50),
    "fhir_decode_ratio": Target(">=", 0.7),
    "audit_verify_ratio": Target(">=", 0.5),
}


@dataclass
class Figure:
    name: str
    values: list[float] = field(default_factory=list)
    #: Why there is no value: the code is missing (unavailable) or a run failed.
    unavailable: str | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def unit(self) -> str:
        return FIGURES[self.name][0]

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"unit": self.unit, "measures": FIGURES[self.name][1]}
        if self.values:
            summary = summarize(self.values)
            found |= {
                "status": "ok",
                "median": summary.median,
                "min": summary.min,
                "max": summary.max,
                "runs": list(summary.runs),
            }
        else:
            found["status"] = "unavailable" if self.unavailable else "failed"
            found["reason"] = self.unavailable or "; ".join(self.failures) or "not measured"
        if self.failures:
            found["failures"] = list(self.failures)
        target = TARGETS.get(self.name)
        if target is not None:
            found["target"] = str(target)
            found["target_met"] = target.met(found["median"]) if self.values else None
        return found


@dataclass
class Results:
    figures: dict[str, Figure] = field(
        default_factory=lambda: {name: Figure(name) for name in FIGURES}
    )
    #: Per-run numbers that explain the figures, name -> one value per run.
    details: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, name: str, value: float) -> None:
        self.figures[name].values.append(value)

    def detail(self, name: str, value: Any) -> None:
        self.details.setdefault(name, []).append(value)

    def unavailable(self, names: tuple[str, ...], reason: str) -> None:
        for name in names:
            self.figures[name].unavailable = reason

    def failed(self, names: tuple[str, ...], reason: str) -> None:
        for name in names:
            self.figures[name].failures.append(reason)
