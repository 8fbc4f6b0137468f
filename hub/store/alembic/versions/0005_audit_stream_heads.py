"""Remember how far each audit chain was streamed.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, MetaData, PrimaryKeyConstraint, Table, Text

from hub.store._types import UTCDateTime

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    conn = op.get_bind()
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
