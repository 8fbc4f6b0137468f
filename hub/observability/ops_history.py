"""The recent past of every metric series, kept in memory for the operations page's charts.

A sampler copies the registry's values every few seconds into a bounded ring
buffer per series, so a page view reads memory only: neither the store nor the
broker is asked anything, however often operators look.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from hub.observability.ops_view import read_families

__all__ = ["OpsHistory"]


class OpsHistory:
    """Up to ``capacity`` (time, value) points per series key, oldest dropped first."""

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        sample_s: float,
        history_hours: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sample_s = sample_s
        self.capacity = max(2, math.ceil(history_hours * 3600 / sample_s))
        self._registry = registry
        self._clock = clock
        self._points: dict[str, deque[tuple[float, float]]] = {}

    def sample(self) -> None:
        """Record every series' value now."""
        now = self._clock()
        for family in read_families(self._registry):
            for series in family.series:
                points = self._points.get(series.key)
                if points is None:
                    points = self._points[series.key] = deque(maxlen=self.capacity)
                points.append((now, series.value))

    def points(self, key: str) -> list[tuple[float, float]]:
        return list(self._points.get(key, ()))

    def values(self, key: str, at_most: int) -> list[float]:
        """The series' values, thinned evenly to ``at_most`` points, the newest always kept."""
        points = self._points.get(key)
        if not points:
            return []
        values = [value for _, value in points]
        if len(values) <= at_most:
            return values
        step = len(values) / at_most
        picked = [values[int(index * step)] for index in range(at_most - 1)]
        return [*picked, values[-1]]
