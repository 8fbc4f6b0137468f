"""Know each referral's parties when it is accepted.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    conn = op.get_bind()
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
