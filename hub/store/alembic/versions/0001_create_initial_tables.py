"""Create the initial tables.

Revision ID: 0001
Revises: <base>
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

from hub.store._types import UTCDateTime

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _v1_tables() -> MetaData:
    md = MetaData()
    serial = BigInteger().with_variant(Integer(), "sqlite")
    Table(
        "agencies",
        md,
        Column("agency_id", Text, primary_key=True),
        Column("kind", Text, nullable=False),
        Column("region", Text, nullable=False),
        Column("display_name", Text, nullable=False),
        Column("delivery_mode", Text, nullable=False),
        Column("settings", JSON, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
    )
    Table(
        "agency_tokens",
        md,
        Column(
            "agency_id",
            Text,
            ForeignKey("agencies.agency_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        Column("token_hash", Text, nullable=False),
        Column("rotated_at", UTCDateTime, nullable=False),
    )
    Table(
        "consents",
        md,
        Column("consent_id", Text, primary_key=True),
        Column("subject_id", Text, nullable=False),
        Column("recorded_by", Text, nullable=False),
        Column("granted_by", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("scope", JSON, nullable=False),
        Column("valid_from", UTCDateTime, nullable=False),
        Column("valid_until", UTCDateTime, nullable=True),
        Column("updated_at", UTCDateTime, nullable=False),
        Column("last_event_id", Text, nullable=False),
    )
    Table(
        "consent_history",
        md,
        Column(
            "consent_id",
            Text,
            ForeignKey("consents.consent_id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("seq", Integer, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("scope", JSON, nullable=False),
        Column("valid_from", UTCDateTime, nullable=False),
        Column("valid_until", UTCDateTime, nullable=True),
        Column("changed_at", UTCDateTime, nullable=False),
        PrimaryKeyConstraint("consent_id", "seq", name="pk_consent_history"),
        UniqueConstraint("consent_id", "event_id", name="uq_consent_history_event"),
    )
    Table(
        "referrals",
        md,
        Column("referral_id", Text, primary_key=True),
        Column("from_agency", Text, nullable=False),
        Column("to_agency", Text, nullable=False),
        Column("subject_id", Text, nullable=False),
        Column("consent_id", Text, nullable=False),
        Column("service", Text, nullable=False),
        Column("priority", Text, nullable=False),
        Column("status", Text, nullable=False),
        Column("due_by", UTCDateTime, nullable=True),
        Column("pathway_step", Text, nullable=True),
        Column("created_at", UTCDateTime, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        Column("version", Integer, nullable=False),
    )
    Table(
        "referral_timeline",
        md,
        Column(
            "referral_id",
            Text,
            ForeignKey("referrals.referral_id", ondelete="CASCADE"),
            nullable=False,
        ),
        Column("seq", Integer, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("status", Text, nullable=True),
        Column("actor", Text, nullable=False),
        Column("at", UTCDateTime, nullable=False),
        Column("detail", JSON, nullable=False),
        PrimaryKeyConstraint("referral_id", "seq", name="pk_referral_timeline"),
        UniqueConstraint("referral_id", "event_id", name="uq_referral_timeline_event"),
    )
    Table(
        "processed_events",
        md,
        Column("consumer", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("processed_at", UTCDateTime, nullable=False),
        PrimaryKeyConstraint("consumer", "event_id", name="pk_processed_events"),
    )
    Table(
        "outbox",
        md,
        Column("seq", serial, primary_key=True, autoincrement=True),
        Column("event_id", Text, nullable=False),
        Column("topic", Text, nullable=False),
        Column("key", Text, nullable=False),
        Column("envelope", JSON, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("published_at", UTCDateTime, nullable=True),
        UniqueConstraint("event_id", name="uq_outbox_event_id"),
        sqlite_autoincrement=True,
    )
    Table(
        "inbox",
        md,
        Column("seq", serial, primary_key=True, autoincrement=True),
        Column("agency_id", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("envelope", JSON, nullable=False),
        Column("delivered_at", UTCDateTime, nullable=False),
        Column("acked_at", UTCDateTime, nullable=True),
        UniqueConstraint("agency_id", "event_id", name="uq_inbox_agency_event"),
        sqlite_autoincrement=True,
    )
    Table(
        "dead_letters",
        md,
        Column("id", serial, primary_key=True, autoincrement=True),
        Column("topic", Text, nullable=False),
        Column("agency_id", Text, nullable=True),
        Column("event_id", Text, nullable=False),
        Column("reason", Text, nullable=False),
        Column("envelope", JSON(none_as_null=True), nullable=True),
        Column("attempts", Integer, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("replayed_at", UTCDateTime, nullable=True),
        Column("excluded_reason", Text, nullable=True),
        sqlite_autoincrement=True,
    )
    Table(
        "audit_entries",
        md,
        Column("chain_id", Text, nullable=False),
        Column("seq", BigInteger, nullable=False),
        Column("entry_id", Text, nullable=False),
        Column("at", UTCDateTime, nullable=False),
        Column("action", Text, nullable=False),
        Column("actor", Text, nullable=False),
        Column("event_id", Text, nullable=True),
        Column("referral_id", Text, nullable=True),
        Column("consent_id", Text, nullable=True),
        Column("details", JSON, nullable=False),
        Column("prev_hash", Text, nullable=False),
        Column("hash", Text, nullable=False),
        PrimaryKeyConstraint("chain_id", "seq", name="pk_audit_entries"),
        UniqueConstraint("entry_id", name="uq_audit_entries_entry_id"),
    )
    Table(
        "audit_checkpoints",
        md,
        Column("seq", serial, primary_key=True, autoincrement=True),
        Column("at", UTCDateTime, nullable=False),
        Column("heads", JSON, nullable=False),
        Column("prev_hash", Text, nullable=False),
        Column("signature", Text, nullable=False),
        Column("key_id", Text, nullable=False),
        sqlite_autoincrement=True,
    )
    Table(
        "subject_keys",
        md,
        Column("subject_id", Text, primary_key=True),
        Column("key", LargeBinary, nullable=True),
        Column("created_at", UTCDateTime, nullable=False),
        Column("destroyed_at", UTCDateTime, nullable=True),
    )
    return md


def upgrade() -> None:
    _v1_tables().create_all(op.get_bind(), checkfirst=False)
