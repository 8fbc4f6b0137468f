"""A court on files inside a running hub: deliveries written, acks, re-offers, intake, outages.

The hub runs whole (HTTP, broker, router, delivery) with one court whose
registry exchanges XML files in folders under the test's temporary directory.
The test plays the registry: it reads and removes the hub's files, writes ack
files and drops its own exports, as a clerk's system would.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from defusedxml.ElementTree import fromstring

from hub.adapters.court import parse_xml, record_event_id
from hub.adapters.court.exchange import CourtExchange, delivery_file_name
from hub.adapters.court.folders import LocalFolder
from hub.audit import AuditAction
from hub.config import AgencyConfig, CourtFilesDelivery
from hub.contracts import AgencyKind, DataCategory, Purpose
from hub.runtime.court_files import CourtFilesTransport
from hub.store import Store, audit, inbox
from tests.adapters.court.samples import COURT, HOSPITAL, court_adapter
from tests.support import (
    Agency,
    HubUnderTest,
    agency,
    consent_event,
    consent_payload,
    eventually,
    hub_settings,
    post_event,
    referral_event,
    scope,
    started_hub,
    wait_for_inbox,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

NS = "{urn:referral-hub:court-records:v1}"
POLL_S = 0.1


@dataclass(frozen=True)
class CourtOnFiles:
    hub: HubUnderTest
    hospital: Agency
    court: Agency
    outgoing: Path
    incoming: Path

    async def refer(self) -> str:
        """The hospital refers a survivor to the court; the referral's event id."""
        return (await self.referral())[0]

    async def referral(self) -> tuple[str, str]:
        """The hospital refers a survivor to the court; the event id and referral id."""
        consent = consent_payload(
            self.hospital,
            [scope(self.court, (Purpose.JUSTICE,), (DataCategory.SAFETY_RISK,))],
        )
        for event in (consent_event(consent), referral_event(self.hospital, self.court, consent)):
            response = await post_event(self.hub.client, self.hospital, event)
            assert response.status_code == 202, response.text
        return event.id, event.data["referral_id"]

    def manifest(self) -> dict[str, dict[str, str]]:
        path = self.incoming / "manifest.csv"
        if not path.exists():
            return {}
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:  # the mangled manifest, before the hub rebuilds it
            return {}
        rows = csv.DictReader(io.StringIO(text, newline=""))
        return {row["event-id"]: row for row in rows if row.get("event-id")}

    def inbox_row(self, event_id: str) -> inbox.InboxRow:
        with self.hub.store.transaction() as conn:
            (row,) = inbox.with_id(conn, self.court.id, event_id)
        return row

    def metric(self, name: str) -> float:
        value = self.hub.hub.services.metrics.registry.get_sample_value(
            name, {"agency": self.court.id}
        )
        return value or 0.0


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def court_on_files(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[CourtOnFiles]:
    root = tmp_path_factory.mktemp("court-files")
    outgoing, incoming = root / "share" / "out", root / "share" / "in"
    hospital = agency(AgencyKind.HOSPITAL)
    court = agency(
        AgencyKind.COURT,
        delivery={
            "mode": "court-files",
            "outgoing": str(outgoing),
            "incoming": str(incoming),
            "poll_interval_s": POLL_S,
        },
    )
    settings = hub_settings(root, [hospital, court])
    async with started_hub(settings, [hospital, court]) as hub:
        yield CourtOnFiles(hub, hospital, court, outgoing, incoming)


async def until(check: Any, within_s: float = 15.0) -> Any:
    async def probe() -> Any:
        return check()

    return await eventually(probe, bool, within_s=within_s)


async def test_a_delivery_is_kept_in_the_inbox_and_written_with_its_digest(
    court_on_files: CourtOnFiles,
) -> None:
    """The court's delivery is in its inbox in the store and a file the manifest lists."""
    net = court_on_files
    event_id = await net.refer()

    listed = await until(lambda: net.manifest().get(event_id))

    body = (net.incoming / listed["file"]).read_bytes()
    assert hashlib.sha256(body).hexdigest() == listed["sha256"]
    sender, (record,) = parse_xml(body)
    assert sender == net.hospital.id
    assert (record.kind, record.record_id) == ("referral", event_id)
    assert net.inbox_row(event_id).acked_at is None


async def test_an_ack_file_acknowledges_in_the_store_and_the_audit_log(
    court_on_files: CourtOnFiles,
) -> None:
    """An ack file naming the event records it acknowledged, audited, and takes the file away."""
    net = court_on_files
    event_id, referral_id = await net.referral()
    listed = await until(lambda: net.manifest().get(event_id))

    (net.incoming / "acks" / "batch-1.ack").write_text(f"{event_id}\n")

    await until(lambda: net.inbox_row(event_id).acked_at is not None)
    assert not (net.incoming / listed["file"]).exists()
    assert event_id not in net.manifest()
    assert (net.incoming / "acks" / "done" / "batch-1.ack").exists()
    with net.hub.store.transaction() as conn:
        entries = audit.entries(conn, referral_id=referral_id)
    acks = [e for e in entries if e.action == AuditAction.ACKNOWLEDGED]
    assert [(e.actor, e.event_id) for e in acks] == [(net.court.id, event_id)]


async def test_a_file_removed_unacknowledged_is_written_again(
    court_on_files: CourtOnFiles,
) -> None:
    """A delivery file gone without an ack comes back, counted as re-offered."""
    net = court_on_files
    event_id = await net.refer()
    listed = await until(lambda: net.manifest().get(event_id))
    path = net.incoming / listed["file"]
    before = net.metric("hub_court_files_reoffered_total")

    path.unlink()

    # The file is written first, then the manifest, then the count.
    await until(lambda: net.metric("hub_court_files_reoffered_total") >= before + 1)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == listed["sha256"]
    assert net.inbox_row(event_id).acked_at is None


async def test_a_registry_export_is_taken_in_with_a_receipt(
    court_on_files: CourtOnFiles,
) -> None:
    """A status change the registry writes reaches the hospital; the receipt names its event."""
    net = court_on_files
    event_id = await net.refer()
    listed = await until(lambda: net.manifest().get(event_id))
    _, (record,) = parse_xml((net.incoming / listed["file"]).read_bytes())
    referral_id = record.fields["referral-id"]
    export = f"""<?xml version="1.0" encoding="UTF-8"?>
<court-records xmlns="urn:referral-hub:court-records:v1" sender="{net.court.id}">
  <status-change record-id="ST-{referral_id}" recorded-at="2026-12-01T10:00:00+00:00">
    <referral-id>{referral_id}</referral-id>
    <status>accepted</status>
  </status-change>
</court-records>
"""
    (net.outgoing / ".export-1.xml.part").write_text(export)
    (net.outgoing / ".export-1.xml.part").rename(net.outgoing / "export-1.xml")

    receipt = net.outgoing / "receipts" / "export-1.xml.receipt.xml"
    await until(receipt.exists)
    lines = [e.attrib for e in fromstring(receipt.read_bytes()).iter(f"{NS}record")]
    expected_id = record_event_id(net.court.id, f"ST-{referral_id}")
    assert [(line["result"], line.get("event-id")) for line in lines] == [("accepted", expected_id)]
    assert (net.outgoing / "processed" / "export-1.xml").exists()
    (status,) = await wait_for_inbox(net.hub.client, net.hospital, lambda e: e["id"] == expected_id)
    assert status["data"]["status"] == "accepted"
    assert status["source"] == net.court.id


async def test_an_unreachable_share_delays_deliveries_until_it_returns(
    court_on_files: CourtOnFiles,
) -> None:
    """With the share gone the hub keeps running; what was delivered meanwhile is written after."""
    net = court_on_files
    share = net.incoming.parent
    parked = share.parent / "share-away"
    share.rename(parked)
    share.write_text("not a folder: the mount is gone")  # makes every path under it fail
    try:
        event_id = await net.refer()
        await until(lambda: _in_inbox(net, event_id))
        await asyncio.sleep(POLL_S * 5)  # several cycles against the missing share
        assert event_id not in net.manifest()
    finally:
        share.unlink()
        parked.rename(share)

    listed = await until(lambda: net.manifest().get(event_id), within_s=45.0)
    assert (net.incoming / listed["file"]).exists()


def _in_inbox(net: CourtOnFiles, event_id: str) -> bool:
    with net.hub.store.transaction() as conn:
        return bool(inbox.with_id(conn, net.court.id, event_id))


async def test_a_manifest_the_registry_mangled_is_rebuilt(court_on_files: CourtOnFiles) -> None:
    """A manifest overwritten with garbage stops nothing: it is rebuilt and deliveries go on."""
    net = court_on_files
    waiting = await net.refer()
    await until(lambda: net.manifest().get(waiting))

    (net.incoming / "manifest.csv").write_bytes(b"\xff\xfe not, a manifest\n\x00")
    event_id = await net.refer()

    listed = await until(lambda: net.manifest().get(event_id))
    assert (net.incoming / listed["file"]).exists()
    await until(lambda: waiting in net.manifest())  # still unacknowledged: listed again
    (net.incoming / "acks" / "after-mangling.ack").write_text(f"{event_id}\n")
    await until(lambda: net.inbox_row(event_id).acked_at is not None)


async def test_a_delivery_repeated_after_its_ack_is_not_written_again(tmp_path: Path) -> None:
    """A broker redelivery of an acknowledged event leaves the court's folder alone."""
    store = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    delivery = CourtFilesDelivery(
        mode="court-files", outgoing=str(tmp_path / "out"), incoming=str(tmp_path / "in")
    )
    exchange = CourtExchange(COURT, delivery, LocalFolder(), court_adapter())
    await exchange.prepare()
    transport = CourtFilesTransport(store, {COURT: exchange}, lambda *_: None)
    court = AgencyConfig(
        id=COURT, name=COURT, kind=AgencyKind.COURT, region="r", token_sha256="0" * 64
    )
    consent = consent_payload(HOSPITAL, [scope(AgencyKind.COURT)])
    event = referral_event(HOSPITAL, COURT, consent)
    try:
        await transport.deliver(court, event)
        path = tmp_path / "in" / delivery_file_name(event.id, "xml")
        assert path.exists()
        (tmp_path / "in" / "acks" / "read.ack").write_text(f"{event.id}\n")
        await exchange.acknowledged()
        assert not path.exists()

        await transport.deliver(court, event)

        assert not path.exists()
        assert await exchange.manifest() == []
    finally:
        store.close()
