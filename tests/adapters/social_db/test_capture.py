"""Change capture from an agency's own tables into the hub's intake."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text

from hub.adapters.social_db import AgencyDatabase, ChangeCapture
from hub.adapters.social_db.example import example_tables
from hub.contracts import AgencyKind, CloudEvent, default_registry
from hub.contracts.envelope import envelope_from_mapping
from hub.services.intake import accept_event
from hub.services.polled_intake import submit_polled
from hub.services.vault import unseal
from hub.store import Store
from hub.store.schema import outbox
from tests.adapters.social_db.conftest import AGENCY, make_agency_database
from tests.support import consent_event, consent_payload, referral_event, scope

KEY = b"test-pseudonym-key-for-social-db"
TABLES = example_tables()
REFERRALS = TABLES.tables["case_referrals"]
STATUS = TABLES.tables["case_status_updates"]


def referral_row(dossier: str, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "dossier_no": dossier,
        "beneficiary_ref": f"BEN-{dossier}",
        "to_org": "dar-al-amane-shelter",
        "service_code": "HEBERG",
        "urgency": "URGENT",
        "consent_ref": f"consent-{dossier}",
        "motive": "needs a safe place tonight",
        "risk": "high",
        "phone": "+212 600 000 000",
        "no_contact": False,
    }
    row.update(changes)
    return row


def capture_for(
    database: AgencyDatabase, store: Store, refused: list[tuple[str, str, str, str]] | None = None
) -> ChangeCapture:
    def submit(events: Any) -> Any:
        return submit_polled(
            store, default_registry(), None, events, sender=AGENCY, now=datetime.now(UTC)
        )

    def on_refused(agency: str, table: str, key: str, reason: str) -> None:
        if refused is not None:
            refused.append((agency, table, key, reason))

    return ChangeCapture(database, pseudonym_key=KEY, submit=submit, on_refused=on_refused)


def refer_to_agency(store: Store, referral_id: str) -> None:
    """A shelter's referral to the agency, accepted, so the agency may move it."""
    shelter = "dar-al-amane-shelter"
    consent = consent_payload(shelter, [scope(AgencyKind.SOCIAL_SERVICES)])
    for event in (
        consent_event(consent),
        referral_event(shelter, AGENCY, consent, referral_id=referral_id),
    ):
        accept_event(store, default_registry(), event, sender=shelter, now=datetime.now(UTC))


def outbox_events(store: Store) -> list[CloudEvent]:
    """What the hub accepted, as the relay will publish it."""
    with store.transaction() as conn:
        sealed = conn.execute(select(outbox.c.envelope)).scalars().all()
        opened = [unseal(conn, envelope) for envelope in sealed]
    return [envelope_from_mapping(envelope) for envelope in opened if envelope is not None]


def insert_rows(app: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    with app.begin() as conn:
        conn.execute(insert(table), rows)


def test_rows_are_taken_in_once(
    agency_url: str, monkeypatch: pytest.MonkeyPatch, hub_store: Store
) -> None:
    """Each row the application commits becomes one accepted event; a second poll takes nothing."""
    database, app = make_agency_database(agency_url, monkeypatch)
    insert_rows(app, REFERRALS, [referral_row("D-1"), referral_row("D-2", urgency="NORMAL")])
    insert_rows(app, STATUS, [{"dossier_no": "D-9", "new_status": "ACCEPTE", "why": "places"}])
    refer_to_agency(hub_store, "D-9")
    capture = capture_for(database, hub_store)

    first = capture.poll_once()
    again = capture.poll_once()

    assert len(first.accepted) == 3
    assert not first.refused
    assert again.taken == 0
    events = [e for e in outbox_events(hub_store) if e.source == AGENCY]
    assert sorted(e.type for e in events) == [
        "referral.requested",
        "referral.requested",
        "referral.status-changed",
    ]
    referral = next(e for e in events if e.data.get("referral_id") == "D-2")
    assert referral.source == AGENCY
    assert referral.data["priority"] == "routine"
    assert referral.data["service"] == "emergency-shelter"
    assert referral.data["subject_id"].startswith("sub_")
    assert "BEN-D-2" not in json.dumps(referral.structured())
    assert {entry["state"] for entry in database.ledger_entries()} == {"accepted"}


def test_a_row_that_cannot_be_decoded_is_reported_and_the_rest_go_on(
    agency_url: str, monkeypatch: pytest.MonkeyPatch, hub_store: Store
) -> None:
    """An unmapped code is refused with the column and code named; rows after it are taken."""
    database, app = make_agency_database(agency_url, monkeypatch)
    insert_rows(
        app,
        REFERRALS,
        [referral_row("D-1", service_code="NO-SUCH"), referral_row("D-2")],
    )
    refused: list[tuple[str, str, str, str]] = []

    report = capture_for(database, hub_store, refused).poll_once()

    assert len(report.accepted) == 1
    ((agency, table, _key, reason),) = refused
    assert (agency, table) == (AGENCY, "case_referrals")
    assert "case_referrals.service_code" in reason
    assert "NO-SUCH" in reason
    states = {entry["state"]: entry for entry in database.ledger_entries()}
    assert states["refused"]["reason"] == reason
    assert [e.data["referral_id"] for e in outbox_events(hub_store)] == ["D-2"]


def test_a_row_the_hub_refuses_is_recorded_with_the_reason(
    agency_url: str, monkeypatch: pytest.MonkeyPatch, hub_store: Store
) -> None:
    """A row decoding to an invalid event (to itself) is refused; the ledger says why."""
    database, app = make_agency_database(agency_url, monkeypatch)
    insert_rows(app, REFERRALS, [referral_row("D-1", to_org=AGENCY), referral_row("D-2")])

    report = capture_for(database, hub_store).poll_once()

    assert len(report.accepted) == 1
    (refusal,) = report.refused
    assert "to_agency" in refusal[2]
    assert len(outbox_events(hub_store)) == 1


def test_rows_committed_out_of_order_are_all_taken(
    server_agency_url: str, monkeypatch: pytest.MonkeyPatch, hub_store: Store
) -> None:
    """A row whose transaction commits after a later row's is still taken in (no watermark)."""
    database, app = make_agency_database(server_agency_url, monkeypatch)
    capture = capture_for(database, hub_store)
    slow = app.connect()
    slow_tx = slow.begin()
    slow.execute(insert(REFERRALS), [referral_row("EARLY")])  # the lower id, not committed yet
    insert_rows(app, REFERRALS, [referral_row("LATE")])

    first = capture.poll_once()
    slow_tx.commit()
    slow.close()
    second = capture.poll_once()

    with app.connect() as conn:
        ids = dict(conn.execute(select(REFERRALS.c.dossier_no, REFERRALS.c.id)).all())
    assert ids["EARLY"] < ids["LATE"]
    assert len(first.accepted) == 1
    assert len(second.accepted) == 1
    taken = sorted(e.data["referral_id"] for e in outbox_events(hub_store))
    assert taken == ["EARLY", "LATE"]


def test_a_crash_before_the_ledger_is_settled_resubmits_the_same_event(
    agency_url: str, monkeypatch: pytest.MonkeyPatch, hub_store: Store
) -> None:
    """Rows left pending are submitted again as the same event, which the hub takes as a retry."""
    database, app = make_agency_database(agency_url, monkeypatch)
    insert_rows(app, REFERRALS, [referral_row("D-1")])
    capture = capture_for(database, hub_store)
    settle = database.settle

    def crash(*_args: Any) -> None:
        raise RuntimeError("the hub stopped here")

    monkeypatch.setattr(database, "settle", crash)
    with pytest.raises(RuntimeError):
        capture.poll_once()
    monkeypatch.setattr(database, "settle", settle)
    assert {e["state"] for e in database.ledger_entries()} == {"pending"}

    report = capture.poll_once()

    assert len(report.accepted) == 1
    assert not report.refused
    assert len(outbox_events(hub_store)) == 1
    assert {e["state"] for e in database.ledger_entries()} == {"accepted"}


def test_the_ledger_records_what_each_row_became(
    agency_url: str, monkeypatch: pytest.MonkeyPatch, hub_store: Store
) -> None:
    """Every ledger entry names the event id it became, so operators can follow a row."""
    database, app = make_agency_database(agency_url, monkeypatch)
    insert_rows(app, REFERRALS, [referral_row("D-1")])

    report = capture_for(database, hub_store).poll_once()

    (entry,) = database.ledger_entries()
    assert entry["event_id"] == report.accepted[0]
    with app.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM hub_capture")).scalar_one() == 1
