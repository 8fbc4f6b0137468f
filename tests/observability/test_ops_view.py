"""The operations page's model: sections chosen by metric name, a bounded history."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from hub.config import load_settings
from hub.errors import ConfigError
from hub.observability.ops_history import OpsHistory
from hub.observability.ops_view import read_sections, section_of
from tests.support import token_hash


@pytest.mark.parametrize(
    ("family", "section"),
    [
        ("hub_referrals_opened", "flow"),
        ("hub_events_accepted", "flow"),
        ("hub_referrals_overdue", "time_limits"),
        ("hub_time_limit_breaches", "time_limits"),
        ("hub_referrals_open_breaches", "time_limits"),
        ("hub_agency_inbox_unacknowledged", "backlogs"),
        ("hub_agency_inbox_oldest_seconds", "backlogs"),
        ("hub_consumer_lag", "backlogs"),
        ("hub_outbox_oldest_seconds", "backlogs"),
        ("hub_court_files", "backlogs"),
        ("hub_agency_database_up", "backlogs"),
        ("hub_events_dead_lettered", "delivery"),
        ("hub_delivery_failures", "delivery"),
        ("hub_deliveries_blocked", "consent"),
        ("hub_consent_withdrawals", "consent"),
        ("hub_consent_overrides", "consent"),
        ("hub_fields_withheld", "other"),
    ],
)
def test_a_family_lands_in_its_section_by_name(family: str, section: str) -> None:
    """Families, present or added later, go to the page section their name says."""
    assert section_of(family) == section


def test_sections_show_counts_and_sums_not_buckets_or_start_times() -> None:
    """A histogram shows its count and sum; counters their totals, never _created."""
    registry = CollectorRegistry()
    Counter("hub_events_accepted", "Accepted.", ["type"], registry=registry).labels("x").inc(3)
    Histogram("hub_routing_seconds", "Routing.", registry=registry).observe(0.2)
    Gauge("hub_outbox_pending", "Pending.", registry=registry).set(7)
    shown = {
        series.key: series.value
        for section in read_sections(registry)
        for family in section.families
        for series in family.series
    }
    assert shown == {
        'hub_events_accepted_total{type="x"}': 3.0,
        "hub_routing_seconds_count": 1.0,
        "hub_routing_seconds_sum": 0.2,
        "hub_outbox_pending": 7.0,
    }


def test_the_history_keeps_the_last_hours_only() -> None:
    """The charts' memory is bounded: the oldest samples go once the window is full."""
    registry = CollectorRegistry()
    gauge = Gauge("hub_outbox_pending", "Pending.", registry=registry)
    now = [0.0]
    history = OpsHistory(registry, sample_s=60, history_hours=1, clock=lambda: now[0])
    assert history.capacity == 60
    for minute in range(150):
        now[0] = minute * 60.0
        gauge.set(minute)
        history.sample()
    points = history.points("hub_outbox_pending")
    assert len(points) == 60
    assert points[0] == (90 * 60.0, 90.0)
    thinned = history.values("hub_outbox_pending", 10)
    assert len(thinned) == 10
    assert thinned[0] == 90.0
    assert thinned[-1] == 149.0


def test_an_operator_token_that_is_an_agencys_is_refused() -> None:
    """One token cannot be both an agency's and an operator's: the setting is named."""
    digest = token_hash("shared-token")
    agency = {
        "id": "court-a",
        "name": "Court A",
        "kind": "court",
        "region": "r",
        "token_sha256": digest,
    }
    with pytest.raises(ConfigError, match=r"operators\[0\]\.token_sha256"):
        load_settings(None, agencies=[agency], operators=[{"id": "duty", "token_sha256": digest}])
    with pytest.raises(ConfigError, match=r"operator_tokens_sha256\[0\]"):
        load_settings(None, agencies=[agency], operator_tokens_sha256=[digest])


def test_operator_tokens_map_to_operator_ids() -> None:
    """Named operators keep their id; unnamed operator hashes are numbered."""
    named, unnamed = token_hash("a"), token_hash("b")
    settings = load_settings(
        None,
        operators=[{"id": "duty-officer", "token_sha256": named}],
        operator_tokens_sha256=[unnamed],
    )
    assert settings.operator_token_hashes() == {named: "duty-officer", unnamed: "operator-1"}


def test_sections_come_in_the_order_an_operator_reads_them() -> None:
    """Flow first, then time limits, backlogs, failures and consent blocks."""
    registry = CollectorRegistry()
    for name in (
        "hub_deliveries_blocked",
        "hub_events_dead_lettered",
        "hub_outbox_pending",
        "hub_referrals_overdue",
        "hub_events_accepted",
    ):
        Gauge(name, name, registry=registry)
    assert [section.id for section in read_sections(registry)] == [
        "flow",
        "time_limits",
        "backlogs",
        "delivery",
        "consent",
    ]
