"""Deliveries written into an agency's own inbound table, and the database going down."""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, insert, select

from hub.adapters.social_db import AgencyDatabaseError
from hub.adapters.social_db.example import example_mapping, example_tables
from hub.config import AgencyConfig
from hub.contracts import AgencyKind, CloudEvent, ReferralStatus
from hub.delivery.social_db import SocialDbTransport
from hub.store import Store
from tests.adapters.social_db.conftest import AGENCY, URL_ENV, make_agency_database
from tests.adapters.social_db.tcp_proxy import proxied
from tests.adapters.social_db.test_capture import (
    REFERRALS,
    capture_for,
    outbox_events,
    referral_row,
)
from tests.support import consent_payload, referral_event, scope, status_event, token_hash

RECEIVED = example_tables().tables["hub_received"]
#: How long the database stays down mid-stream (seconds).
OUTAGE_S = float(os.environ.get("HUB_TEST_DB_OUTAGE_S", "30"))


def agency_config() -> AgencyConfig:
    return AgencyConfig(
        id=AGENCY,
        name="Entraide Nationale",
        kind=AgencyKind.SOCIAL_SERVICES,
        region="casablanca-settat",
        token_sha256=token_hash("unused"),
        delivery=example_mapping(URL_ENV),
    )


def referral_to_agency(n: int) -> CloudEvent:
    consent = consent_payload("hospital-ibn-rochd", [scope(AgencyKind.SOCIAL_SERVICES)])
    return referral_event("hospital-ibn-rochd", AGENCY, consent, referral_id=f"ref-{n}")


def received_rows(app: Engine) -> list[dict[str, Any]]:
    with app.connect() as conn:
        return [dict(row) for row in conn.execute(select(RECEIVED)).mappings()]


async def test_a_delivery_is_written_once_however_often_it_comes(
    agency_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redelivering a batch writes nothing new: each event id is one row."""
    _database, app = make_agency_database(agency_url, monkeypatch)
    written: list[str] = []
    transport = SocialDbTransport(
        on_written=lambda _a, events: written.extend(e.id for e in events)
    )
    agency = agency_config()
    events = [referral_to_agency(n) for n in range(3)]

    await transport.deliver_batch([(agency, event) for event in events])
    await transport.deliver_batch([(agency, event) for event in events[1:]])
    transport.close()

    rows = received_rows(app)
    assert sorted(row["event_id"] for row in rows) == sorted(e.id for e in events)
    assert written.count(events[1].id) == 2  # told each time: the audit side de-duplicates
    row = next(r for r in rows if r["event_id"] == events[0].id)
    assert row["event_type"] == "referral.requested"
    assert row["sender"] == "hospital-ibn-rochd"
    assert json.loads(row["body"]) == events[0].data


async def test_codes_are_written_in_the_agency_s_own_vocabulary(
    agency_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Value maps apply on the way out: the hub's 'accepted' is written as the agency's code."""
    _database, app = make_agency_database(agency_url, monkeypatch)
    transport = SocialDbTransport()
    event = status_event("dar-al-amane-shelter", "ref-1", ReferralStatus.ACCEPTED, note=None)

    await transport.deliver_batch([(agency_config(), event)])
    transport.close()

    (row,) = received_rows(app)
    assert row["new_status"] == "ACCEPTE"
    assert row["motive"] is None


async def test_an_unreachable_database_is_a_retriable_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A database that refuses connections fails the batch retriably once the wait runs out."""
    monkeypatch.setenv(URL_ENV, "postgresql+psycopg://nobody@127.0.0.1:9/none")
    reachability: list[bool] = []
    transport = SocialDbTransport(
        outage_wait_s=0.3,
        backoff_initial_s=0.05,
        on_reachability=lambda _agency, up: reachability.append(up),
    )

    with pytest.raises(AgencyDatabaseError) as caught:
        await transport.deliver_batch([(agency_config(), referral_to_agency(1))])

    assert caught.value.retriable
    assert reachability
    assert not any(reachability)
    assert "nobody" not in str(caught.value)


async def test_the_database_down_mid_stream_loses_and_duplicates_nothing(
    server_agency_url: str, monkeypatch: pytest.MonkeyPatch, hub_store: Store
) -> None:
    """Down for a while in the middle of a stream both ways: every row and delivery once."""
    create_engine(server_agency_url)  # the URL is usable before the proxy sits in front
    with proxied(server_agency_url) as (proxy, through):
        database, app = make_agency_database(through, monkeypatch)
        capture = capture_for(database, hub_store)
        transport = SocialDbTransport(outage_wait_s=OUTAGE_S * 4, backoff_max_s=1.0)
        direct = create_engine(server_agency_url)
        agency = agency_config()
        deliveries = [referral_to_agency(n) for n in range(40)]
        referrals = [referral_row(f"D-{n}") for n in range(40)]
        capture_errors = 0

        async def deliver() -> None:
            for event in deliveries:
                await transport.deliver_batch([(agency, event)])
                await asyncio.sleep(OUTAGE_S / 40)

        async def application_and_capture() -> None:
            nonlocal capture_errors
            for row in referrals:
                # The application writes straight to its database, which is up for it.
                with direct.begin() as conn:
                    conn.execute(insert(REFERRALS), [row])
                try:
                    await asyncio.to_thread(capture.poll_once)
                except AgencyDatabaseError:
                    capture_errors += 1
                await asyncio.sleep(OUTAGE_S / 40)

        async def outage() -> None:
            await asyncio.sleep(OUTAGE_S / 4)
            await asyncio.to_thread(proxy.cut)
            await asyncio.sleep(OUTAGE_S)
            await asyncio.to_thread(proxy.restore)

        started = time.monotonic()
        await asyncio.gather(deliver(), application_and_capture(), outage())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (await asyncio.to_thread(capture.poll_once)).taken:
            pass
        transport.close()

        rows = received_rows(direct)
        captured = [e.data["referral_id"] for e in outbox_events(hub_store)]
        with direct.connect() as conn:
            ledger = conn.execute(select(func.count()).select_from(database.table("hub_capture")))
            ledger_count = ledger.scalar_one()
        direct.dispose()
        app.dispose()

    assert capture_errors > 0, "the outage must have been seen"
    assert time.monotonic() - started >= OUTAGE_S
    assert sorted(r["event_id"] for r in rows) == sorted(e.id for e in deliveries)
    assert sorted(captured) == sorted(r["dossier_no"] for r in referrals)
    assert ledger_count == len(referrals)


def test_decoding_time_comes_from_the_ledger_not_the_clock(
    agency_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row's event time is when the hub first took it, so a retry makes the same event."""
    database, app = make_agency_database(agency_url, monkeypatch)
    with app.begin() as conn:
        conn.execute(insert(REFERRALS), [referral_row("D-1")])

    claimed = database.claim(datetime(2026, 1, 1, tzinfo=UTC))
    again = database.claim(datetime(2026, 6, 1, tzinfo=UTC))

    assert [c.taken_at for c in claimed] == [c.taken_at for c in again]
    assert claimed[0].taken_at == datetime(2026, 1, 1, tzinfo=UTC)
