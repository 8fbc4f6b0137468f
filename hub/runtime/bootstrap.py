"""Wiring: builds the concrete pieces from settings and runs them together.

One process runs the HTTP API, the outbox relay, the router and the delivery
workers, or only some of them (:mod:`hub.runtime.roles`). The router and the
workers are FastStream batch subscribers with manual acknowledgement: a
batch's Kafka offsets are committed only after its effects are committed to
the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI
from faststream.kafka import KafkaBroker
from sqlalchemy import Connection

from hub.adapters.directory import Directory
from hub.api import ApiContext, create_api
from hub.api.auth import TokenDirectory
from hub.audit import AuditRecorder
from hub.broker.kafka import KafkaSettings, make_producer, ping
from hub.broker.topics import AUDIT as AUDIT_TOPIC
from hub.broker.topics import (
    INGRESS,
    ROUTER_DLQ,
    TopicPolicy,
    TopicSpec,
    dlq_topic,
    ensure_topics,
    inbox_topic,
)
from hub.config import AgencyConfig, HubSettings
from hub.consumers.auditing import delivered_entry
from hub.consumers.delivery import DeliveryWorker
from hub.consumers.isolation import DeadLetterHandler, isolating
from hub.consumers.router import IngressRouter
from hub.consumers.routing import AgencyView
from hub.contracts import CloudEvent, ContractRegistry, default_registry
from hub.delivery import FhirTransport, PullTransport, Transport, WebhookTransport
from hub.delivery.pull import OnStored
from hub.errors import StoreError
from hub.observability import HubMetrics, get_logger
from hub.observability.ops_history import OpsHistory
from hub.runtime.audit_stream import AuditStreamer
from hub.runtime.consumer_lag import consumer_groups, run_lag_refresh
from hub.runtime.court_files import CourtFiles
from hub.runtime.gauges import run_gauge_refresh
from hub.runtime.ops_sampler import run_ops_sampler
from hub.runtime.overdue import run_overdue_checks
from hub.runtime.publisher import KafkaPublisher
from hub.runtime.recovery import requeue_unconsumed
from hub.runtime.relay import OutboxRelay
from hub.runtime.roles import Part
from hub.runtime.social_db import SocialDbAgencies
from hub.runtime.subscribers import BatchHandler, subscribe_batches
from hub.runtime.turns import run_in_turn
from hub.services.agencies import sync_agencies
from hub.services.consent_expiry import run_expiry
from hub.services.group_intake import GroupIntake
from hub.store import Store
from hub.store.turns import SoleTurn

__all__ = ["HubServices", "build_app", "topic_specs"]

_log = get_logger(__name__)


@dataclass
class HubServices:
    """Everything the running hub holds, built from settings."""

    settings: HubSettings
    store: Store
    bootstrap_servers: str
    registry: ContractRegistry = field(default_factory=default_registry)
    metrics: HubMetrics = field(default_factory=HubMetrics.create)
    audit: AuditRecorder = field(init=False)

    def __post_init__(self) -> None:
        self.audit = AuditRecorder.from_settings(self.settings.audit, actor=self.settings.hub_id)

    @property
    def agencies(self) -> dict[str, AgencyConfig]:
        return {agency.id: agency for agency in self.settings.agencies}

    @property
    def kafka(self) -> KafkaSettings:
        return KafkaSettings(
            bootstrap_servers=self.bootstrap_servers,
            idempotent_producer=self.settings.idempotent_producer,
            security=self.settings.kafka_security,
        )


def topic_policy(settings: HubSettings) -> TopicPolicy:
    return TopicPolicy(
        replication_factor=settings.kafka_replication_factor,
        min_insync_replicas=settings.kafka_min_insync_replicas,
        dead_letter_retention_days=settings.kafka_dead_letter_retention_days,
        audit_retention_days=settings.kafka_audit_retention_days,
    )


def topic_specs(settings: HubSettings) -> list[TopicSpec]:
    policy = topic_policy(settings)
    specs = [
        policy.stream(INGRESS, settings.ingress_partitions),
        policy.dead_letters(ROUTER_DLQ),
        policy.audit(AUDIT_TOPIC, settings.ingress_partitions),
    ]
    for agency in settings.agencies:
        specs.append(policy.stream(inbox_topic(agency.id), settings.inbox_partitions))
        specs.append(policy.dead_letters(dlq_topic(agency.id)))
    return specs


def build_app(services: HubServices, parts: frozenset[Part] = frozenset(Part)) -> FastAPI:
    """The FastAPI app whose lifespan runs the hub's ``parts`` (all of them by default).

    Without :attr:`Part.API` nobody serves the app: the caller runs its lifespan alone.
    """
    settings = services.settings
    agencies = services.agencies
    relay_holder: dict[str, OutboxRelay] = {}

    def on_accepted() -> None:
        relay = relay_holder.get("relay")
        if relay is not None:
            relay.notify()

    intake = GroupIntake(services.store, audit=services.audit)
    databases = SocialDbAgencies(
        settings=settings,
        store=services.store,
        registry=services.registry,
        audit=services.audit,
        metrics=services.metrics,
        on_accepted=on_accepted,
    )

    async def broker_ready() -> bool:
        return await ping(services.bootstrap_servers, security=services.kafka.security)

    ops_history = OpsHistory(
        services.metrics.registry,
        sample_s=settings.ops_sample_s,
        history_hours=settings.ops_history_hours,
    )
    context = ApiContext(
        store=services.store,
        registry=services.registry,
        agencies=agencies,
        tokens=TokenDirectory(services.store, agencies),
        metrics=services.metrics,
        audit=services.audit,
        intake=intake,
        on_accepted=on_accepted,
        broker_ready=broker_ready,
        agency_databases=databases.reachability,
        operators=settings.operator_token_hashes(),
        ops_history=ops_history,
        directory=Directory.from_settings(settings),
        pathways=settings.pathways,
        statistics_threshold=settings.statistics_threshold,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await ensure_topics(
            services.bootstrap_servers, topic_specs(settings), security=services.kafka.security
        )
        await asyncio.to_thread(
            sync_agencies, services.store, settings, services.audit, datetime.now(UTC)
        )
        # The embedded broker starts empty; on either broker a copy journalled
        # just before a crash may never have been published.
        # Only a relay does it: a copy is requeued once, not by every process starting.
        requeued = 0
        if Part.RELAY in parts:
            requeued = await asyncio.to_thread(requeue_unconsumed, services.store)
        if requeued:
            _log.info("republishing what was recorded but not delivered", count=requeued)
        producer = make_producer(services.kafka)
        await producer.start()
        publisher = KafkaPublisher(producer)
        http = httpx.AsyncClient(timeout=settings.delivery.timeout_s)
        relay = OutboxRelay(store=services.store, publisher=publisher, metrics=services.metrics)
        relay_holder["relay"] = relay
        transports = _transports(services, http)
        transports[databases.transport.mode] = databases.transport
        courts = CourtFiles(
            settings=settings,
            store=services.store,
            registry=services.registry,
            audit=services.audit,
            metrics=services.metrics,
            on_stored=_delivered_recorder(services),
            on_accepted=on_accepted,
        )
        transports[courts.transport.mode] = courts.transport
        broker = _subscribers(services, publisher, transports, parts)
        streamer = AuditStreamer(store=services.store, publisher=publisher)
        loops: list[tuple[Part, str, Callable[[], Awaitable[None]]]] = [
            (Part.RELAY, "outbox relay", relay.run),
            (Part.RELAY, "audit stream", streamer.run),
            (
                Part.RELAY,
                "consent expiry",
                lambda: run_in_turn(
                    SoleTurn(services.store, "consent-expiry"),
                    "consent expiry",
                    lambda: run_expiry(services.store, services.audit, settings.hub_id),
                ),
            ),
            # Where /metrics is served: the gauges are this process's own.
            (
                Part.API,
                "metrics gauges",
                lambda: run_gauge_refresh(
                    services.store,
                    services.metrics,
                    settings.metrics_refresh_s,
                    pathways=settings.pathways,
                ),
            ),
            (
                Part.API,
                "consumer lag",
                lambda: run_lag_refresh(
                    services.kafka,
                    consumer_groups(settings.agencies),
                    services.metrics,
                    settings.metrics_refresh_s,
                ),
            ),
            # Safe in every relay: a notice's id is fixed per referral and limit.
            (
                Part.RELAY,
                "time limits",
                lambda: run_overdue_checks(
                    services.store,
                    hub_id=settings.hub_id,
                    pathways=settings.pathways,
                    agencies=services.agencies,
                    interval_s=settings.metrics_refresh_s,
                ),
            ),
            # The other half of the transports the delivery workers use; they
            # poll shared folders and databases, so one process at a time.
            (
                Part.DELIVERY,
                "agency databases",
                lambda: run_in_turn(
                    SoleTurn(services.store, "social-db"), "agency databases", databases.run
                ),
            ),
            (
                Part.DELIVERY,
                "court files",
                lambda: run_in_turn(
                    SoleTurn(services.store, "court-files"), "court files", courts.run
                ),
            ),
            # The charts of /ops are the serving process's own, as its /metrics are.
            (
                Part.API,
                "operations charts",
                lambda: run_ops_sampler(ops_history),
            ),
        ]
        tasks = [
            asyncio.create_task(_supervised(name, loop))
            for part, name, loop in loops
            if part in parts
        ]
        await broker.start()
        _log.info(
            "hub started",
            bootstrap=services.bootstrap_servers,
            parts=sorted(part.value for part in parts),
        )
        try:
            yield
        finally:
            await broker.stop()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await intake.close()
            await http.aclose()
            await producer.stop()
            await asyncio.to_thread(_final_checkpoint, services)
            _log.info("hub stopped")

    return create_api(
        context, lifespan=lifespan, pseudonym_key=settings.pseudonym_key, limits=settings.limits
    )


async def _supervised(name: str, run: Callable[[], Awaitable[None]]) -> None:
    """Keep a background loop alive: a failure is logged and the loop restarted.

    The loops handle the store and broker errors they expect themselves; this
    catches the rest, because a relay that died quietly would leave the API
    answering 202 for events nobody publishes.
    """
    while True:
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log.error(
                "background task failed; restarting", error_type=type(exc).__name__, reason=name
            )
            await asyncio.sleep(1.0)


def _final_checkpoint(services: HubServices) -> None:
    """Close the log's unprotected tail on a clean stop."""
    try:
        with services.store.transaction() as conn:
            services.audit.checkpoint(conn, datetime.now(UTC))
    except StoreError as exc:
        _log.warning("final audit checkpoint failed", error=str(exc))


def _delivered_recorder(services: HubServices) -> OnStored:
    """Records each newly stored inbox delivery as delivered, in the storing transaction."""

    def on_stored(conn: Connection, stored: Sequence[tuple[str, CloudEvent]], at: datetime) -> None:
        entries = [
            delivered_entry(
                event=event,
                recipient=agency_id,
                registry=services.registry,
                hub_id=services.settings.hub_id,
                at=at,
            )
            for agency_id, event in stored
        ]
        services.audit.record_many(conn, entries)

    return on_stored


def _transports(services: HubServices, http: httpx.AsyncClient) -> dict[str, Transport]:
    transports: dict[str, Transport] = {
        "pull": PullTransport(services.store, on_stored=_delivered_recorder(services)),
        "webhook": WebhookTransport(http),
        "fhir": FhirTransport(http, store=services.store, registry=services.registry),
    }
    return transports


def _subscribers(
    services: HubServices,
    publisher: KafkaPublisher,
    transports: dict[str, Transport],
    parts: frozenset[Part],
) -> KafkaBroker:
    """The consumer groups of the router and delivery parts this process runs.

    Each group's partitions are shared among every process that runs its part.
    """
    settings = services.settings
    broker = KafkaBroker(
        # FastStream takes one string as one address: a cluster's "a:1,b:2" must be a list.
        services.bootstrap_servers.split(","),
        client_id=f"{settings.hub_id}-consumers",
        security=services.kafka.security.faststream(),
        logger=logging.getLogger("hub.faststream"),
    )
    views = {
        agency.id: AgencyView(agency.id, agency.kind, dict(agency.accepts))
        for agency in settings.agencies
    }
    router = IngressRouter(
        store=services.store,
        registry=services.registry,
        agencies=views,
        publisher=publisher,
        metrics=services.metrics,
        hub_id=settings.hub_id,
        audit=services.audit,
        disclosure=settings.disclosure,
    )
    session_ms = settings.session_timeout_ms

    def subscribe(
        topics: list[str],
        group_id: str,
        handle: BatchHandler,
        dead_letter: DeadLetterHandler,
        max_records: int = 500,
    ) -> None:
        subscribe_batches(
            broker,
            topics,
            group_id,
            isolating(handle, dead_letter, max_attempts=settings.consumer_max_attempts),
            session_timeout_ms=session_ms,
            max_records=max_records,
        )

    if Part.ROUTER in parts:
        subscribe([INGRESS], "hub-router", router.handle, router.dead_letter)
    if Part.DELIVERY not in parts:
        return broker
    worker = DeliveryWorker(
        store=services.store,
        agencies=services.agencies,
        transports=transports,
        publisher=publisher,
        metrics=services.metrics,
        settings=settings.delivery,
        hub_id=settings.hub_id,
        audit=services.audit,
        registry=services.registry,
    )
    pulled = [inbox_topic(a.id) for a in settings.agencies if a.delivery.mode == "pull"]
    if pulled:
        subscribe(pulled, "hub-delivery-pull", worker.handle, worker.dead_letter)
    for agency in settings.agencies:
        if agency.delivery.mode != "pull":
            # Its own consumer group: a slow endpoint holds back only its own inbox.
            # Small batches: each event may take several timed-out attempts, and
            # a batch must finish well within the consumer's poll interval.
            group = f"hub-delivery-{agency.id}"
            subscribe(
                [inbox_topic(agency.id)], group, worker.handle, worker.dead_letter, max_records=10
            )
    return broker
