"""What the operations page shows: the hub's metrics, read from its registry, in sections.

The page and ``hub top`` read the same ``CollectorRegistry`` that ``/metrics``
serialises, so every number they show is a metric's value at that moment. The
sections are chosen by family name, so families added to the catalogue later
appear without changes here. Metrics carry counts and configured labels only
(agency ids, steps, reasons), never referral or subject ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

__all__ = [
    "DISPLAY_ORDER",
    "SECTIONS",
    "Family",
    "Section",
    "Series",
    "group",
    "read_families",
    "read_sections",
    "section_of",
    "series_key",
]


@dataclass(frozen=True)
class Series:
    """One sample of a family: its Prometheus name, labels and current value."""

    key: str
    sample: str
    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Family:
    name: str
    kind: str
    help: str
    series: tuple[Series, ...]


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    families: tuple[Family, ...]


def _has(*parts: str) -> Callable[[str], bool]:
    return lambda name: any(part in name for part in parts)


def _starts(*prefixes: str) -> Callable[[str], bool]:
    return lambda name: name.startswith(prefixes)


#: (id, title, which family names belong); a family goes to the first that takes it,
#: so "hub_referrals_overdue" is a time limit, not flow.
SECTIONS: tuple[tuple[str, str, Callable[[str], bool]], ...] = (
    ("time_limits", "Time limits", _has("breach", "overdue")),
    (
        "consent",
        "Consent blocks",
        lambda name: (
            name.startswith("hub_deliveries_blocked") or _has("withdraw", "override")(name)
        ),
    ),
    ("delivery", "Delivery failures and dead letters", _has("dead", "delivery")),
    (
        "backlogs",
        "Agency backlogs",
        lambda name: (
            _has("inbox", "backlog", "_lag", "outbox")(name)
            or name.startswith("hub_court_files")
            or name == "hub_agency_database_up"
        ),
    ),
    ("flow", "Referral flow", _starts("hub_referrals_", "hub_events_")),
    ("other", "Other", lambda name: True),
)

#: The order an operator reads them in: is referral flow moving, is it on time, who is
#: behind, what failed, what consent stopped.
DISPLAY_ORDER = ("flow", "time_limits", "backlogs", "delivery", "consent", "other")

#: Histogram and summary samples worth a number on a page; the buckets are for Prometheus.
_SHOWN_SUFFIXES = ("_count", "_sum")


def section_of(family: str) -> str:
    return next(section_id for section_id, _, takes in SECTIONS if takes(family))


def series_key(sample: str, labels: Mapping[str, str]) -> str:
    """The series as Prometheus writes it: ``name{a="x",b="y"}``."""
    if not labels:
        return sample
    inner = ",".join(f'{name}="{labels[name]}"' for name in sorted(labels))
    return f"{sample}{{{inner}}}"


def _shown(metric: Metric, sample_name: str) -> bool:
    if sample_name.endswith("_created"):
        return False  # a start time, not a count
    if metric.type in ("histogram", "summary", "gaugehistogram"):
        return sample_name.endswith(_SHOWN_SUFFIXES)
    return True


def _family(metric: Metric) -> Family:
    series = tuple(
        Series(
            key=series_key(sample.name, sample.labels),
            sample=sample.name,
            labels=dict(sample.labels),
            value=float(sample.value),
        )
        for sample in metric.samples
        if _shown(metric, sample.name)
    )
    return Family(name=metric.name, kind=metric.type, help=metric.documentation, series=series)


def read_families(registry: CollectorRegistry) -> list[Family]:
    """Every family in ``registry`` with the samples a page shows, now."""
    return [_family(metric) for metric in registry.collect()]


def read_sections(registry: CollectorRegistry) -> list[Section]:
    """The registry's families, grouped into :data:`SECTIONS` (empty ones left out)."""
    return group(read_families(registry))


def group(families: Iterable[Family]) -> list[Section]:
    by_section: dict[str, list[Family]] = {section_id: [] for section_id, _, _ in SECTIONS}
    for family in families:
        by_section[section_of(family.name)].append(family)
    titles = {section_id: title for section_id, title, _ in SECTIONS}
    return [
        Section(section_id, titles[section_id], tuple(sorted(found, key=lambda f: f.name)))
        for section_id in DISPLAY_ORDER
        if (found := by_section[section_id])
    ]
