"""The time-limit checker: one referral.overdue notice per referral and limit, to both ends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.broker.topics import inbox_topic
from hub.config import AgencyConfig, PathwayConfig, PathwayStep, WebhookDelivery
from hub.consumers.journal import journal_id
from hub.contracts import AgencyKind, ServiceCode
from hub.contracts.events import OverdueLimit
from hub.runtime.overdue import overdue_id, send_overdue_notices
from hub.store import Store, outbox, referrals
from hub.store.schema import outbox as outbox_table

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
HUB = "referral-hub"
PATHWAY = PathwayConfig(
    id="dv-north",
    name="Domestic violence, north",
    region="north",
    steps=(
        PathwayStep(
            id="police-to-shelter",
            from_kind=AgencyKind("police"),
            to_kind=AgencyKind("shelter"),
            service=ServiceCode("medical-follow-up"),
            within_hours=24,
        ),
    ),
)
AGENCIES = {
    "police-north": AgencyConfig(
        id="police-north", name="Police", kind=AgencyKind("police"), region="north",
        token_sha256="0" * 64,
    ),
    "shelter-north": AgencyConfig(
        id="shelter-north", name="Shelter", kind=AgencyKind("shelter"), region="north",
        token_sha256="1" * 64,
        delivery=WebhookDelivery(mode="webhook", url="https://shelter.example/hook",
                                 secret="a-webhook-secret-of-some-length-000"),
    ),
}  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as opened:
        yield opened


def _seed(
    store: Store,
    referral_id: str,
    age_h: float,
    status: str = "requested",
    due_by: datetime | None = None,
) -> None:
    created = NOW - timedelta(hours=age_h)
    with store.transaction() as conn:
        referrals.insert_referrals(
            conn,
            [
                referrals.ReferralRow(
                    referral_id=referral_id,
                    from_agency="police-north",
                    to_agency="shelter-north",
                    subject_id="subject-1",
                    consent_id="consent-1",
                    service="medical-follow-up",
                    priority="routine",
                    status="requested",
                    due_by=due_by,
                    pathway_step="police-to-shelter",
                    created_at=created,
                    updated_at=created,
                    version=1,
                )
            ],
        )
        if status != "requested":
            referrals.update_status(conn, referral_id, status, created + timedelta(hours=1))
            referrals.append_timelines(
                conn,
                [
                    referrals.TimelineEntry(
                        referral_id=referral_id,
                        event_id=f"{referral_id}-{status}",
                        event_type="referral.status-changed",
                        status=status,
                        actor="shelter-north",
                        at=created + timedelta(hours=1),
                        detail={},
                    )
                ],
            )


def _outbox_rows(store: Store) -> list[tuple[str, str]]:
    with store.transaction() as conn:
        rows = conn.execute(outbox_table.select().order_by(outbox_table.c.seq)).mappings().all()
    return [(row["event_id"], row["topic"]) for row in rows]


def test_a_passed_step_limit_is_notified_once_to_referrer_and_receiver(store: Store) -> None:
    """A referral unanswered past its step's hours gets one notice each for both agencies.

    A due_by already past when the referral arrived sends none.
    """
    _seed(store, "r-stuck", age_h=30)
    _seed(store, "r-young", age_h=2)
    _seed(store, "r-answered", age_h=40, status="accepted")
    _seed(store, "r-late-on-arrival", age_h=1, due_by=NOW - timedelta(hours=2))

    def check() -> int:
        return send_overdue_notices(
            store, hub_id=HUB, pathways=[PATHWAY], agencies=AGENCIES, now=NOW
        )

    first, second = check(), check()

    notice = overdue_id("r-stuck", OverdueLimit.STEP)
    assert (first, second) == (2, 0)
    assert sorted(_outbox_rows(store)) == sorted(
        [
            (journal_id(notice, "police-north"), inbox_topic("police-north")),
            (journal_id(notice, "shelter-north"), inbox_topic("shelter-north")),
        ]
    )
    with store.transaction() as conn:
        row = outbox.get(conn, HUB, journal_id(notice, "police-north"))
    assert row is not None
    assert row.published_at is None
    assert row.envelope["type"] == "referral.overdue"
    assert "subject-1" not in json.dumps(row.envelope)
