"""The court file exchange: picking up what a registry wrote, and offering it what it receives.

Inbound (the court's ``outgoing`` folder). A file is picked up once complete:
under its final name (registries write under a name starting with ``.`` or
ending in ``.tmp`` or ``.part``, then rename), or, with ``complete_when =
"marker"``, once ``NAME.done`` exists. Each record is decoded and submitted
through the hub's intake, which de-duplicates on the event id derived from the
registry's record id; then a receipt is written into ``receipts/`` and the
file moved to ``processed/`` (or ``rejected/`` when it could not be read at
all). A crash between the receipt and the move only means the file is taken
again: the same events, answered as retries. A file that is not XML or CSV,
empty, truncated, too large, a link, or named to escape the folder is
rejected with a receipt saying why; the other files go on.

Outbound (the court's ``incoming`` folder). Each delivery is one file, named
from its event id, written atomically, and listed in ``manifest.csv`` with its
SHA-256. The registry acknowledges by writing ``acks/*.ack`` files listing
event ids, one per line (or, with ``acknowledge_by = "removal"``, by removing
the file). A listed file that disappears unacknowledged is offered again.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from hub.adapters.court.adapter import CourtAdapter
from hub.adapters.court.folders import Entry, FileArea, FileTooLarge, FolderError
from hub.adapters.court.receipts import Receipt, ReceiptLine
from hub.config import CourtFilesDelivery
from hub.contracts import CloudEvent
from hub.errors import AdapterError, HubError

__all__ = ["CourtExchange", "Offered", "delivery_file_name"]

_log = structlog.get_logger(__name__)

#: Hands decoded events to the hub's intake: None for each accepted, the refusal otherwise.
Submit = Callable[[Sequence[CloudEvent]], Sequence[HubError | None]]

_SUFFIXES = {"xml": ".xml", "csv": ".csv"}
_TEMPORARY = re.compile(r"^\.|\.(tmp|part|partial|crdownload)$", re.IGNORECASE)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_MANIFEST = "manifest.csv"
_MANIFEST_COLUMNS = ["file", "sha256", "event-id"]
_MAX_MANIFEST_BYTES = 64 * 1024 * 1024
_SUBFOLDERS = ("processed", "rejected", "receipts")


def delivery_file_name(event_id: str, fmt: str) -> str:
    """The file a delivery is written as: from its event id, safe on any file system."""
    digest = hashlib.sha256(event_id.encode()).hexdigest()[:40]
    return f"hub-{digest}{_SUFFIXES.get(fmt, '.xml')}"


@dataclass(frozen=True)
class Offered:
    """A file the hub has written for the court, as the manifest lists it."""

    name: str
    event_id: str
    sha256: str


class CourtExchange:
    """One court's folders, as its configuration describes them."""

    def __init__(
        self,
        agency_id: str,
        settings: CourtFilesDelivery,
        area: FileArea,
        adapter: CourtAdapter,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.agency_id = agency_id
        self.settings = settings
        self.area = area
        self.adapter = adapter
        self._clock = clock
        # Deliveries and the acknowledgement pass both rewrite the manifest.
        self._manifest_lock = asyncio.Lock()

    def _in(self, *parts: str) -> str:
        return posixpath.join(self.settings.outgoing, *parts)

    def _out(self, *parts: str) -> str:
        return posixpath.join(self.settings.incoming, *parts)

    async def prepare(self) -> None:
        for sub in _SUBFOLDERS:
            await self.area.ensure_folder(self._in(sub))
        await self.area.ensure_folder(self._out("acks", "done"))

    # --- inbound ---

    async def take_in(self, submit: Submit) -> list[Receipt]:
        """Process every complete file in the court's outgoing folder, one receipt each."""
        entries = await self.area.entries(self.settings.outgoing)
        names = {entry.name for entry in entries}
        receipts = []
        for entry in entries:
            if entry.name in _SUBFOLDERS or not self._complete(entry, names):
                continue
            receipts.append(await self._take_file(entry, submit))
        return receipts

    def _complete(self, entry: Entry, names: set[str]) -> bool:
        if entry.name.endswith(".done") or _TEMPORARY.search(entry.name):
            return False
        if self.settings.complete_when == "marker":
            return f"{entry.name}.done" in names
        return True

    async def _take_file(self, entry: Entry, submit: Submit) -> Receipt:
        receipt = Receipt(entry.name, self._clock())
        refusal = self._unsafe(entry)
        raw = b""
        if refusal is None:
            try:
                raw = await self.area.read(self._in(entry.name), self.settings.max_file_bytes)
            except FileTooLarge:
                refusal = f"the file is over {self.settings.max_file_bytes} bytes"
            except FolderError as exc:
                if exc.retriable:
                    raise
                refusal = str(exc)
        if refusal is None and not raw.strip():
            refusal = "the file is empty"
        if refusal is None:
            refusal = await self._records(raw, receipt, submit)
        receipt.refused = refusal
        await self._finish(entry.name, receipt)
        return receipt

    def _unsafe(self, entry: Entry) -> str | None:
        if entry.is_symlink:
            return "the file is a symbolic link; write the file itself"
        if not entry.is_file:
            return "not a regular file"
        if not _SAFE_NAME.match(entry.name) or ".." in entry.name:
            return "the file name may use only letters, digits, '.', '_' and '-'"
        suffix = _SUFFIXES[self.settings.format]
        if not entry.name.lower().endswith(suffix):
            return f"not a {self.settings.format.upper()} file: its name must end in {suffix}"
        if entry.size > self.settings.max_file_bytes:
            return f"the file is over {self.settings.max_file_bytes} bytes"
        return None

    async def _records(self, raw: bytes, receipt: Receipt, submit: Submit) -> str | None:
        """Decode and submit each record; the reason the whole file is refused, if it is."""
        try:
            named, records = self.adapter.records(raw)
            sender = self.adapter.sender(named)
        except AdapterError as exc:
            return f"{exc.path}: {exc.reason}" if exc.path else exc.reason
        if not records:
            return "the file holds no record"
        decoded: list[tuple[int, CloudEvent]] = []
        lines: list[ReceiptLine | None] = []
        for record in records:
            try:
                event = self.adapter.event(record, sender)
            except AdapterError as exc:
                reason = exc.reason if exc.path else str(exc)
                where = exc.path or record.where
                lines.append(ReceiptLine(where, False, record.record_id, None, reason))
            else:
                decoded.append((len(lines), event))
                lines.append(None)
        answers = await asyncio.to_thread(submit, [event for _, event in decoded])
        for (index, event), answer in zip(decoded, answers, strict=True):
            record = records[index]
            if answer is None:
                lines[index] = ReceiptLine(record.where, True, record.record_id, event.id)
            else:
                lines[index] = ReceiptLine(record.where, False, record.record_id, None, str(answer))
        receipt.lines = [line for line in lines if line is not None]
        return None

    async def _finish(self, name: str, receipt: Receipt) -> None:
        """The receipt first, then the move: a crash between them repeats harmlessly."""
        fmt = self.settings.format
        await self.area.write_atomic(
            self._in("receipts"), f"{name}.receipt{_SUFFIXES[fmt]}", receipt.render(fmt)
        )
        folder = "rejected" if receipt.refused is not None else "processed"
        await self.area.move(self._in(name), self._in(folder, name))
        if self.settings.complete_when == "marker":
            await self.area.remove(self._in(f"{name}.done"))

    # --- outbound ---

    async def offer(self, events: Sequence[CloudEvent]) -> list[Offered]:
        """Write each event as its own file, then list them in the manifest."""
        offered = []
        for event in events:
            try:
                body = self.adapter.encode(event)
            except AdapterError as exc:
                # One event the format cannot hold must not keep the others from
                # the court: it stays unacknowledged in the inbox, counted and logged.
                _log.error(
                    "delivery cannot be written as a court record",
                    agency_id=self.agency_id,
                    event_id=event.id,
                    element=exc.path,
                )
                continue
            assert isinstance(body, bytes)
            name = delivery_file_name(event.id, self.settings.format)
            await self.area.write_atomic(self.settings.incoming, name, body)
            offered.append(Offered(name, event.id, hashlib.sha256(body).hexdigest()))
        async with self._manifest_lock:
            listed = {item.name: item for item in await self.manifest()}
            listed.update({item.name: item for item in offered})
            await self._write_manifest(list(listed.values()))
        return offered

    async def manifest(self) -> list[Offered]:
        """The files the hub has offered and not seen acknowledged."""
        path = self._out(_MANIFEST)
        if not await self.area.exists(path):
            return []
        raw = await self.area.read(path, _MAX_MANIFEST_BYTES)
        try:
            reader = csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""))
            rows = list(reader)
            header = reader.fieldnames
        except (UnicodeDecodeError, csv.Error):
            rows, header = [], None
        # Only what the hub itself would have written counts: a file name that is
        # not its event's own (one naming another path, say) is never acted on.
        fmt = self.settings.format
        listed = [
            Offered(row["file"], row["event-id"], row["sha256"])
            for row in rows
            if row.get("event-id")
            and row.get("sha256")
            and row.get("file") == delivery_file_name(row["event-id"], fmt)
        ]
        if header != _MANIFEST_COLUMNS or len(listed) != len(rows):
            # Altered on the court's side: it is rebuilt from what the hub holds
            # unacknowledged, whatever it no longer lists being offered again.
            _log.warning("court manifest altered; rebuilding it", agency_id=self.agency_id)
        return listed

    async def _write_manifest(self, items: list[Offered]) -> None:
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(_MANIFEST_COLUMNS)
        for item in sorted(items, key=lambda item: item.name):
            writer.writerow([item.name, item.sha256, item.event_id])
        await self.area.write_atomic(self.settings.incoming, _MANIFEST, out.getvalue().encode())

    async def acknowledged(self) -> tuple[set[str], list[Offered]]:
        """Event ids the court acknowledged now, and offered files it removed unacknowledged.

        Ack files are moved to ``acks/done`` once read. In ``removal`` mode a removed
        file is an acknowledgement; otherwise it is returned to be offered again.
        """
        acked: set[str] = set()
        for entry in await self.area.entries(self._out("acks")):
            if not entry.is_file or entry.is_symlink or not entry.name.endswith(".ack"):
                continue
            raw = await self.area.read(self._out("acks", entry.name), 1024 * 1024)
            acked.update(line.strip() for line in raw.decode("utf-8", "replace").splitlines())
            await self.area.move(
                self._out("acks", entry.name), self._out("acks", "done", entry.name)
            )
        acked.discard("")
        present = {entry.name for entry in await self.area.entries(self.settings.incoming)}
        removed: list[Offered] = []
        async with self._manifest_lock:
            remaining = []
            for item in await self.manifest():
                if item.event_id in acked:
                    if item.name in present:
                        await self.area.remove(self._out(item.name))
                    continue
                if item.name not in present:
                    if self.settings.acknowledge_by == "removal":
                        acked.add(item.event_id)
                        continue
                    removed.append(item)
                remaining.append(item)
            await self._write_manifest(remaining)
        return acked, removed
