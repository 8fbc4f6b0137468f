"""The social-db adapter behind the common port: rows as JSON documents.

A native document is one row, named by its table: ``{"table": NAME, "row":
{column: value}}``. A row of an outgoing source decodes to the event it
stands for; a row of the inbound table (what the hub wrote) decodes back to
the delivered event. ``encode`` gives the inbound-table row for an event.
The mapping comes from the ``mapping`` option (the agency's ``delivery``
table as JSON) and defaults to the example schema's
(:mod:`hub.adapters.social_db.example`), so IT teams can try rows offline
with ``hub adapters decode social-db FILE``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from pydantic import ValidationError

from hub.adapters.base import Adapter, AdapterContext, NativeInput, NativeOutput, UnreadableInput
from hub.adapters.social_db._rows import decode_row, encode_row
from hub.adapters.social_db.example import example_mapping
from hub.config.social_db import SocialDbDelivery
from hub.contracts import MAX_EVENT_BYTES, CloudEvent, new_event
from hub.errors import AdapterError, ContractError

__all__ = ["SocialDbAdapter"]


class SocialDbAdapter(Adapter):
    name: ClassVar[str] = "social-db"

    def __init__(self, context: AdapterContext) -> None:
        super().__init__(context)
        self.mapping = _mapping(context.options.get("mapping"))

    def decode(self, native: NativeInput) -> list[CloudEvent]:
        document = _read(native)
        table, row = _table_and_row(document)
        for source in self.mapping.outgoing:
            if source.table == table:
                return [
                    decode_row(
                        row,
                        agency_id=self._source(),
                        source=source,
                        settings=self.mapping,
                        pseudonym_key=self.context.pseudonym_key,
                        taken_at=self.context.clock(),
                    )
                ]
        inbound = self.mapping.inbound
        if inbound is not None and inbound.table == table:
            return [self._delivered(row)]
        raise AdapterError(f"the mapping names no table {table!r}", path="table")

    def encode(self, event: CloudEvent, *, target_version: str | None = None) -> NativeOutput:
        if self.mapping.inbound is None:
            raise AdapterError("the mapping names no inbound table", path="inbound")
        row = encode_row(event, self.mapping)
        return {"table": self.mapping.inbound.table, "row": _jsonable(row)}

    def _source(self) -> str:
        if not self.context.source:
            raise AdapterError("the sending agency is not known: give --source", path="source")
        return self.context.source

    def _delivered(self, row: Mapping[str, Any]) -> CloudEvent:
        """The event the hub wrote as this inbound row, in the newest version its data fits."""
        inbound = self.mapping.inbound
        assert inbound is not None
        columns = inbound.columns
        needed = ("event_id", "event_type", "source", "time", "payload")
        missing = [field for field in needed if field not in columns]
        if missing:
            raise AdapterError(f"the inbound mapping lacks {missing} to read rows back", path=None)
        values = {field: row.get(columns[field]) for field in needed}
        try:
            data = json.loads(str(values["payload"]))
            time = datetime.fromisoformat(str(values["time"]))
        except ValueError as exc:
            raise AdapterError(f"unreadable: {exc}", path=f"{inbound.table}.row") from None
        if not isinstance(data, dict):
            raise AdapterError("the payload is not a JSON object", path=columns["payload"])
        registry = self.context.registry
        try:
            versions = registry.versions(str(values["event_type"]))
        except ContractError as exc:
            raise AdapterError(str(exc), path=columns["event_type"]) from None
        for version in reversed(versions):
            model = registry.get(str(values["event_type"]), version).model
            try:
                payload = model.model_validate_json(json.dumps(data))
            except ValidationError:
                continue
            return new_event(
                payload,
                source=str(values["source"]),
                event_id=str(values["event_id"]),
                time=time,
                consent_id=getattr(payload, "consent_id", None),
            )
        raise AdapterError("the payload fits no version of its contract", path=columns["payload"])


def _read(native: NativeInput) -> Mapping[str, Any]:
    if isinstance(native, Mapping):
        return native
    if len(native) > MAX_EVENT_BYTES:
        raise UnreadableInput(f"the document is over {MAX_EVENT_BYTES} bytes")
    try:
        document = json.loads(bytes(native))
    except (ValueError, RecursionError) as exc:
        raise UnreadableInput(f"not JSON: {str(exc)[:200]}") from None
    if not isinstance(document, dict):
        raise UnreadableInput("a row document is a JSON object")
    return document


def _mapping(option: str | None) -> SocialDbDelivery:
    if option is None:
        return example_mapping()
    try:
        return SocialDbDelivery.model_validate_json(option)
    except ValidationError as exc:
        raise AdapterError(f"the mapping option is not a social-db mapping: {exc}") from None


def _table_and_row(document: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    table, row = document.get("table"), document.get("row")
    if not isinstance(table, str) or not table:
        raise AdapterError("a row document names its table", path="table")
    if not isinstance(row, dict):
        raise AdapterError("a row document holds the row as a JSON object", path="row")
    return table, row


def _jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
