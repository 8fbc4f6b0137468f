"""Operators' flow metrics: referral transitions, hand-off times, time limits and backlogs."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from hub.api import ApiContext, create_api
from hub.api.auth import TokenDirectory
from hub.config import PathwayConfig, PathwayStep
from hub.contracts import AgencyKind, ServiceCode, default_registry
from hub.observability import HubMetrics
from hub.observability.catalogue import CATALOGUE
from hub.observability.flow import duration_buckets
from hub.runtime.gauges import refresh_gauges
from hub.store import Store, inbox, outbox, referrals

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
PATHWAY = PathwayConfig(
    id="dv-north",
    name="Domestic violence, north",
    region="north",
    steps=(
        PathwayStep(
            id="police-to-idva",
            from_kind=AgencyKind("police"),
            to_kind=AgencyKind("shelter"),
            service=ServiceCode("medical-follow-up"),
            within_hours=24,
        ),
    ),
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as opened:
        yield opened


def _referral(referral_id: str, created: datetime, step: str | None, due_by: datetime | None):  # type: ignore[no-untyped-def]
    return referrals.ReferralRow(
        referral_id=referral_id,
        from_agency="police-north",
        to_agency="idva-north",
        subject_id=f"subj-{referral_id}",
        consent_id="consent-1",
        service="idva-support",
        priority="routine",
        status="requested",
        due_by=due_by,
        pathway_step=step,
        created_at=created,
        updated_at=created,
        version=1,
    )


def _move(conn, referral_id: str, status: str, at: datetime) -> None:  # type: ignore[no-untyped-def]
    referrals.update_status(conn, referral_id, status, at)
    referrals.append_timelines(
        conn,
        [
            referrals.TimelineEntry(
                referral_id=referral_id,
                event_id=f"{referral_id}-{status}",
                event_type="referral.status-changed",
                status=status,
                actor="idva-north",
                at=at,
                detail={},
            )
        ],
    )


def _samples(metrics: HubMetrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    page = generate_latest(metrics.registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def _seed(store: Store) -> None:
    with store.transaction() as conn:
        referrals.insert_referrals(
            conn,
            [
                # Accepted after 2h, completed 10h later: on time.
                _referral("r-fast", NOW - timedelta(hours=30), "police-to-idva", None),
                # Accepted after 30h: breached its 24h step limit, now met.
                _referral("r-late", NOW - timedelta(hours=40), "police-to-idva", None),
                # Still waiting after 50h: an open breach, past its due_by too.
                _referral("r-stuck", NOW - timedelta(hours=50), "police-to-idva", NOW),
            ],
        )
        _move(conn, "r-fast", "accepted", NOW - timedelta(hours=28))
        _move(conn, "r-fast", "completed", NOW - timedelta(hours=18))
        _move(conn, "r-late", "accepted", NOW - timedelta(hours=10))
        inbox.add_many(
            conn,
            "idva-north",
            [(("hub", "e1"), {}), (("hub", "e2"), {})],
            NOW - timedelta(minutes=30),
        )
        outbox.add(
            conn,
            source="hub",
            event_id="o1",
            topic="t",
            key="k",
            envelope={},
            at=NOW - timedelta(seconds=90),
        )


def test_flow_metrics_show_transitions_times_and_breaches_per_step_and_agency(
    store: Store,
) -> None:
    """/metrics shows each step's opened/accepted/completed counts, hand-off times and breaches."""
    _seed(store)
    metrics = HubMetrics.create()

    refresh_gauges(store, metrics, NOW + timedelta(minutes=1), [PATHWAY])
    samples = _samples(metrics)

    def at(name: str, **labels: str) -> float | None:
        return samples.get((name, tuple(sorted(labels.items()))))

    step = {"pathway": "dv-north", "step": "police-to-idva", "agency": "idva-north"}
    assert at("hub_referral_transitions_total", status="requested", **step) == 3
    assert at("hub_referral_transitions_total", status="accepted", **step) == 2
    assert at("hub_referral_transitions_total", status="completed", **step) == 1
    handoff = {"pathway": "dv-north", "step": "police-to-idva", "phase": "requested-accepted"}
    assert at("hub_referral_phase_seconds_count", **handoff) == 2
    assert at("hub_referral_phase_seconds_bucket", le=str(24 * 3600.0), **handoff) == 1
    where = {"step": "police-to-idva", "agency": "idva-north"}
    assert at("hub_time_limit_breaches_total", limit="step", **where) == 2
    assert at("hub_time_limit_breaches_open", limit="step", **where) == 1
    assert at("hub_time_limit_breaches_open", limit="due_by", **where) == 1
    assert at("hub_inbox_unacked_events", agency="idva-north") == 2
    assert at("hub_inbox_oldest_unacked_age_seconds", agency="idva-north") == 31 * 60
    assert at("hub_outbox_oldest_age_seconds") == 150


def test_flow_labels_never_carry_referral_or_subject_ids(store: Store) -> None:
    """No label value on /metrics is a referral or subject id."""
    _seed(store)
    metrics = HubMetrics.create()

    refresh_gauges(store, metrics, NOW, [PATHWAY])
    values = {value for _, labels in _samples(metrics) for _, value in labels}

    assert not {value for value in values if value.startswith(("r-", "subj-"))}


def test_hand_off_buckets_bracket_every_steps_time_limit() -> None:
    """Histogram bounds fall below and above each configured within_hours, and on it."""
    buckets = duration_buckets([PATHWAY])

    assert 24 * 3600 in buckets
    assert min(buckets) < 24 * 3600 < max(buckets)


def test_every_served_metric_is_in_the_catalogue_with_its_type_and_labels(store: Store) -> None:
    """The catalogue lists exactly the metrics /metrics serves, with their types and labels."""
    _seed(store)
    metrics = HubMetrics.create()
    metrics.delivery_failures.labels("idva-north", "webhook").inc()
    metrics.requests_limited.labels("idva-north", "burst").inc()
    refresh_gauges(store, metrics, NOW, [PATHWAY])
    page = generate_latest(metrics.registry).decode()
    served: dict[str, tuple[str, set[str]]] = {}
    for family in text_string_to_metric_families(page):
        if family.name.endswith("_created"):
            continue  # the client library's creation timestamps, not hub metrics
        labels = {key for sample in family.samples for key in sample.labels if key != "le"}
        served[family.name] = (family.type, labels)
    catalogued = {spec.name: spec for spec in CATALOGUE}

    assert {name: kind for name, (kind, _) in served.items()} == {
        name: spec.type for name, spec in catalogued.items()
    }
    for name, (_, labels) in served.items():
        assert labels <= set(catalogued[name].labels), name
        if labels:
            assert labels == set(catalogued[name].labels), name


async def test_promtool_finds_nothing_on_a_live_metrics_page(store: Store) -> None:
    """`promtool check metrics` accepts what GET /metrics serves after a refresh."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    _seed(store)
    metrics = HubMetrics.create()
    refresh_gauges(store, metrics, NOW, [PATHWAY])
    app = create_api(
        ApiContext(
            store=store,
            registry=default_registry(),
            agencies={},
            tokens=TokenDirectory(store, {}),
            metrics=metrics,
        )
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub"
    ) as client:
        page = (await client.get("/metrics")).text

    checked = await asyncio.to_thread(
        subprocess.run,
        [promtool, "check", "metrics"],
        input=page,
        capture_output=True,
        text=True,
        check=False,
    )

    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")
