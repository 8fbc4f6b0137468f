"""Record what was disclosed to whom under which consent.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import JSON, Column, Index, MetaData, PrimaryKeyConstraint, Table, Text

from hub.store._types import UTCDateTime

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    conn = op.get_bind()
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
