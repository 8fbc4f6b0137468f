"""Runs the demo: the hub, the simulated agencies, the stories, and the summary."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from hub.adapters.directory import Directory
from hub.audit import AuditRecorder
from hub.config import HubSettings
from hub.config.pathways import PathwayConfig
from hub.contracts import AgencyKind, default_registry
from hub.demo.agencies import AgencySystem, poll_inbox, webhook_receiver
from hub.demo.case_database import CaseDatabaseApp
from hub.demo.court_registry import CourtRegistry
from hub.demo.network import COURT_POLL_S, build_network
from hub.demo.simulator import Simulator
from hub.demo.stories import Network, plan_stories
from hub.observability.flow import FlowSnapshot
from hub.runtime.bootstrap import HubServices
from hub.runtime.gauges import refresh_gauges
from hub.runtime.server import running_hub
from hub.services.statistics import export_statistics
from hub.stats import StatsRequest
from hub.store import Store

#: What the demo's closing statistics table counts by.
DEMO_STATISTICS_BY = ("region", "violence")

__all__ = ["DemoOptions", "run_demo"]

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoOptions:
    config: Path
    referrals: int = 200
    database_url: str | None = None
    seed: int = 7
    concurrency: int = 16
    settle_timeout_s: float = 120.0


async def run_demo(options: DemoOptions, progress: Progress) -> dict[str, Any]:
    started = time.monotonic()
    with contextlib.ExitStack() as cleanup:
        database_url = options.database_url
        if database_url is None:
            folder = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="hub-demo-"))
            database_url = f"sqlite:///{folder}/hub.db"
        systems: dict[str, AgencySystem] = {}
        callbacks: list[Simulator] = []

        async def on_event(agency: AgencySystem, event: Any) -> None:
            await callbacks[0].on_event(agency, event)

        webhook_secrets: dict[str, str] = {}
        agency_db_folder = Path(
            cleanup.enter_context(tempfile.TemporaryDirectory(prefix="hub-demo-agencies-"))
        )
        async with webhook_receiver(systems, webhook_secrets, on_event) as hooks_url:
            demo = build_network(
                options.config,
                database_url=database_url,
                webhook_base_url=hooks_url,
                agency_db_folder=agency_db_folder,
            )
            webhook_secrets.update(demo.webhook_secrets)
            case_apps = cleanup.enter_context(_case_databases(demo))
            for agency in demo.settings.agencies:
                systems[agency.id] = AgencySystem(
                    agency.id, agency.kind.value, demo.tokens[agency.id]
                )
            court_registries = {
                agency_id: CourtRegistry(
                    agency_id,
                    folders,
                    directory=Directory.from_settings(demo.settings),
                    pseudonym_key=demo.settings.pseudonym_key.get_secret_value().encode(),
                    registry=default_registry(),
                )
                for agency_id, folders in demo.court_folders.items()
            }
            network = _network(demo.settings.agencies)
            stories = plan_stories(network, options.referrals, options.seed)
            progress(
                f"starting the hub: {len(systems)} agencies, {len(stories)} survivors, "
                f"{options.referrals} referrals"
            )
            async with (
                running_hub(demo.settings, upgrade_schema=True) as hub,
                httpx.AsyncClient(base_url=hub.base_url, timeout=30.0) as client,
            ):
                simulator = Simulator(
                    client,
                    systems,
                    network,
                    default_registry(),
                    fhir_versions=demo.fhir_versions,
                    pseudonym_key=demo.settings.pseudonym_key.get_secret_value().encode(),
                    case_apps=case_apps,
                    court_registries=court_registries,
                )
                callbacks.append(simulator)
                stop = asyncio.Event()
                pollers = [
                    asyncio.create_task(poll_inbox(system, client, simulator.on_event, stop))
                    for agency in demo.settings.agencies
                    if agency.delivery.mode == "pull"
                    for system in (systems[agency.id],)
                ]
                pollers.extend(
                    asyncio.create_task(
                        app.read_arrivals(_recorder(systems[agency_id], simulator), stop)
                    )
                    for agency_id, app in case_apps.items()
                )
                pollers.extend(
                    asyncio.create_task(
                        court.read_deliveries(
                            _recorder(systems[agency_id], simulator), stop, COURT_POLL_S
                        )
                    )
                    for agency_id, court in court_registries.items()
                )
                flow_started = time.monotonic()
                await _start_stories(simulator, stories, options.concurrency, progress)
                settled = await _settle(simulator, options.settle_timeout_s, progress)
                flow_s = time.monotonic() - flow_started
                stop.set()
                await asyncio.gather(*pollers, return_exceptions=True)
                for task in list(simulator.tasks):
                    task.cancel()
                flow = await asyncio.to_thread(_flow, hub.services, demo.settings.pathways)
            statistics = _statistics(database_url, demo.settings)
    for court in court_registries.values():
        # A record the hub refused is an agency error, as a refused POST is.
        simulator.errors.extend(court.refused)
    summary = _summary(simulator, settled, flow_s, time.monotonic() - started, options)
    summary["statistics"] = statistics
    summary["time_limit_breaches"] = sum(flow.breaches.values())
    summary["pathway_steps"] = _steps_taken(flow)
    summary["received_through_databases"] = {
        agency_id: len(systems[agency_id].received) for agency_id in sorted(case_apps)
    }
    summary["received_through_files"] = {
        agency_id: len(systems[agency_id].received) for agency_id in sorted(court_registries)
    }
    summary["refused_court_records"] = sum(len(c.refused) for c in court_registries.values())
    return summary


def _statistics(database_url: str, settings: HubSettings) -> dict[str, Any]:
    """The referrals by region and form of violence, as an observer receives them."""
    request = StatsRequest(start=date(2000, 1, 1), end=date(2100, 1, 1), by=DEMO_STATISTICS_BY)
    with Store.open(database_url) as store:
        audit = AuditRecorder.from_settings(settings.audit, actor=settings.hub_id)
        export = export_statistics(
            store, audit, request, actor=settings.hub_id, pathways=settings.pathways
        )
    return export.as_json()


@contextlib.contextmanager
def _case_databases(demo: Any) -> Iterator[dict[str, CaseDatabaseApp]]:
    """Each database agency's application, its URL where the hub will look for it."""
    apps: dict[str, CaseDatabaseApp] = {}
    saved = {env: os.environ.get(env) for _, env in demo.agency_databases.values()}
    try:
        for agency_id, (url, env) in demo.agency_databases.items():
            os.environ[env] = url
            apps[agency_id] = CaseDatabaseApp(
                agency_id,
                url,
                env,
                pseudonym_key=demo.settings.pseudonym_key.get_secret_value().encode(),
                registry=default_registry(),
            )
        yield apps
    finally:
        for app in apps.values():
            app.close()
        for env, value in saved.items():
            if value is None:
                os.environ.pop(env, None)
            else:
                os.environ[env] = value


def _recorder(system: AgencySystem, simulator: Simulator) -> Callable[[Any], Awaitable[None]]:
    async def record(event: Any) -> None:
        if system.record(event):
            await simulator.on_event(system, event)

    return record


def _network(agencies: Any) -> Network:
    by_kind: dict[AgencyKind, list[str]] = {}
    for agency in agencies:
        by_kind.setdefault(agency.kind, []).append(agency.id)
    return Network(
        hospitals=tuple(by_kind[AgencyKind.HOSPITAL]),
        court=by_kind[AgencyKind.COURT][0],
        prosecution=by_kind[AgencyKind.PROSECUTION][0],
        shelter=by_kind[AgencyKind.SHELTER][0],
        psychosocial=by_kind[AgencyKind.PSYCHOSOCIAL][0],
        social=by_kind[AgencyKind.SOCIAL_SERVICES][0],
        kinds={agency.id: agency.kind for agency in agencies},
    )


async def _start_stories(
    simulator: Simulator, stories: list[Any], concurrency: int, progress: Progress
) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def start(story: Any) -> None:
        async with gate:
            await simulator.start(story)

    await asyncio.gather(*(start(story) for story in stories))
    progress(f"all {len(stories)} survivors' first referrals submitted")


async def _settle(simulator: Simulator, timeout_s: float, progress: Progress) -> bool:
    """Wait until every expected delivery arrived and no agency is still reacting."""
    deadline = time.monotonic() + timeout_s
    last_report = 0.0
    while time.monotonic() < deadline:
        received = _received(simulator)
        missing = simulator.expected - received
        if not missing and not simulator.tasks:
            await asyncio.sleep(0.5)  # anything unexpected still on its way shows up now
            if not (simulator.expected - _received(simulator)) and not simulator.tasks:
                return True
        if time.monotonic() - last_report > 2.0:
            last_report = time.monotonic()
            progress(
                f"delivered {len(received & simulator.expected)}/{len(simulator.expected)}, "
                f"events submitted {sum(simulator.submitted.values())}"
            )
        await asyncio.sleep(0.1)
    return False


def _received(simulator: Simulator) -> set[tuple[str, str]]:
    return {
        (agency.agency_id, event_id)
        for agency in simulator.agencies.values()
        for event_id in agency.received
    }


def _flow(services: HubServices, pathways: Sequence[PathwayConfig]) -> FlowSnapshot:
    """The flow metrics' figures at the end of the run, as ``/metrics`` would show them."""
    refresh_gauges(services.store, services.metrics, datetime.now(UTC), pathways)
    return services.metrics.flow.snapshot


def _steps_taken(flow: FlowSnapshot) -> dict[str, dict[str, int]]:
    """Per ``pathway/step`` (``none/none`` off any pathway), referrals reaching each status."""
    steps: dict[str, dict[str, int]] = {}
    for (pathway, step, _agency, status), count in sorted(flow.transitions.items()):
        reached = steps.setdefault(f"{pathway}/{step}", {})
        reached[status] = reached.get(status, 0) + count
    return steps


def _summary(
    simulator: Simulator, settled: bool, flow_s: float, elapsed_s: float, options: DemoOptions
) -> dict[str, Any]:
    received = _received(simulator)
    expected = simulator.expected
    submitted = sum(simulator.submitted.values())
    delivered = len(received)
    return {
        "referrals": simulator.submitted["referral.requested"],
        "survivors": len(simulator.stories),
        "events_submitted": submitted,
        "events_by_type": dict(sorted(simulator.submitted.items())),
        "events_delivered": delivered,
        "expected_deliveries": len(expected),
        "lost": len(expected - received),
        "unexpected": len(received - expected),
        "duplicates": sum(agency.duplicates for agency in simulator.agencies.values()),
        "consent_blocked": simulator.consent_blocked(),
        "fields_withheld": simulator.fields_withheld(),
        "leaks": simulator.leaks(),
        "withdrawals": simulator.submitted["consent.withdrawn"],
        "overrides": simulator.submitted["disclosure.compelled"],
        "rejected_signatures": sum(a.rejected_signatures for a in simulator.agencies.values()),
        "agency_errors": len(simulator.errors),
        "settled": settled,
        "elapsed_s": round(elapsed_s, 2),
        "flow_s": round(flow_s, 2),
        "throughput_events_per_s": round((submitted + delivered) / flow_s, 1) if flow_s else 0.0,
        "database": options.database_url or "temporary",
    }
