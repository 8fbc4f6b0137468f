"""The metrics catalogue: every metric ``/metrics`` serves, what it means, what it answers.

This list is the documentation (rendered to ``contracts-docs/metrics.md`` by
``hub contracts export`` and checked for staleness by ``hub contracts check``),
and tests hold the registry, the Grafana dashboards and the Prometheus rules to it.
Names are the base names: a counter is exposed with ``_total``, a histogram as
``_bucket``, ``_sum`` and ``_count``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CATALOGUE", "METRICS_DOC", "MetricSpec", "metrics_docs", "render_catalogue"]

METRICS_DOC = "metrics.md"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    type: Literal["counter", "gauge", "histogram"]
    labels: tuple[str, ...]
    meaning: str
    question: str


def _m(
    name: str,
    kind: Literal["counter", "gauge", "histogram"],
    labels: tuple[str, ...],
    meaning: str,
    question: str,
) -> MetricSpec:
    return MetricSpec(name, kind, labels, meaning, question)


CATALOGUE: tuple[MetricSpec, ...] = (
    # Referral flow along the region's pathways.
    _m(
        "hub_referral_transitions",
        "counter",
        ("pathway", "step", "agency", "status"),
        "Referrals reaching a status for the first time (requested = opened; accepted, rejected "
        "= declined, completed, cancelled, ...), by pathway, step and receiving agency. "
        "`none` for a referral on no configured step.",
        "How many referrals does each step open, and how many are accepted, declined, "
        "completed or cancelled, at which agency?",
    ),
    _m(
        "hub_referral_phase_seconds",
        "histogram",
        ("pathway", "step", "phase"),
        "Time from requested to accepted (phase=requested-accepted) and from accepted to "
        "completed (phase=accepted-completed); bounds bracket every step's within_hours "
        "(a quarter, half, once, twice and four times it).",
        "How long does each hand-off take compared with its time limit?",
    ),
    _m(
        "hub_time_limit_breaches_open",
        "gauge",
        ("step", "agency", "limit"),
        "Open referrals past their time limit: limit=step when not answered within the "
        "step's within_hours, limit=due_by when not closed by its due_by.",
        "Which survivors' referrals are waiting past their limit right now, and where?",
    ),
    _m(
        "hub_time_limit_breaches",
        "counter",
        ("step", "agency", "limit"),
        "Referrals whose time limit passed before it was met, counted once per limit.",
        "How often does each step or agency miss its time limit?",
    ),
    _m(
        "hub_referrals_overdue",
        "gauge",
        (),
        "Referrals still open past their due-by time.",
        "Has any referral stalled past the date its referrer asked for?",
    ),
    # Each agency's backlog.
    _m(
        "hub_inbox_unacked_events",
        "gauge",
        ("agency",),
        "Pull-inbox events delivered to an agency and not yet acknowledged.",
        "Which agency is falling behind reading its inbox?",
    ),
    _m(
        "hub_inbox_oldest_unacked_age_seconds",
        "gauge",
        ("agency",),
        "Age of the agency's oldest unacknowledged pull-inbox event.",
        "Has an agency left something unread for too long?",
    ),
    _m(
        "hub_court_files_unacknowledged",
        "gauge",
        ("agency",),
        "Files offered to a court's registry and not yet acknowledged.",
        "Is a court's registry picking up its files?",
    ),
    # Delivery health.
    _m(
        "hub_events_delivered",
        "counter",
        ("mode",),
        "Events handed to an agency, by delivery mode (pull, webhook, fhir).",
        "Are events reaching agencies?",
    ),
    _m(
        "hub_delivery_attempts",
        "counter",
        ("outcome",),
        "Outbound (webhook, FHIR) delivery attempts, by outcome (delivered, failed).",
        "What share of push deliveries fail?",
    ),
    _m(
        "hub_delivery_failures",
        "counter",
        ("agency", "mode"),
        "Failed webhook or FHIR delivery attempts, by agency and mode.",
        "Which agency's endpoint is failing?",
    ),
    _m(
        "hub_events_dead_lettered",
        "counter",
        ("where",),
        "Events dead-lettered, by where (ingress, inbox).",
        "Is the hub giving up on events?",
    ),
    _m(
        "hub_dead_letters_open",
        "gauge",
        ("agency",),
        "Dead letters not yet replayed, by agency (empty agency for ingress records).",
        "Which agency has events waiting for an operator to replay?",
    ),
    _m(
        "hub_delivery_seconds",
        "histogram",
        (),
        "From an event's acceptance to its delivery.",
        "How fresh is what agencies receive?",
    ),
    _m(
        "hub_routing_seconds",
        "histogram",
        (),
        "From an event's acceptance to its routing to agency inboxes.",
        "Is routing keeping up?",
    ),
    # Intake and the pipeline.
    _m(
        "hub_events_accepted",
        "counter",
        ("type",),
        "Events accepted into the outbox, by event type; type=disclosure.compelled counts "
        "consent overrides (compelled disclosures).",
        "How much is coming in, of which kind, and how often is consent overridden?",
    ),
    _m(
        "hub_events_refused",
        "counter",
        ("reason",),
        "Events refused, by reason code.",
        "Why is the hub refusing events?",
    ),
    _m(
        "hub_events_routed",
        "counter",
        ("type",),
        "Copies routed to an agency inbox, by event type.",
        "How many copies does routing produce?",
    ),
    _m(
        "hub_outbox_pending",
        "gauge",
        (),
        "Accepted events not yet published to Kafka.",
        "Is publishing keeping up with intake?",
    ),
    _m(
        "hub_outbox_oldest_age_seconds",
        "gauge",
        (),
        "Age of the oldest accepted event not yet published (0 when none).",
        "Is publishing stuck?",
    ),
    _m(
        "hub_consumer_lag",
        "gauge",
        ("group", "topic", "partition"),
        "Records on a partition not yet committed by a hub consumer group (routing, delivery); "
        "read from Kafka every metrics_refresh_s.",
        "Is the hub keeping up with Kafka, and which consumer is behind?",
    ),
    _m(
        "hub_requests_limited",
        "counter",
        ("agency", "limit"),
        "Requests answered 429, by agency (or anonymous) and by the limit spent.",
        "Is an agency's client hammering the hub?",
    ),
    # Consent.
    _m(
        "hub_deliveries_blocked",
        "counter",
        ("reason",),
        "Deliveries blocked by consent, by reason code.",
        "Why are referrals not reaching agencies?",
    ),
    _m(
        "hub_fields_withheld",
        "counter",
        ("category",),
        "Payload fields withheld by redaction, by data category.",
        "How much does consent scope hold back?",
    ),
    _m(
        "hub_consent_withdrawals",
        "counter",
        (),
        "Consents withdrawn, as recorded in consent history.",
        "How often do survivors withdraw consent?",
    ),
    # Adapters.
    _m(
        "hub_agency_database_up",
        "gauge",
        ("agency",),
        "Whether a social-db agency's database answered the hub's last use (1) or not (0).",
        "Can the hub reach each social-db agency's database?",
    ),
    _m(
        "hub_agency_rows_taken",
        "counter",
        ("agency", "outcome"),
        "Rows taken in from social-db agencies' tables, by outcome.",
        "Are agencies' database rows being taken in or refused?",
    ),
    _m(
        "hub_court_files",
        "counter",
        ("agency", "outcome"),
        "Files taken in from courts' registries, by outcome (processed, rejected).",
        "Are court files being processed or rejected?",
    ),
    _m(
        "hub_court_files_reoffered",
        "counter",
        ("agency",),
        "Delivery files written again: missing from the court's folder, unacknowledged.",
        "Is a court losing or ignoring its files?",
    ),
)


def render_catalogue() -> str:
    lines = [
        "# Metrics catalogue",
        "",
        "Everything the hub serves on `/metrics`. Generated from `hub/observability/catalogue.py`",
        "by `hub contracts export --out contracts-docs`; `hub contracts check` fails when stale.",
        "Counters are exposed with `_total`; histograms as `_bucket`, `_sum` and `_count`.",
        "Labels are agency ids, pathway and step ids and codes from the configuration, never",
        "referral or subject ids. Values read from the store are refreshed every",
        "`metrics_refresh_s`, not per scrape. Dashboards: `deploy/grafana/`; alert rules:",
        "`deploy/prometheus/`.",
        "",
        "| Name | Type | Labels | Meaning | Question it answers |",
        "|---|---|---|---|---|",
    ]
    for spec in CATALOGUE:
        labels = ", ".join(f"`{label}`" for label in spec.labels) or "-"
        lines.append(
            f"| `{spec.name}` | {spec.type} | {labels} | {spec.meaning} | {spec.question} |"
        )
    return "\n".join(lines) + "\n"


def metrics_docs() -> dict[str, str]:
    """The catalogue's page, for the contract docs' export and staleness check."""
    return {METRICS_DOC: render_catalogue()}
