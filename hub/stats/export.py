"""One statistics export: the tables and time figures an observer may read.

Every table is suppressed on its own: the tables count different things
(referrals, completed steps, outcomes), so no relation links a cell of one to
a cell of another. The referral counts are one table over every requested
dimension, with all its totals, so each one-way count is a margin of it and
suppressed with it.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hub.stats.facts import ReferralFacts
from hub.stats.suppression import TOTAL, Key, SuppressedTable, suppress

__all__ = ["DIMENSIONS", "MAX_CELLS", "Export", "StatsRequest", "build_export"]

DIMENSIONS = ("region", "pathway", "step", "service", "violence", "age-band")
#: A cross table larger than this is refused: it would be all suppression.
MAX_CELLS = 20_000
DEFAULT_THRESHOLD = 5


@dataclass(frozen=True)
class StatsRequest:
    start: date
    end: date
    by: tuple[str, ...]
    threshold: int = DEFAULT_THRESHOLD

    def __post_init__(self) -> None:
        unknown = [name for name in self.by if name not in DIMENSIONS]
        if unknown or not self.by:
            raise ValueError(f"--by takes one or more of {', '.join(DIMENSIONS)}")
        if len(set(self.by)) != len(self.by):
            raise ValueError("--by names a dimension twice")
        if self.end < self.start:
            raise ValueError("--to must not be before --from")
        if self.threshold < 2:
            raise ValueError("the suppression threshold must be at least 2")


@dataclass(frozen=True)
class TimeFigure:
    step: str
    measure: str  # "accept" or "complete"
    count: int
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class Export:
    request: StatsRequest
    referrals: SuppressedTable
    within_limit: SuppressedTable
    outcomes: SuppressedTable
    times: tuple[TimeFigure, ...]

    def as_json(self) -> dict[str, Any]:
        req = self.request
        return {
            "period": {"from": req.start.isoformat(), "to": req.end.isoformat()},
            "threshold": req.threshold,
            "suppressed": {
                f"<{req.threshold}": f"fewer than {req.threshold}",
                "x": "hidden so that no smaller cell can be worked out from the totals",
            },
            "referrals": _rows(self.referrals, "referrals"),
            "steps_within_time_limit": _rows(self.within_limit, "steps"),
            "outcomes_per_pathway": _rows(self.outcomes, "outcomes"),
            "time_per_step": [
                {
                    "step": figure.step,
                    "measure": figure.measure,
                    "median_hours": figure.median_hours,
                    "p90_hours": figure.p90_hours,
                    **(
                        {"withheld": f"fewer than {req.threshold} referrals"}
                        if figure.median_hours is None
                        else {}
                    ),
                }
                for figure in self.times
            ],
        }


def build_export(facts: Sequence[ReferralFacts], request: StatsRequest) -> Export:
    """The export of ``facts`` (already limited to the period and to consent) for ``request``."""
    referrals = _table(
        request.by,
        [tuple(fact.dimension(name) for name in request.by) for fact in facts],
        request.threshold,
    )
    completed = [f for f in facts if f.completed_at is not None and f.due_by is not None]
    within_limit = _table(
        ("step", "timeliness"),
        [(f.step, _timeliness(f)) for f in completed],
        request.threshold,
    )
    outcomes = _table(
        ("pathway", "outcome"),
        [(f.pathway, outcome) for f in facts for outcome in f.outcomes],
        request.threshold,
    )
    times = tuple(_times(facts, request.threshold))
    return Export(request, referrals, within_limit, outcomes, times)


def _timeliness(fact: ReferralFacts) -> str:
    done, due = fact.completed_at, fact.due_by
    return "within" if done is not None and due is not None and done <= due else "late"


def _table(dimensions: Sequence[str], keys: Sequence[Key], threshold: int) -> SuppressedTable:
    values = [sorted({key[i] for key in keys}) for i in range(len(dimensions))]
    size = 1
    for axis in values:
        size *= len(axis) + 1
    if size > MAX_CELLS:
        raise ValueError(
            f"the table by {', '.join(dimensions)} would have {size} cells; ask for fewer"
        )
    seen = Counter(keys)
    counts: dict[Key, int] = {}
    for key in itertools.product(*[[*axis, TOTAL] for axis in values]):
        counts[key] = sum(
            n
            for found, n in seen.items()
            if all(want in (TOTAL, have) for want, have in zip(key, found, strict=True))
        )
    return suppress(dimensions, values, counts, threshold)


def _rows(table: SuppressedTable, measure: str) -> list[dict[str, int | str]] | dict[str, str]:
    if table.withheld:
        return {"withheld": "too few to show any figure without singling anyone out"}
    axes = [[*axis, TOTAL] for axis in table.values]
    return [
        {**dict(zip(table.dimensions, key, strict=True)), measure: table.shown(key)}
        for key in itertools.product(*axes)
    ]


def _times(facts: Sequence[ReferralFacts], threshold: int) -> list[TimeFigure]:
    measures: dict[str, Callable[[ReferralFacts], datetime | None]] = {
        "accept": lambda f: f.accepted_at,
        "complete": lambda f: f.completed_at,
    }
    figures = []
    for step in sorted({f.step for f in facts}):
        for measure, reached in measures.items():
            hours = [
                (at - f.requested_at).total_seconds() / 3600
                for f in facts
                if f.step == step and (at := reached(f)) is not None
            ]
            if len(hours) < threshold:
                figures.append(TimeFigure(step, measure, len(hours), None, None))
                continue
            figures.append(
                TimeFigure(
                    step,
                    measure,
                    len(hours),
                    round(statistics.median(hours), 1),
                    round(_percentile(hours, 0.9), 1),
                )
            )
    return figures


def _percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile: a value some referral actually took."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]
