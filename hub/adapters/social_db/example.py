"""An example case-management schema and the mapping that connects it.

It stands for what a social-service agency's application typically has: a
table of referrals its workers send, one of status updates and one of outcomes
on referrals it received, and a table the hub fills with what arrives. Agency IT teams start
from :func:`example_mapping` and rename; the demo and the tests run on it.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, Text

from hub.config.social_db import InboundTable, OutgoingSource, SocialDbDelivery

__all__ = ["example_mapping", "example_tables"]


def example_tables(metadata: MetaData | None = None) -> MetaData:
    """The agency application's own tables (portable DDL: SQLite, PostgreSQL, MariaDB)."""
    metadata = metadata or MetaData()
    Table(
        "case_referrals",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("dossier_no", String(64), nullable=False),
        Column("beneficiary_ref", String(64), nullable=False),
        Column("to_org", String(64), nullable=False),
        Column("service_code", String(32), nullable=False),
        Column("urgency", String(16), nullable=False),
        Column("consent_ref", String(128), nullable=False),
        Column("due_date", DateTime, nullable=True),
        Column("motive", Text, nullable=True),
        Column("risk", String(16), nullable=True),
        Column("phone", String(32), nullable=True),
        Column("no_contact", Boolean, nullable=True),
    )
    Table(
        "case_status_updates",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("dossier_no", String(64), nullable=False),
        Column("new_status", String(32), nullable=False),
        Column("why", String(200), nullable=True),
        Column("remark", Text, nullable=True),
    )
    Table(
        "case_outcomes",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("dossier_no", String(64), nullable=False),
        Column("result_code", String(32), nullable=False),
        Column("occurred", DateTime, nullable=False),
        Column("remark", Text, nullable=True),
    )
    Table(
        "hub_received",
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("event_type", String(64), nullable=False),
        Column("sender", String(64), nullable=False),
        Column("sent_at", DateTime, nullable=False),
        Column("dossier_no", String(128), nullable=True),
        Column("from_org", String(64), nullable=True),
        Column("service_code", String(64), nullable=True),
        Column("urgency", String(16), nullable=True),
        Column("new_status", String(32), nullable=True),
        Column("motive", Text, nullable=True),
        Column("body", Text, nullable=False),
    )
    return metadata


def example_mapping(url_env: str = "HUB_SOCIAL_DB_URL") -> SocialDbDelivery:
    """How the hub reads and writes the example tables."""
    return SocialDbDelivery(
        mode="social-db",
        url_env=url_env,
        poll_interval_s=0.5,
        outgoing=(
            OutgoingSource(
                kind="referral",
                table="case_referrals",
                key="id",
                columns={
                    "referral_id": "dossier_no",
                    "subject_ref": "beneficiary_ref",
                    "to_agency": "to_org",
                    "service": "service_code",
                    "priority": "urgency",
                    "consent_id": "consent_ref",
                    "due_by": "due_date",
                    "reason": "motive",
                    "risk_level": "risk",
                    "phone": "phone",
                    "do_not_contact": "no_contact",
                },
            ),
            OutgoingSource(
                kind="status",
                table="case_status_updates",
                key="id",
                columns={
                    "referral_id": "dossier_no",
                    "status": "new_status",
                    "status_reason": "why",
                    "note": "remark",
                },
            ),
            OutgoingSource(
                kind="outcome",
                table="case_outcomes",
                key="id",
                columns={
                    "referral_id": "dossier_no",
                    "outcome": "result_code",
                    "occurred_at": "occurred",
                    "note": "remark",
                },
            ),
        ),
        inbound=InboundTable(
            table="hub_received",
            columns={
                "event_id": "event_id",
                "event_type": "event_type",
                "source": "sender",
                "time": "sent_at",
                "referral_id": "dossier_no",
                "from_agency": "from_org",
                "service": "service_code",
                "priority": "urgency",
                "status": "new_status",
                "reason": "motive",
                "payload": "body",
            },
        ),
        value_maps={
            "priority": {"NORMAL": "routine", "URGENT": "urgent", "VITAL": "emergency"},
            "service": {
                "AIDE-ECO": "social-economic-support",
                "HEBERG": "emergency-shelter",
                "SOUTIEN-PSY": "psychosocial-support",
            },
            "outcome": {
                "AIDE-ACCORDEE": "financial-support-granted",
                "HEBERGEE": "shelter-provided",
                "REFUS-BENEF": "declined-by-survivor",
            },
            "status": {
                "RECU": "received",
                "ACCEPTE": "accepted",
                "REFUSE": "rejected",
                "EN-COURS": "in-progress",
                "CLOS": "completed",
            },
        },
    )
