"""Index the columns the repositories filter on.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    conn = op.get_bind()
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
