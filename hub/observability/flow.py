"""Referral flow and backlog metrics, served from a snapshot the metrics timer computes.

The snapshot is built from store rows (``hub.store.flow``) off the scrape path;
``FlowCollector.collect`` only renders the last snapshot. Labels are pathway and
step ids, agency ids and statuses from the configuration: never referral or
subject ids.
"""

from __future__ import annotations

import threading
from collections import Counter as Tally
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from hub.config.pathways import PathwayConfig, PathwayStep
from hub.store.flow import AgencyBacklog, ReferralTimes

__all__ = [
    "FlowCollector",
    "FlowSnapshot",
    "TimeLimit",
    "duration_buckets",
    "flow_snapshot",
    "pathway_steps",
    "time_limits",
]

NO_STEP = "none"
# Statuses that answer a hand-off: the step's time limit is met by any of them.
_ANSWERED = ("accepted", "rejected", "in-progress", "completed", "cancelled", "failed")
_CLOSED = ("completed", "cancelled", "failed", "rejected")
_PHASES = {
    "requested-accepted": ("requested", "accepted"),
    "accepted-completed": ("accepted", "completed"),
}
# Each step's limit is bracketed: a quarter, half, the limit, twice and four times it.
_BRACKET = (0.25, 0.5, 1.0, 2.0, 4.0)
_DEFAULT_BUCKETS_H = (1.0, 4.0, 24.0, 72.0, 168.0)


def duration_buckets(pathways: Sequence[PathwayConfig]) -> tuple[float, ...]:
    """Histogram bounds in seconds that bracket every configured step's ``within_hours``."""
    hours = {h * f for p in pathways for s in p.steps for f in _BRACKET for h in [s.within_hours]}
    return tuple(sorted(round(h * 3600, 3) for h in (hours or set(_DEFAULT_BUCKETS_H))))


@dataclass(frozen=True)
class FlowSnapshot:
    transitions: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    durations: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    open_breaches: dict[tuple[str, str, str], int] = field(default_factory=dict)
    breaches: dict[tuple[str, str, str], int] = field(default_factory=dict)
    inbox_unacked: dict[str, int] = field(default_factory=dict)
    inbox_oldest_age: dict[str, float] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    outbox_oldest_age: float = 0.0
    consent_withdrawals: int = 0
    buckets: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class TimeLimit:
    """One limit on a referral: ``step`` (answer within the step's hours) or ``due_by``."""

    kind: str
    deadline: datetime
    met_at: datetime | None


def time_limits(referral: ReferralTimes, step: PathwayStep | None) -> list[TimeLimit]:
    """The referral's limits: its step's hours to an answer, its ``due_by`` to a close."""
    limits = []
    reached = referral.reached
    if step is not None:
        answered = [reached[s] for s in _ANSWERED if s in reached]
        limits.append(
            TimeLimit(
                "step",
                referral.created_at + timedelta(hours=step.within_hours),
                min(answered) if answered else None,
            )
        )
    if referral.due_by is not None:
        done = [reached[s] for s in _CLOSED if s in reached]
        limits.append(TimeLimit("due_by", referral.due_by, min(done) if done else None))
    return limits


def pathway_steps(pathways: Sequence[PathwayConfig]) -> dict[str, tuple[str, PathwayStep]]:
    """Step id to its pathway's id and the step (the first pathway naming it wins)."""
    found: dict[str, tuple[str, PathwayStep]] = {}
    for pathway in pathways:
        for step in pathway.steps:
            found.setdefault(step.id, (pathway.id, step))
    return found


def flow_snapshot(
    pathways: Sequence[PathwayConfig],
    referrals: Iterable[ReferralTimes],
    backlogs: Iterable[AgencyBacklog],
    dead_letters: dict[str, int],
    oldest_outbox: datetime | None,
    withdrawals: int,
    now: datetime,
) -> FlowSnapshot:
    """The metrics' values at ``now`` from the store's rows."""
    steps = pathway_steps(pathways)
    transitions: Tally[tuple[str, str, str, str]] = Tally()
    durations: dict[tuple[str, str, str], list[float]] = {}
    open_breaches: Tally[tuple[str, str, str]] = Tally()
    breaches: Tally[tuple[str, str, str]] = Tally()
    for referral in referrals:
        known = steps.get(referral.pathway_step or "")
        pathway, step_id = (known[0], known[1].id) if known else (NO_STEP, NO_STEP)
        agency = referral.to_agency
        reached = {"requested": referral.created_at, **referral.reached}
        for status in reached:
            transitions[(pathway, step_id, agency, status)] += 1
        for phase, (start, end) in _PHASES.items():
            if start in reached and end in reached:
                seconds = max(0.0, (reached[end] - reached[start]).total_seconds())
                durations.setdefault((pathway, step_id, phase), []).append(seconds)
        closed = referral.status in _CLOSED
        for limit in time_limits(referral, known[1] if known else None):
            if (limit.met_at or now) > limit.deadline:
                breaches[(step_id, agency, limit.kind)] += 1
                if limit.met_at is None and not closed:
                    open_breaches[(step_id, agency, limit.kind)] += 1
    backlog = list(backlogs)
    return FlowSnapshot(
        transitions=dict(transitions),
        durations=durations,
        open_breaches=dict(open_breaches),
        breaches=dict(breaches),
        inbox_unacked={b.agency_id: b.unacked for b in backlog},
        inbox_oldest_age={
            b.agency_id: max(0.0, (now - b.oldest_delivered_at).total_seconds())
            for b in backlog
            if b.oldest_delivered_at is not None
        },
        dead_letters=dict(dead_letters),
        outbox_oldest_age=max(0.0, (now - oldest_outbox).total_seconds()) if oldest_outbox else 0.0,
        consent_withdrawals=withdrawals,
        buckets=duration_buckets(pathways),
    )


class FlowCollector(Collector):
    """Renders the last snapshot; a scrape never touches the store."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshot = FlowSnapshot(buckets=duration_buckets(()))

    def update(self, snapshot: FlowSnapshot) -> None:
        with self._lock:
            self._snapshot = snapshot

    @property
    def snapshot(self) -> FlowSnapshot:
        with self._lock:
            return self._snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self.snapshot
        transitions = CounterMetricFamily(
            "hub_referral_transitions",
            "Referrals reaching a status (requested = opened), by pathway, step and agency.",
            labels=["pathway", "step", "agency", "status"],
        )
        for key, count in sorted(snap.transitions.items()):
            transitions.add_metric(list(key), count)
        yield transitions
        durations = HistogramMetricFamily(
            "hub_referral_phase_seconds",
            "Time from requested to accepted and from accepted to completed, by pathway step.",
            labels=["pathway", "step", "phase"],
        )
        for phase, values in sorted(snap.durations.items()):
            cumulative = [(_le(b), sum(1 for v in values if v <= b)) for b in snap.buckets]
            cumulative.append(("+Inf", len(values)))
            durations.add_metric(list(phase), cumulative, sum(values))
        yield durations
        open_breaches = GaugeMetricFamily(
            "hub_time_limit_breaches_open",
            "Open referrals past their step's within_hours (limit=step) or due_by (limit=due_by).",
            labels=["step", "agency", "limit"],
        )
        for where, count in sorted(snap.open_breaches.items()):
            open_breaches.add_metric(list(where), count)
        yield open_breaches
        breaches = CounterMetricFamily(
            "hub_time_limit_breaches",
            "Referrals whose time limit passed before it was met, by step, agency and limit.",
            labels=["step", "agency", "limit"],
        )
        for where, count in sorted(snap.breaches.items()):
            breaches.add_metric(list(where), count)
        yield breaches
        yield _by_agency(
            "hub_inbox_unacked_events",
            "Pull-inbox events delivered to an agency and not yet acknowledged.",
            snap.inbox_unacked,
        )
        yield _by_agency(
            "hub_inbox_oldest_unacked_age_seconds",
            "Age of the agency's oldest unacknowledged pull-inbox event.",
            snap.inbox_oldest_age,
        )
        yield _by_agency(
            "hub_dead_letters_open",
            "Dead letters not yet replayed, by agency (empty for ingress records).",
            snap.dead_letters,
        )
        yield GaugeMetricFamily(
            "hub_outbox_oldest_age_seconds",
            "Age of the oldest accepted event not yet published (0 when none).",
            value=snap.outbox_oldest_age,
        )
        yield CounterMetricFamily(
            "hub_consent_withdrawals",
            "Consents withdrawn, as recorded in consent history.",
            value=snap.consent_withdrawals,
        )


def _by_agency(name: str, documentation: str, values: dict[str, float] | dict[str, int]) -> Metric:
    family = GaugeMetricFamily(name, documentation, labels=["agency"])
    for agency, value in sorted(values.items()):
        family.add_metric([agency], value)
    return family


def _le(bound: float) -> str:
    return repr(float(bound))
