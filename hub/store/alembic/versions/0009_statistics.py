"""Count referrals whose consent allows statistics.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Boolean, Column, Index, MetaData, PrimaryKeyConstraint, Table, Text

from hub.store._types import UTCDateTime

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
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
    md.create_all(op.get_bind(), checkfirst=False)
