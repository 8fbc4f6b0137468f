"""The court file exchange on a local folder: files in with receipts, deliveries out with acks."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring

from hub.adapters.court import court_schema
from hub.adapters.court.exchange import CourtExchange, delivery_file_name
from hub.adapters.court.folders import FolderError, LocalFolder
from hub.config import CourtFilesDelivery
from hub.contracts import default_registry, new_event
from hub.contracts.examples import EXAMPLES
from hub.services.polled_intake import submit_polled
from hub.store import Store
from tests.adapters.court.samples import (
    COURT,
    REFERRAL_CSV,
    REFERRAL_XML,
    court_adapter,
    refer_to_court,
)
from tests.adapters.social_db.test_capture import outbox_events

NS = "{urn:referral-hub:court-records:v1}"


@pytest.fixture
def hub_store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'hub' / 'hub.db'}")
    refer_to_court(store, "HOSP-REF-77", "REF-9")
    try:
        yield store
    finally:
        store.close()


def from_court(store: Store) -> list[Any]:
    """The events the court's files became (the setup's hospital events left out)."""
    return [event for event in outbox_events(store) if event.source == COURT]


def settings(tmp_path: Path, **changes: Any) -> CourtFilesDelivery:
    values: dict[str, Any] = {
        "mode": "court-files",
        "outgoing": str(tmp_path / "court-out"),
        "incoming": str(tmp_path / "court-in"),
    }
    values.update(changes)
    return CourtFilesDelivery.model_validate(values)


async def exchange_for(tmp_path: Path, **changes: Any) -> CourtExchange:
    config = settings(tmp_path, **changes)
    exchange = CourtExchange(COURT, config, LocalFolder(), court_adapter(format=config.format))
    await exchange.prepare()
    return exchange


def submitter(store: Store) -> Any:
    def submit(events: Any) -> Any:
        return submit_polled(
            store, default_registry(), None, events, sender=COURT, now=datetime.now(UTC)
        )

    return submit


def receipt_records(path: Path) -> list[dict[str, str]]:
    root = fromstring(path.read_bytes())
    assert court_schema().is_valid(root)
    return [
        {**element.attrib, "reason": element.text or ""} for element in root.iter(f"{NS}record")
    ]


def receipt_refusal(path: Path) -> str | None:
    found = fromstring(path.read_bytes()).find(f"{NS}file-refused")
    return None if found is None else found.text


async def test_a_complete_file_is_taken_in_with_a_receipt(tmp_path: Path, hub_store: Store) -> None:
    """Every record becomes an event; the receipt names each event id; the file moves on."""
    exchange = await exchange_for(tmp_path)
    (tmp_path / "court-out" / "export-0001.xml").write_bytes(REFERRAL_XML)

    (receipt,) = await exchange.take_in(submitter(hub_store))

    assert receipt.accepted == 3
    assert (tmp_path / "court-out" / "processed" / "export-0001.xml").exists()
    assert not (tmp_path / "court-out" / "export-0001.xml").exists()
    lines = receipt_records(tmp_path / "court-out" / "receipts" / "export-0001.xml.receipt.xml")
    assert [line["result"] for line in lines] == ["accepted"] * 3
    assert sorted(line["event-id"] for line in lines) == sorted(e.id for e in from_court(hub_store))


async def test_files_still_being_written_are_left_alone(tmp_path: Path, hub_store: Store) -> None:
    """Temporary names are not picked up; in marker mode, nothing without its .done marker."""
    renamed = await exchange_for(tmp_path)
    for name in (".export.xml", "export.xml.tmp", "export.xml.part"):
        (tmp_path / "court-out" / name).write_bytes(REFERRAL_XML)

    assert await renamed.take_in(submitter(hub_store)) == []

    marked = await exchange_for(tmp_path / "m", complete_when="marker")
    folder = tmp_path / "m" / "court-out"
    (folder / "export.xml").write_bytes(REFERRAL_XML)
    assert await marked.take_in(submitter(hub_store)) == []
    (folder / "export.xml.done").write_bytes(b"")
    (receipt,) = await marked.take_in(submitter(hub_store))
    assert receipt.accepted == 3
    assert not (folder / "export.xml.done").exists()


def _write_bad(folder: Path, case: str) -> str:
    if case == "not-xml":
        (folder / "notes.txt").write_text("hello")
        return "notes.txt"
    if case == "empty":
        (folder / "empty.xml").write_bytes(b"")
        return "empty.xml"
    if case == "truncated":
        (folder / "cut.xml").write_bytes(REFERRAL_XML[: len(REFERRAL_XML) // 2])
        return "cut.xml"
    if case == "too-large":
        (folder / "big.xml").write_bytes(REFERRAL_XML + b" " * 70_000)
        return "big.xml"
    if case == "symlink":
        target = folder.parent / "elsewhere.xml"
        target.write_bytes(REFERRAL_XML)
        os.symlink(target, folder / "link.xml")
        return "link.xml"
    if case == "bad-name":
        (folder / "-rm -rf.xml").write_bytes(REFERRAL_XML)
        return "-rm -rf.xml"
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("not-xml", "not a XML file"),
        ("empty", "empty"),
        ("truncated", "not well-formed XML"),
        ("too-large", "over 65536 bytes"),
        ("symlink", "symbolic link"),
        ("bad-name", "file name"),
    ],
)
async def test_a_bad_file_is_rejected_with_a_receipt_and_the_rest_go_on(
    tmp_path: Path, hub_store: Store, case: str, reason: str
) -> None:
    """Each bad-file class lands in rejected/ with the reason; a good file beside it is taken."""
    exchange = await exchange_for(tmp_path, max_file_bytes=65_536)
    folder = tmp_path / "court-out"
    name = _write_bad(folder, case)
    (folder / "good.xml").write_bytes(REFERRAL_XML)

    receipts = {r.file: r for r in await exchange.take_in(submitter(hub_store))}

    assert receipts["good.xml"].accepted == 3
    assert reason in (receipts[name].refused or "")
    moved = folder / "rejected" / name
    assert moved.is_symlink() or moved.exists()
    assert reason in (receipt_refusal(folder / "receipts" / f"{name}.receipt.xml") or "")
    assert len(from_court(hub_store)) == 3


async def test_a_bad_record_is_refused_in_the_receipt_and_the_others_accepted(
    tmp_path: Path, hub_store: Store
) -> None:
    """One record naming an unknown agency is refused with its XPath; the file is processed."""
    exchange = await exchange_for(tmp_path)
    (tmp_path / "court-out" / "mixed.xml").write_bytes(
        REFERRAL_XML.replace(b"<to>FOYER-DAA</to>", b"<to>NOBODY</to>")
    )

    (receipt,) = await exchange.take_in(submitter(hub_store))

    lines = receipt_records(tmp_path / "court-out" / "receipts" / "mixed.xml.receipt.xml")
    refused = [line for line in lines if line["result"] == "refused"]
    assert len(refused) == 1
    assert refused[0]["where"] == "/court-records/referral[1]/to"
    assert "NOBODY" in refused[0]["reason"]
    assert receipt.accepted == 2
    assert (tmp_path / "court-out" / "processed" / "mixed.xml").exists()


async def test_the_same_file_twice_creates_nothing_twice(tmp_path: Path, hub_store: Store) -> None:
    """A file dropped again, or its records repeated in another file, are retries."""
    exchange = await exchange_for(tmp_path)
    folder = tmp_path / "court-out"
    (folder / "a.xml").write_bytes(REFERRAL_XML)
    await exchange.take_in(submitter(hub_store))
    (folder / "a.xml").write_bytes(REFERRAL_XML)
    (folder / "b.xml").write_bytes(REFERRAL_XML)

    receipts = await exchange.take_in(submitter(hub_store))

    assert [r.accepted for r in receipts] == [3, 3]
    assert len(from_court(hub_store)) == 3


async def test_a_crash_between_receipt_and_move_duplicates_nothing(
    tmp_path: Path, hub_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the hub stops after the receipt, the file is taken again as retries: no new referral."""
    exchange = await exchange_for(tmp_path)
    (tmp_path / "court-out" / "a.xml").write_bytes(REFERRAL_XML)

    async def crash(_source: str, _target: str) -> None:
        raise FolderError("the hub stopped here")

    monkeypatch.setattr(exchange.area, "move", crash)
    with pytest.raises(FolderError):
        await exchange.take_in(submitter(hub_store))
    assert (tmp_path / "court-out" / "receipts" / "a.xml.receipt.xml").exists()
    monkeypatch.undo()

    (receipt,) = await exchange.take_in(submitter(hub_store))

    assert receipt.accepted == 3
    assert len(from_court(hub_store)) == 3
    assert (tmp_path / "court-out" / "processed" / "a.xml").exists()


async def test_a_csv_court_gets_csv_receipts(tmp_path: Path, hub_store: Store) -> None:
    """A court exporting CSV gets its receipts as CSV too."""
    exchange = await exchange_for(tmp_path, format="csv")
    (tmp_path / "court-out" / "export.csv").write_bytes(REFERRAL_CSV)

    (receipt,) = await exchange.take_in(submitter(hub_store))

    assert receipt.accepted == 2
    text = (tmp_path / "court-out" / "receipts" / "export.csv.receipt.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["result"] for row in rows] == ["accepted", "accepted"]


def _event() -> Any:
    return new_event(EXAMPLES[("referral.status-changed", 1)], source="dar-al-amane-shelter")


async def test_a_delivery_the_format_cannot_hold_does_not_hold_back_the_others(
    tmp_path: Path,
) -> None:
    """An event no court record can carry is left out; the rest of the batch is written."""
    exchange = await exchange_for(tmp_path)
    payload = EXAMPLES[("referral.status-changed", 1)].model_copy(
        update={"referral_id": "ref\n0412"}
    )
    unwritable = new_event(payload, source="dar-al-amane-shelter")
    event = _event()

    offered = await exchange.offer([unwritable, event])

    assert [item.event_id for item in offered] == [event.id]
    assert (tmp_path / "court-in" / delivery_file_name(event.id, "xml")).exists()
    assert [item.event_id for item in await exchange.manifest()] == [event.id]


async def test_deliveries_are_written_whole_and_listed_with_their_hash(tmp_path: Path) -> None:
    """One file per event, no temporary file left, the manifest giving its SHA-256."""
    exchange = await exchange_for(tmp_path)
    event = _event()

    await exchange.offer([event])

    folder = tmp_path / "court-in"
    name = delivery_file_name(event.id, "xml")
    body = (folder / name).read_bytes()
    assert court_schema().is_valid(fromstring(body))
    manifest = list(csv.DictReader(io.StringIO((folder / "manifest.csv").read_text())))
    assert manifest == [
        {"file": name, "sha256": hashlib.sha256(body).hexdigest(), "event-id": event.id}
    ]
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]


async def test_an_ack_file_acknowledges_and_a_removed_file_is_offered_again(tmp_path: Path) -> None:
    """Ack files name event ids; a listed file removed without an ack comes back."""
    exchange = await exchange_for(tmp_path)
    first, second = _event(), _event()
    await exchange.offer([first, second])
    folder = tmp_path / "court-in"
    (folder / "acks" / "batch-1.ack").write_text(f"{first.id}\n")
    (folder / delivery_file_name(second.id, "xml")).unlink()

    acked, removed = await exchange.acknowledged()

    assert acked == {first.id}
    assert [item.event_id for item in removed] == [second.id]
    assert (folder / "acks" / "done" / "batch-1.ack").exists()
    listed = {item.event_id for item in await exchange.manifest()}
    assert listed == {second.id}


async def test_a_manifest_row_naming_another_file_is_never_acted_on(tmp_path: Path) -> None:
    """An ack for a manifest row the court rewrote to name another file removes nothing."""
    exchange = await exchange_for(tmp_path)
    event = _event()
    await exchange.offer([event])
    folder = tmp_path / "court-in"
    (folder / "register-2026.xml").write_text("the court's own file")
    with (folder / "manifest.csv").open("a", newline="") as manifest:
        manifest.write(f"register-2026.xml,{'0' * 64},forged-event\r\n")
    (folder / "acks" / "batch-1.ack").write_text("forged-event\n")

    await exchange.acknowledged()

    assert (folder / "register-2026.xml").read_text() == "the court's own file"
    assert [item.event_id for item in await exchange.manifest()] == [event.id]


async def test_in_removal_mode_removing_a_file_acknowledges_it(tmp_path: Path) -> None:
    """With acknowledge_by = removal, the registry's removal is its acknowledgement."""
    exchange = await exchange_for(tmp_path, acknowledge_by="removal")
    event = _event()
    await exchange.offer([event])
    (tmp_path / "court-in" / delivery_file_name(event.id, "xml")).unlink()

    acked, removed = await exchange.acknowledged()

    assert acked == {event.id}
    assert removed == []
    assert await exchange.manifest() == []
