"""The store's agency register keeps how each agency receives, never where or with which key."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from hub.audit import AuditAction, AuditRecorder
from hub.config import load_settings
from hub.contracts import AgencyKind
from hub.services.agencies import sync_agencies
from hub.store import AgencyRow, Store
from hub.store import agencies as agency_store
from hub.store import audit as audit_store
from tests.support import agency

NOW = datetime(2026, 5, 1, tzinfo=UTC)
HOOK_URL = "https://shelter.example.org/hooks/very-private-path"
HOOK_SECRET = "webhook-secret-value-0123456789"
FHIR_URL = "https://hospital.example.org/fhir/private-base"
FHIR_TOKEN = "fhir-bearer-token-0123456789"
SECRETS = (HOOK_URL, HOOK_SECRET, FHIR_URL, FHIR_TOKEN, "very-private-path", "private-base")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as opened:
        yield opened


def configured() -> list[dict[str, Any]]:
    shelter = agency(
        AgencyKind.SHELTER,
        delivery={"mode": "webhook", "url": HOOK_URL, "secret": HOOK_SECRET},
    )
    hospital = agency(
        AgencyKind.HOSPITAL,
        delivery={
            "mode": "fhir",
            "base_url": FHIR_URL,
            "fhir_version": "r5",
            "bearer_token": FHIR_TOKEN,
        },
    )
    return [shelter.config(), hospital.config()]


def every_stored_text(store: Store) -> str:
    """Every row of every table in the store, as one string."""
    tables = MetaData()
    tables.reflect(store.engine)
    with store.transaction() as conn:
        return "\n".join(
            repr(tuple(row))
            for table in tables.sorted_tables
            for row in conn.execute(select(table))
        )


def test_endpoint_urls_and_secrets_are_not_in_the_store(store: Store) -> None:
    """After registering webhook and FHIR agencies no table holds their URL, secret or token."""
    agencies = configured()
    settings = load_settings(None, agencies=agencies)

    sync_agencies(store, settings, None, NOW)

    text = every_stored_text(store)
    assert all(secret not in text for secret in SECRETS)
    with store.transaction() as conn:
        rows = {row.agency_id: row for row in agency_store.list_agencies(conn)}
    assert rows[agencies[0]["id"]].settings["delivery"] == {"mode": "webhook"}
    assert rows[agencies[1]["id"]].settings["delivery"] == {"mode": "fhir", "fhir_version": "r5"}


def test_endpoints_stored_by_an_earlier_version_are_removed(store: Store) -> None:
    """A register row that still holds a URL, even of an agency no longer configured, loses it."""
    with store.transaction() as conn:
        agency_store.upsert_agency(
            conn,
            AgencyRow(
                agency_id="retired-shelter",
                kind="shelter",
                region="test-region",
                display_name="A shelter no longer configured",
                delivery_mode="webhook",
                settings={"delivery": {"mode": "webhook", "url": HOOK_URL}, "services": []},
                created_at=NOW,
                updated_at=NOW,
            ),
        )

    sync_agencies(store, load_settings(None, agencies=configured()), None, NOW)

    assert HOOK_URL not in every_stored_text(store)
    with store.transaction() as conn:
        retired = agency_store.get_agency(conn, "retired-shelter")
    assert retired is not None
    assert retired.settings == {"delivery": {"mode": "webhook"}, "services": []}


@pytest.mark.postgres
def test_hub_processes_starting_together_audit_each_new_agency_once(
    postgres_schema_url: str,
) -> None:
    """Four processes registering the same agencies at once record each addition once."""
    settings = load_settings(None, agencies=configured())
    recorder = AuditRecorder(signer=None, actor="referral-hub")
    start = threading.Barrier(4)

    def register(store: Store) -> None:
        start.wait()
        sync_agencies(store, settings, recorder, NOW)

    with Store.open(postgres_schema_url) as store:
        stores = [Store(store.engine) for _ in range(4)]
        threads = [threading.Thread(target=register, args=(each,)) for each in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        with store.transaction() as conn:
            added = [
                entry.details["agency"]
                for entry in audit_store.entries(conn)
                if entry.action == AuditAction.AGENCY_ADDED
            ]
    assert sorted(added) == sorted(agency.id for agency in settings.agencies)
