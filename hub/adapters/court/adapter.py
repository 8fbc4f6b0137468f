"""The court adapter behind the common port: registry files to and from canonical events.

``decode`` reads one file, XML (``court-records-v1.xsd``) or CSV (``format``
option, or sniffed from the first byte), and gives one event per record; it
stops at the first record it cannot translate, naming it. The exchange
(:mod:`hub.adapters.court.exchange`) decodes record by record instead, so one
bad record is refused in the receipt and the rest go on. ``encode`` writes one
event as a file of one record.
"""

from __future__ import annotations

import json
from typing import ClassVar

from hub.adapters.base import Adapter, AdapterContext, NativeInput, NativeOutput, UnreadableInput
from hub.adapters.court._csv import parse_csv, write_csv
from hub.adapters.court._records import Record, record_of, to_event
from hub.adapters.court._xml import parse_xml, write_xml
from hub.adapters.directory import Directory
from hub.contracts import CloudEvent

__all__ = ["CourtAdapter"]


class CourtAdapter(Adapter):
    name: ClassVar[str] = "court"

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        self.directory = context.directory or Directory()
        self.format = context.options.get("format")
        self.columns: dict[str, str] = json.loads(context.options.get("csv_columns", "{}"))

    def records(self, native: NativeInput) -> tuple[str | None, list[Record]]:
        """The sender a file names (XML only) and its records."""
        raw = _bytes(native)
        kind = self.format or ("xml" if raw.lstrip()[:1] == b"<" else "csv")
        if kind == "xml":
            return parse_xml(raw)
        return None, parse_csv(raw, self.columns)

    def sender(self, named: str | None) -> str:
        """The agency sending: the context's, checked against what an XML file names."""
        source = self.context.source
        if named is not None:
            agency = self.directory.agency(named, element="/court-records/@sender")
            if source is not None and agency != source:
                raise UnreadableInput(f"the file names {named!r} as sender, not {source}")
            return agency
        if source is None:
            raise UnreadableInput("the sending agency is not known: give --source")
        return source

    def event(self, record: Record, sender: str) -> CloudEvent:
        return to_event(
            record,
            sender=sender,
            directory=self.directory,
            pseudonym_key=self.context.pseudonym_key,
        )

    def decode(self, native: NativeInput) -> list[CloudEvent]:
        named, records = self.records(native)
        sender = self.sender(named)
        return [self.event(record, sender) for record in records]

    def encode(self, event: CloudEvent, *, target_version: str | None = None) -> NativeOutput:
        record = record_of(event, self.context.registry, self.directory)
        if self.format == "csv" and record.kind != "notice":
            return write_csv([record], self.columns)
        return write_xml(self.directory.external_name(event.source), [record])


def _bytes(native: NativeInput) -> bytes:
    if isinstance(native, bytes | bytearray | memoryview):
        return bytes(native)
    raise UnreadableInput("a court file is bytes (XML or CSV), not a JSON document")
