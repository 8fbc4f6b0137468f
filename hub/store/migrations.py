"""Versioned schema migrations.

Each :class:`Migration` carries its own DDL, written against table definitions
frozen here at the time the migration was added: editing :mod:`hub.store.schema`
later must never change what an old migration does. A schema change is a new
``Migration`` appended to :data:`MIGRATIONS`.

:func:`migrate` applies the missing migrations in order, one transaction each,
and records them in ``schema_migrations``. Concurrent callers (two processes
starting together) are serialised by a lock taken inside each transaction: a
PostgreSQL transaction-scoped advisory lock, or SQLite's write lock, which every
transaction on a store engine takes up front (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    inspect,
    select,
    text,
)

from hub.errors import StoreError
from hub.store._errors import store_errors
from hub.store._types import UTCDateTime

__all__ = ["MIGRATIONS", "Migration", "current_version", "migrate"]


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema's history."""

    version: int
    description: str
    upgrade: Callable[[Connection], None]


# A fixed key for pg_advisory_xact_lock, derived from a name so it is unlikely
# to collide with advisory locks other applications take in the same database.
_PG_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"referral-hub:schema-migrations").digest()[:8], "big", signed=True
)

_versions = Table(
    "schema_migrations",
    MetaData(),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", Text, nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)


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


def _v1_create_tables(conn: Connection) -> None:
    _v1_tables().create_all(conn, checkfirst=False)


def _v2_query_indexes(conn: Connection) -> None:
    # Plain CREATE INDEX reads the same on SQLite and PostgreSQL.
    for statement in (
        "CREATE INDEX ix_inbox_agency_acked ON inbox (agency_id, acked_at, seq)",
        "CREATE INDEX ix_outbox_pending ON outbox (published_at, seq)",
        "CREATE INDEX ix_referrals_from_agency ON referrals (from_agency, updated_at)",
        "CREATE INDEX ix_referrals_to_agency ON referrals (to_agency, updated_at)",
        "CREATE INDEX ix_dead_letters_agency_id ON dead_letters (agency_id)",
        "CREATE INDEX ix_audit_entries_at ON audit_entries (at)",
        "CREATE INDEX ix_audit_entries_referral_id ON audit_entries (referral_id)",
    ):
        conn.execute(text(statement))


def _v3_disclosures(conn: Connection) -> None:
    md = MetaData()
    Table(
        "disclosures",
        md,
        Column("event_id", Text, nullable=False),
        Column("recipient", Text, nullable=False),
        Column("referral_id", Text, nullable=False),
        Column("consent_id", Text, nullable=True),
        Column("disclosed", JSON, nullable=False),
        Column("withheld", JSON, nullable=False),
        Column("at", UTCDateTime, nullable=False),
        PrimaryKeyConstraint("event_id", "recipient", name="pk_disclosures"),
        Index("ix_disclosures_consent_id", "consent_id"),
        Index("ix_disclosures_referral_id", "referral_id"),
    )
    md.create_all(conn, checkfirst=False)


def _v4_referral_subjects(conn: Connection) -> None:
    md = MetaData()
    Table(
        "referral_subjects",
        md,
        Column("referral_id", Text, nullable=False),
        Column("subject_id", Text, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        PrimaryKeyConstraint("referral_id", name="pk_referral_subjects"),
        Index("ix_referral_subjects_subject_id", "subject_id"),
    )
    md.create_all(conn, checkfirst=False)


def _v5_audit_stream_heads(conn: Connection) -> None:
    md = MetaData()
    Table(
        "audit_stream_heads",
        md,
        Column("chain_id", Text, nullable=False),
        Column("seq", BigInteger, nullable=False),
        Column("published_at", UTCDateTime, nullable=False),
        PrimaryKeyConstraint("chain_id", name="pk_audit_stream_heads"),
    )
    md.create_all(conn, checkfirst=False)


def _v6_tables() -> MetaData:
    """The tables keyed by event id, as they are keyed from version 10: with the source."""
    md = MetaData()
    serial = BigInteger().with_variant(Integer(), "sqlite")
    Table(
        "processed_events",
        md,
        Column("consumer", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("processed_at", UTCDateTime, nullable=False),
        Column("source", Text, nullable=False),
        PrimaryKeyConstraint("consumer", "source", "event_id", name="pk_processed_events"),
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
        Column("source", Text, nullable=False),
        UniqueConstraint("source", "event_id", name="uq_outbox_source_event"),
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
        Column("source", Text, nullable=False),
        UniqueConstraint("agency_id", "source", "event_id", name="uq_inbox_agency_source_event"),
        sqlite_autoincrement=True,
    )
    Table(
        "disclosures",
        md,
        Column("event_id", Text, nullable=False),
        Column("recipient", Text, nullable=False),
        Column("referral_id", Text, nullable=False),
        Column("consent_id", Text, nullable=True),
        Column("disclosed", JSON, nullable=False),
        Column("withheld", JSON, nullable=False),
        Column("at", UTCDateTime, nullable=False),
        Column("source", Text, nullable=False),
        PrimaryKeyConstraint("source", "event_id", "recipient", name="pk_disclosures"),
    )
    Table("referrals", md, Column("referral_id", Text, primary_key=True))
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
        UniqueConstraint("referral_id", "actor", "event_id", name="uq_referral_timeline_event"),
    )
    return md


#: Per table, the indexes building it anew (on SQLite) must create again.
_V10_INDEXES: dict[str, tuple[str, ...]] = {
    "outbox": ("CREATE INDEX ix_outbox_pending ON outbox (published_at, seq)",),
    "inbox": ("CREATE INDEX ix_inbox_agency_acked ON inbox (agency_id, acked_at, seq)",),
    "processed_events": (),
    "disclosures": (
        "CREATE INDEX ix_disclosures_consent_id ON disclosures (consent_id)",
        "CREATE INDEX ix_disclosures_referral_id ON disclosures (referral_id)",
    ),
    "referral_timeline": (),
}

#: On PostgreSQL: each key dropped, and what replaces it.
_V10_KEYS = (
    (
        "outbox",
        "uq_outbox_event_id",
        "uq_outbox_source_event UNIQUE (source, event_id)",
    ),
    (
        "inbox",
        "uq_inbox_agency_event",
        "uq_inbox_agency_source_event UNIQUE (agency_id, source, event_id)",
    ),
    (
        "processed_events",
        "pk_processed_events",
        "pk_processed_events PRIMARY KEY (consumer, source, event_id)",
    ),
    (
        "disclosures",
        "pk_disclosures",
        "pk_disclosures PRIMARY KEY (source, event_id, recipient)",
    ),
    (
        "referral_timeline",
        "uq_referral_timeline_event",
        "uq_referral_timeline_event UNIQUE (referral_id, actor, event_id)",
    ),
)


def _v6_event_ids_per_source(conn: Connection) -> None:
    # Rows written before carry their source in their envelope (outbox, inbox),
    # or are about an event whose accepted copy does (processed events,
    # disclosures); a hub notice never accepted has none, and keeps "". A
    # timeline entry's actor is already its event's source.
    envelope_source = (
        "json_extract(envelope, '$.source')"
        if conn.dialect.name == "sqlite"
        else "(envelope ->> 'source')"
    )
    accepted_source = (
        "(SELECT o.source FROM outbox o WHERE o.topic = 'hub.ingress' AND o.event_id = {}.event_id)"
    )
    fills = {
        "outbox": f"COALESCE({envelope_source}, '')",
        "inbox": f"COALESCE({envelope_source}, '')",
        "processed_events": f"COALESCE({accepted_source.format('processed_events')}, '')",
        "disclosures": f"COALESCE({accepted_source.format('disclosures')}, '')",
    }
    for name, fill in fills.items():
        conn.execute(text(f"ALTER TABLE {name} ADD COLUMN source TEXT NOT NULL DEFAULT ''"))
        conn.execute(text(f"UPDATE {name} SET source = {fill}"))  # noqa: S608 - fixed names
    if conn.dialect.name == "postgresql":
        for name in fills:
            conn.execute(text(f"ALTER TABLE {name} ALTER COLUMN source DROP DEFAULT"))
        for name, old_key, new_key in _V10_KEYS:
            conn.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {old_key}"))
            conn.execute(text(f"ALTER TABLE {name} ADD CONSTRAINT {new_key}"))
        return
    # SQLite changes a table's constraints only by building the table anew.
    tables = _v6_tables()
    for name, indexes in _V10_INDEXES.items():
        table = tables.tables[name]
        columns = ", ".join(column.name for column in table.columns)
        conn.execute(text(f"ALTER TABLE {name} RENAME TO {name}_v9"))
        table.create(conn, checkfirst=False)
        conn.execute(text(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM {name}_v9"))  # noqa: S608
        conn.execute(text(f"DROP TABLE {name}_v9"))
        for statement in indexes:
            conn.execute(text(statement))


def _v7_referral_parties(conn: Connection) -> None:
    # Intake decides who may move or disclose a referral before the router has
    # projected it, so the parties are known from the moment it is accepted.
    for column in ("from_agency", "to_agency"):
        conn.execute(text(f"ALTER TABLE referral_subjects ADD COLUMN {column} TEXT"))
    conn.execute(
        text(
            "UPDATE referral_subjects SET"
            " from_agency = (SELECT r.from_agency FROM referrals r"
            " WHERE r.referral_id = referral_subjects.referral_id),"
            " to_agency = (SELECT r.to_agency FROM referrals r"
            " WHERE r.referral_id = referral_subjects.referral_id)"
        )
    )


def _v8_statistics(conn: Connection) -> None:
    # Only referrals whose consent allows statistics are here, with the
    # incident's codes in clear: the sealed outbox cannot be counted from.
    md = MetaData()
    Table(
        "statistics_referrals",
        md,
        Column("referral_id", Text, nullable=False),
        Column("counted_at", UTCDateTime, nullable=False),
        Column("violence", Text, nullable=True),
        Column("online", Boolean, nullable=True),
        Column("age_band", Text, nullable=True),
        Column("first_contact", Text, nullable=True),
        PrimaryKeyConstraint("referral_id", name="pk_statistics_referrals"),
        Index("ix_statistics_referrals_counted_at", "counted_at"),
    )
    Table(
        "statistics_outcomes",
        md,
        Column("source", Text, nullable=False),
        Column("event_id", Text, nullable=False),
        Column("referral_id", Text, nullable=False),
        Column("outcome", Text, nullable=False),
        Column("at", UTCDateTime, nullable=False),
        PrimaryKeyConstraint("source", "event_id", name="pk_statistics_outcomes"),
        Index("ix_statistics_outcomes_referral_id", "referral_id"),
    )
    md.create_all(conn, checkfirst=False)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create the initial tables", _v1_create_tables),
    Migration(2, "index the columns the repositories filter on", _v2_query_indexes),
    Migration(3, "record what was disclosed to whom under which consent", _v3_disclosures),
    Migration(4, "know each referral's subject, to encrypt its payloads", _v4_referral_subjects),
    Migration(5, "remember how far each audit chain was streamed", _v5_audit_stream_heads),
    Migration(6, "key events by their source and id", _v6_event_ids_per_source),
    Migration(7, "know each referral's parties when it is accepted", _v7_referral_parties),
    Migration(8, "count referrals whose consent allows statistics", _v8_statistics),
)


def _check_sequence() -> None:
    versions = [m.version for m in MIGRATIONS]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"migration versions must run 1..n without gaps: {versions}")


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
    # SQLite: the store engine opened this transaction with BEGIN IMMEDIATE,
    # which already holds the database's single write lock.


def _applied(conn: Connection) -> set[int]:
    return {int(v) for v in conn.execute(select(_versions.c.version)).scalars()}


def migrate(engine: Engine) -> list[int]:
    """Apply the migrations the database lacks; return the versions applied now.

    ``engine`` must come from :func:`hub.store.engine.create_store_engine`,
    whose SQLite transactions take the write lock this relies on.
    """
    _check_sequence()
    known = {m.version for m in MIGRATIONS}
    applied_now: list[int] = []
    with store_errors():
        while True:
            with engine.begin() as conn:
                _lock(conn)
                # Created under the lock, so two starters cannot race on it.
                _versions.create(conn, checkfirst=True)
                done = _applied(conn)
                unknown = sorted(done - known)
                if unknown:
                    error = StoreError(
                        f"database has schema versions {unknown} that this release "
                        f"does not know (latest known: {max(known)})"
                    )
                    error.retriable = False
                    raise error
                missing = [m for m in MIGRATIONS if m.version not in done]
                if not missing:
                    return applied_now
                step = missing[0]
                step.upgrade(conn)
                conn.execute(
                    insert(_versions).values(
                        version=step.version,
                        description=step.description,
                        applied_at=datetime.now(UTC),
                    )
                )
            applied_now.append(step.version)


def current_version(engine: Engine) -> int:
    """The highest applied migration version, 0 for an empty database."""
    with store_errors(), engine.connect() as conn:
        if not inspect(conn).has_table(_versions.name):
            return 0
        version = conn.execute(select(func.max(_versions.c.version))).scalar_one_or_none()
        return int(version) if version is not None else 0
