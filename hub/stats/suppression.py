"""Small-cell suppression with complementary suppression, for tables with their totals.

A table counts along some dimensions and carries every marginal total: a cell
key names a value per dimension, or :data:`TOTAL` where it sums that dimension.
Each line (all dimensions fixed but one, the total included) is a linear
relation a reader can solve. A count below the threshold is suppressed
("<5"); then further cells ("x") are suppressed until no suppressed cell can
be pinned down from the published ones: by every relation together, each
suppressed cell bounded as the reader knows it (``[0, threshold-1]`` for "<5",
at least ``threshold`` for "x").
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "SUPPRESSED_BELOW",
    "SUPPRESSED_COMPLEMENT",
    "TOTAL",
    "Key",
    "SuppressedTable",
    "lines",
    "pinned_cells",
    "suppress",
]

TOTAL = "total"
Key = tuple[str, ...]
#: How a count below the threshold reads; ``{}`` is the threshold.
SUPPRESSED_BELOW = "<{}"
#: How a cell suppressed only to protect another reads (it is at least the threshold).
SUPPRESSED_COMPLEMENT = "x"


@dataclass(frozen=True)
class SuppressedTable:
    dimensions: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]
    counts: Mapping[Key, int]
    below: frozenset[Key]
    complement: frozenset[Key]
    threshold: int
    #: Even hiding every cell leaves one pinned: the table is not published at all.
    withheld: bool = False

    def shown(self, key: Key) -> int | str:
        if key in self.below:
            return SUPPRESSED_BELOW.format(self.threshold)
        if key in self.complement:
            return SUPPRESSED_COMPLEMENT
        return self.counts[key]


def lines(values: Sequence[Sequence[str]]) -> Iterator[tuple[list[Key], Key]]:
    """Each relation of a table with totals: the cells of a line and the total they sum to."""
    axes = [[*axis, TOTAL] for axis in values]
    for axis, axis_values in enumerate(values):
        if not axis_values:
            continue  # nothing counted: the total alone, and no relation
        others = [axes[i] for i in range(len(axes)) if i != axis]
        for fixed in itertools.product(*others):
            cells = [(*fixed[:axis], value, *fixed[axis:]) for value in axis_values]
            yield cells, (*fixed[:axis], TOTAL, *fixed[axis:])


def pinned_cells(
    counts: Mapping[Key, int],
    values: Sequence[Sequence[str]],
    below: frozenset[Key],
    complement: frozenset[Key],
    threshold: int,
) -> set[Key]:
    """The suppressed cells a reader can pin to one value from what is published.

    Bounds are propagated through every relation until nothing tightens: an
    interval attack over the whole table, which subsumes subtracting from any
    total and chaining such subtractions.
    """
    big = sum(counts[key] for key in counts if all(v == TOTAL for v in key)) or 0
    low: dict[Key, int] = {}
    high: dict[Key, int] = {}
    for key, count in counts.items():
        if key in below:
            low[key], high[key] = 0, threshold - 1
        elif key in complement:
            low[key], high[key] = threshold, max(big, threshold)
        else:
            low[key] = high[key] = count
    relations = list(lines(values))
    changed = True
    while changed:
        changed = False
        for cells, total in relations:
            # sum(cells) - total == 0: tighten each term from the others' bounds.
            terms = [(cell, 1) for cell in cells] + [(total, -1)]
            lo_sum = sum(low[k] if s > 0 else -high[k] for k, s in terms)
            hi_sum = sum(high[k] if s > 0 else -low[k] for k, s in terms)
            for key, sign in terms:
                own_lo = low[key] if sign > 0 else -high[key]
                own_hi = high[key] if sign > 0 else -low[key]
                rest_lo, rest_hi = lo_sum - own_lo, hi_sum - own_hi
                # sign * x == -(rest), so x lies in [-rest_hi, -rest_lo] * sign
                new_lo, new_hi = (-rest_hi, -rest_lo) if sign > 0 else (rest_lo, rest_hi)
                if new_lo > low[key]:
                    low[key], changed = new_lo, True
                if new_hi < high[key]:
                    high[key], changed = new_hi, True
    return {key for key in below | complement if low[key] >= high[key]}


def suppress(
    dimensions: Sequence[str],
    values: Sequence[Sequence[str]],
    counts: Mapping[Key, int],
    threshold: int,
) -> SuppressedTable:
    """``counts`` (every cell and total) with small cells and their complements hidden."""
    if threshold < 2:
        raise ValueError("the suppression threshold must be at least 2")
    below = frozenset(key for key, count in counts.items() if count < threshold)
    complement: set[Key] = set()
    withheld = False
    relations = list(lines(values))
    while True:
        hidden = below | complement
        pinned = pinned_cells(counts, values, below, frozenset(complement), threshold)
        lone = [
            [*cells, total]
            for cells, total in relations
            if len(hidden.intersection([*cells, total])) == 1
        ]
        if not pinned and not lone:
            break
        if lone:
            candidates = [lone[0]]
        else:
            key = min(pinned)
            candidates = [[*c, t] for c, t in relations if key in c or key == t]
        added = _smallest_visible(candidates, hidden, counts)
        if added is None:
            # Nothing left to hide beside it: the table is not published.
            withheld = True
            break
        complement.add(added)
    return SuppressedTable(
        tuple(dimensions),
        tuple(tuple(axis) for axis in values),
        dict(counts),
        below,
        frozenset(complement),
        threshold,
        withheld,
    )


def _smallest_visible(
    candidates: Sequence[Sequence[Key]], hidden: frozenset[Key], counts: Mapping[Key, int]
) -> Key | None:
    """The least count still shown on any of ``candidates``: hiding it costs least."""
    visible = [key for line in candidates for key in line if key not in hidden]
    return min(visible, key=lambda key: (counts[key], key)) if visible else None
