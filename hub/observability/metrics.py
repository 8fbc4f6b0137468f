"""Flow metrics, in a registry passed in by the runtime (never a global one)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from hub.observability.flow import FlowCollector

__all__ = ["HubMetrics"]


@dataclass(frozen=True)
class HubMetrics:
    registry: CollectorRegistry
    accepted: Counter
    refused: Counter
    routed: Counter
    blocked: Counter
    fields_withheld: Counter
    delivered: Counter
    delivery_attempts: Counter
    dead_lettered: Counter
    requests_limited: Counter
    outbox_pending: Gauge
    referrals_overdue: Gauge
    routing_latency: Histogram
    delivery_latency: Histogram
    agency_database_up: Gauge
    agency_rows_taken: Counter
    court_files: Counter
    court_files_unacknowledged: Gauge
    court_files_reoffered: Counter
    delivery_failures: Counter
    consumer_lag: Gauge
    flow: FlowCollector

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> HubMetrics:
        registry = registry or CollectorRegistry()
        flow = FlowCollector()
        registry.register(flow)
        return cls(
            registry=registry,
            accepted=Counter(
                "hub_events_accepted",
                "Events accepted into the outbox.",
                ["type"],
                registry=registry,
            ),
            refused=Counter(
                "hub_events_refused", "Events refused, by reason.", ["reason"], registry=registry
            ),
            routed=Counter(
                "hub_events_routed",
                "Copies routed to an agency inbox.",
                ["type"],
                registry=registry,
            ),
            blocked=Counter(
                "hub_deliveries_blocked",
                "Deliveries blocked by consent, by reason.",
                ["reason"],
                registry=registry,
            ),
            fields_withheld=Counter(
                "hub_fields_withheld",
                "Payload fields withheld by redaction, by category.",
                ["category"],
                registry=registry,
            ),
            delivered=Counter(
                "hub_events_delivered",
                "Events handed to an agency, by mode.",
                ["mode"],
                registry=registry,
            ),
            delivery_attempts=Counter(
                "hub_delivery_attempts",
                "Outbound delivery attempts, by outcome.",
                ["outcome"],
                registry=registry,
            ),
            dead_lettered=Counter(
                "hub_events_dead_lettered",
                "Events dead-lettered, by topic kind.",
                ["where"],
                registry=registry,
            ),
            requests_limited=Counter(
                "hub_requests_limited",
                "Requests answered 429, by agency (or anonymous) and by the limit spent.",
                ["agency", "limit"],
                registry=registry,
            ),
            outbox_pending=Gauge(
                "hub_outbox_pending", "Accepted events not yet published.", registry=registry
            ),
            referrals_overdue=Gauge(
                "hub_referrals_overdue",
                "Referrals still open past their due-by time (alert when above 0).",
                registry=registry,
            ),
            routing_latency=Histogram(
                "hub_routing_seconds",
                "From acceptance to routed.",
                registry=registry,
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            ),
            delivery_latency=Histogram(
                "hub_delivery_seconds",
                "From acceptance to delivered.",
                registry=registry,
                buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            ),
            agency_database_up=Gauge(
                "hub_agency_database_up",
                "Whether a social-db agency's database answered the hub's last use (1) or not.",
                ["agency"],
                registry=registry,
            ),
            agency_rows_taken=Counter(
                "hub_agency_rows_taken",
                "Rows taken in from social-db agencies' tables, by outcome.",
                ["agency", "outcome"],
                registry=registry,
            ),
            court_files=Counter(
                "hub_court_files",
                "Files taken in from courts' registries, by outcome (processed, rejected).",
                ["agency", "outcome"],
                registry=registry,
            ),
            court_files_unacknowledged=Gauge(
                "hub_court_files_unacknowledged",
                "Files offered to a court's registry and not yet acknowledged.",
                ["agency"],
                registry=registry,
            ),
            court_files_reoffered=Counter(
                "hub_court_files_reoffered",
                "Delivery files written again: missing from the court's folder, unacknowledged.",
                ["agency"],
                registry=registry,
            ),
            delivery_failures=Counter(
                "hub_delivery_failures",
                "Failed webhook or FHIR delivery attempts, by agency and mode.",
                ["agency", "mode"],
                registry=registry,
            ),
            consumer_lag=Gauge(
                "hub_consumer_lag",
                "Records on a partition not yet committed by a hub consumer group.",
                ["group", "topic", "partition"],
                registry=registry,
            ),
            flow=flow,
        )
