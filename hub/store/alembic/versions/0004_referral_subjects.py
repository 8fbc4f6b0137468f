"""Know each referral's subject, to encrypt its payloads.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Index, MetaData, PrimaryKeyConstraint, Table, Text

from hub.store._types import UTCDateTime

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    conn = op.get_bind()
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
