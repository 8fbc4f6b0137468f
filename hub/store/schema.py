"""The runtime table definitions: what the repositories query.

This module describes the schema as it stands after every revision in
:mod:`hub.store.alembic` has run. It is never used to create tables; a change
here needs a new revision that produces the same result, and the store tests
compare the two by reflecting a migrated database. Alembic's own version table
(and ``schema_migrations``, left by the former runner in stores it created)
are not described here: the hub never queries them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)

from hub.store._types import UTCDateTime

__all__ = [
    "agencies",
    "agency_tokens",
    "audit_checkpoints",
    "audit_entries",
    "audit_stream_heads",
    "consent_history",
    "consents",
    "dead_letters",
    "disclosures",
    "inbox",
    "metadata",
    "outbox",
    "processed_events",
    "referral_subjects",
    "referral_timeline",
    "referrals",
    "statistics_outcomes",
    "statistics_referrals",
    "subject_keys",
]

metadata = MetaData()

# SQLite only makes an INTEGER PRIMARY KEY an alias of the rowid (and so
# auto-incrementing); BIGINT there would be a plain column without defaults.
_SerialId = BigInteger().with_variant(Integer(), "sqlite")

agencies = Table(
    "agencies",
    metadata,
    Column("agency_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("display_name", Text, nullable=False),
    Column("delivery_mode", Text, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

agency_tokens = Table(
    "agency_tokens",
    metadata,
    Column(
        "agency_id",
        Text,
        ForeignKey("agencies.agency_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("token_hash", Text, nullable=False),
    Column("rotated_at", UTCDateTime, nullable=False),
)

consents = Table(
    "consents",
    metadata,
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

consent_history = Table(
    "consent_history",
    metadata,
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

referrals = Table(
    "referrals",
    metadata,
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
    Index("ix_referrals_from_agency", "from_agency", "updated_at"),
    Index("ix_referrals_to_agency", "to_agency", "updated_at"),
)

referral_timeline = Table(
    "referral_timeline",
    metadata,
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
    # An event is its source (the actor) and id: ids are unique per source only.
    UniqueConstraint("referral_id", "actor", "event_id", name="uq_referral_timeline_event"),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("consumer", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("processed_at", UTCDateTime, nullable=False),
    # CloudEvents ids are unique per source only: an event is (source, event_id).
    Column("source", Text, nullable=False),
    PrimaryKeyConstraint("consumer", "source", "event_id", name="pk_processed_events"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("seq", _SerialId, primary_key=True, autoincrement=True),
    Column("event_id", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("envelope", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("published_at", UTCDateTime, nullable=True),
    Column("source", Text, nullable=False),
    # A relay's lease on a pending row: no other relay publishes it before then.
    Column("claimed_until", UTCDateTime, nullable=True),
    UniqueConstraint("source", "event_id", name="uq_outbox_source_event"),
    Index("ix_outbox_pending", "published_at", "seq"),
    sqlite_autoincrement=True,
)

inbox = Table(
    "inbox",
    metadata,
    Column("seq", _SerialId, primary_key=True, autoincrement=True),
    Column("agency_id", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("envelope", JSON, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=False),
    Column("acked_at", UTCDateTime, nullable=True),
    Column("source", Text, nullable=False),
    UniqueConstraint("agency_id", "source", "event_id", name="uq_inbox_agency_source_event"),
    Index("ix_inbox_agency_acked", "agency_id", "acked_at", "seq"),
    sqlite_autoincrement=True,
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", _SerialId, primary_key=True, autoincrement=True),
    Column("topic", Text, nullable=False),
    Column("agency_id", Text, nullable=True),
    Column("event_id", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("envelope", JSON(none_as_null=True), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("replayed_at", UTCDateTime, nullable=True),
    Column("excluded_reason", Text, nullable=True),
    Index("ix_dead_letters_agency_id", "agency_id"),
    sqlite_autoincrement=True,
)

audit_entries = Table(
    "audit_entries",
    metadata,
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
    Index("ix_audit_entries_at", "at"),
    Index("ix_audit_entries_referral_id", "referral_id"),
)

audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", _SerialId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("heads", JSON, nullable=False),
    Column("prev_hash", Text, nullable=False),
    Column("signature", Text, nullable=False),
    Column("key_id", Text, nullable=False),
    sqlite_autoincrement=True,
)

disclosures = Table(
    "disclosures",
    metadata,
    Column("event_id", Text, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("referral_id", Text, nullable=False),
    Column("consent_id", Text, nullable=True),
    Column("disclosed", JSON, nullable=False),
    Column("withheld", JSON, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("source", Text, nullable=False),
    PrimaryKeyConstraint("source", "event_id", "recipient", name="pk_disclosures"),
    Index("ix_disclosures_consent_id", "consent_id"),
    Index("ix_disclosures_referral_id", "referral_id"),
)

audit_stream_heads = Table(
    "audit_stream_heads",
    metadata,
    Column("chain_id", Text, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("published_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("chain_id", name="pk_audit_stream_heads"),
)

referral_subjects = Table(
    "referral_subjects",
    metadata,
    Column("referral_id", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Null only for a referral accepted before the parties were recorded.
    Column("from_agency", Text, nullable=True),
    Column("to_agency", Text, nullable=True),
    PrimaryKeyConstraint("referral_id", name="pk_referral_subjects"),
    Index("ix_referral_subjects_subject_id", "subject_id"),
)

subject_keys = Table(
    "subject_keys",
    metadata,
    Column("subject_id", Text, primary_key=True),
    Column("key", LargeBinary, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("destroyed_at", UTCDateTime, nullable=True),
)

# Referrals whose consent allows statistics, with the incident's codes in clear:
# never a name, never free text, only what aggregates are counted from.
statistics_referrals = Table(
    "statistics_referrals",
    metadata,
    Column("referral_id", Text, nullable=False),
    Column("counted_at", UTCDateTime, nullable=False),
    Column("violence", Text, nullable=True),
    Column("online", Boolean, nullable=True),
    Column("age_band", Text, nullable=True),
    Column("first_contact", Text, nullable=True),
    PrimaryKeyConstraint("referral_id", name="pk_statistics_referrals"),
    Index("ix_statistics_referrals_counted_at", "counted_at"),
)

statistics_outcomes = Table(
    "statistics_outcomes",
    metadata,
    Column("source", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("referral_id", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("source", "event_id", name="pk_statistics_outcomes"),
    Index("ix_statistics_outcomes_referral_id", "referral_id"),
)
