"""Let several outbox relays lease rows to publish.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    conn = op.get_bind()
    # Several relays share one outbox: a relay leases the rows it is about to
    # publish, so the others skip them until it marks them or its lease lapses.
    kind = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    conn.execute(text(f"ALTER TABLE outbox ADD COLUMN claimed_until {kind}"))
