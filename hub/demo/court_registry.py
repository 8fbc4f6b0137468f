"""A court registry, as the demo simulates it: it exchanges files with the hub, never HTTP.

What the clerks record (a status change, an outcome, an onward referral) the
registry exports as a file of court records into its ``outgoing`` folder,
written under a temporary name and then renamed, as the exchange expects. It
reads the files the hub writes into ``incoming``, records each event, and
acknowledges them with an ack file. What it read is what the demo counts as
delivered, as for the agencies on HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import io
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from defusedxml.ElementTree import fromstring

from hub.adapters import AdapterContext
from hub.adapters.court import (
    CourtAdapter,
    Record,
    parse_csv,
    parse_xml,
    record_of,
    write_csv,
    write_xml,
)
from hub.adapters.directory import Directory
from hub.contracts import CloudEvent, ContractRegistry, new_event
from hub.contracts._uris import dataschema_uri
from hub.contracts.events import EventPayload
from hub.errors import HubError

__all__ = ["CourtFolders", "CourtRegistry"]

OnDelivered = Callable[[CloudEvent], Awaitable[None]]

_TYPES = {
    "referral": "referral.requested",
    "status-change": "referral.status-changed",
    "outcome": "referral.outcome-reported",
}
_NS = "{urn:referral-hub:court-records:v1}"


@dataclass(frozen=True)
class CourtFolders:
    """Where a court's registry and the hub exchange files, and in which format."""

    outgoing: Path
    incoming: Path
    format: str


class CourtRegistry:
    """One court's registry on its folders."""

    def __init__(
        self,
        agency_id: str,
        folders: CourtFolders,
        *,
        directory: Directory,
        pseudonym_key: bytes,
        registry: ContractRegistry,
    ) -> None:
        self.agency_id = agency_id
        self.folders = folders
        self._directory = directory
        self._registry = registry
        self._adapter = CourtAdapter(
            AdapterContext(
                pseudonym_key,
                source=agency_id,
                registry=registry,
                options={"format": folders.format},
                directory=directory,
            )
        )
        self._exported = 0
        self._acks = 0
        #: Delivery files read and acknowledged, while they are still in the folder.
        self._read: set[str] = set()
        self._receipts_seen: set[str] = set()
        #: Records the hub refused, as its receipts say.
        self.refused: list[str] = []
        for folder in (folders.outgoing, folders.incoming / "acks"):
            folder.mkdir(parents=True, exist_ok=True)

    # -- what the clerks record ---------------------------------------------

    async def export(self, payload: EventPayload, consent_id: str) -> list[CloudEvent]:
        """Export what a clerk recorded; the events the hub will take in from the file."""
        self._exported += 1
        number = self._exported
        event = new_event(payload, source=self.agency_id, consent_id=consent_id)
        record = dataclasses.replace(
            record_of(event, self._registry, self._directory),
            record_id=f"{self.agency_id[:12]}-{number:06d}",
            recorded_at=datetime.now(UTC),
            attributes={},
        )
        if self.folders.format == "csv":
            body = write_csv([record])
        else:
            body = write_xml(self._directory.external_name(self.agency_id), [record])
        name = f"export-{number:06d}.{self.folders.format}"
        await asyncio.to_thread(_write_then_rename, self.folders.outgoing, name, body)
        # The hub decodes the file with the same adapter and the same directory.
        return self._adapter.decode(body)

    # -- what the hub delivers ----------------------------------------------

    async def read_deliveries(
        self, on_event: OnDelivered, stop: asyncio.Event, interval_s: float = 0.1
    ) -> None:
        """Read and acknowledge the hub's files until ``stop``; each file once while it lies."""
        while not stop.is_set():
            for event in await asyncio.to_thread(self._new_deliveries):
                await on_event(event)
            await asyncio.to_thread(self._read_receipts)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)

    def _new_deliveries(self) -> list[CloudEvent]:
        incoming = self.folders.incoming
        present = {
            path.name
            for path in incoming.iterdir()
            if path.name.startswith("hub-") and path.is_file()
        }
        # A file the hub took away after the ack may come back only if offered again.
        self._read &= present
        events: list[CloudEvent] = []
        for name in sorted(present - self._read):
            self._read.add(name)
            try:
                events.extend(self._delivered(incoming.joinpath(name).read_bytes()))
            except (OSError, ValueError, KeyError, HubError) as exc:
                # Left unacknowledged; the demo reports it as an agency error.
                self.refused.append(f"{name}: unreadable delivery: {exc!r}")
        if events:
            self._acks += 1
            body = "".join(f"{event.id}\n" for event in events).encode()
            _write_then_rename(incoming / "acks", f"read-{self._acks:06d}.ack", body)
        return events

    def _delivered(self, raw: bytes) -> list[CloudEvent]:
        # Notices come as XML even to a registry that exports CSV.
        if raw.lstrip()[:1] == b"<":
            named, records = parse_xml(raw)
            # The hub's own notices name the hub, which is no agency.
            known = self._directory.knows(named)
            sender = self._directory.agency(named, element="sender") if known else named
        else:
            sender, records = self.agency_id, parse_csv(raw)
        return [self._event(record, sender) for record in records]

    def _event(self, record: Record, sender: str) -> CloudEvent:
        """The event a delivered record stands for, as the registry keeps it."""
        attributes = record.attributes
        if record.kind == "notice":
            event_type = attributes["type"]
            data: dict[str, Any] = json.loads(record.fields["payload"])
            version = int(attributes["version"])
            source = attributes["source"]
            subject = attributes.get("referral", record.record_id)
        else:
            event_type = _TYPES[record.kind]
            data = _data(record)
            version = self._version(event_type, data)
            # A CSV file names no sender: the referral's data does, or the hub.
            source = (
                sender if sender != self.agency_id else str(data.get("from_agency", "referral-hub"))
            )
            subject = record.fields["referral-id"]
        extensions = {"overrideid": attributes["override"]} if "override" in attributes else {}
        return CloudEvent(
            specversion="1.0",
            id=record.record_id,
            source=source,
            type=event_type,
            time=record.recorded_at,
            subject=subject,
            dataschema=dataschema_uri(event_type, version),
            data=data,
            consentid=attributes.get("consent"),
            **extensions,
        )

    def _version(self, event_type: str, data: dict[str, Any]) -> int:
        """The newest contract version the delivered data is valid for."""
        for version in sorted(self._registry.versions(event_type), reverse=True):
            model = self._registry.get(event_type, version).model
            with contextlib.suppress(ValueError):
                model.model_validate(data)
                return version
        return 1

    def _read_receipts(self) -> None:
        """Note every record the hub refused: the demo reports them as agency errors."""
        folder = self.folders.outgoing / "receipts"
        if not folder.is_dir():
            return
        for path in sorted(folder.iterdir()):
            if path.name in self._receipts_seen or path.name.startswith("."):
                continue
            self._receipts_seen.add(path.name)
            self.refused.extend(_refusals(path))


def _data(record: Record) -> dict[str, Any]:
    fields = record.fields
    if record.kind == "referral":
        data: dict[str, Any] = json.loads(fields["data"])
        return data
    names = {
        "referral-id": "referral_id",
        "status": "status",
        "business-status": "business_status",
        "status-reason": "status_reason",
        "outcome": "outcome",
        "occurred-at": "occurred_at",
        "next-step-at": "next_step_at",
        "case-number": "case_number",
        "note": "note",
    }
    return {names[name]: value for name, value in fields.items() if name in names}


def _refusals(path: Path) -> list[str]:
    raw = path.read_bytes()
    if path.suffix == ".csv":
        rows = csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""))
        return [
            f"{path.name}: {row['where']}: {row['reason']}"
            for row in rows
            if row["result"] != "accepted"
        ]
    root = fromstring(raw)
    found = [f"{path.name}: {e.text}" for e in root.iter(f"{_NS}file-refused")]
    found.extend(
        f"{path.name}: {e.get('where')}: {e.text}"
        for e in root.iter(f"{_NS}record")
        if e.get("result") != "accepted"
    )
    return found


def _write_then_rename(folder: Path, name: str, body: bytes) -> None:
    temporary = folder / f".{name}.part"
    with open(temporary, "wb") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, folder / name)
