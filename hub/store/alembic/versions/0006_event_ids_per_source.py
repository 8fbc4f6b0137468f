"""Key events by their source and id.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from hub.store._types import UTCDateTime

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


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


def upgrade() -> None:
    conn = op.get_bind()
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
