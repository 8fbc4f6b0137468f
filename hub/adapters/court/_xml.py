"""The XML form of court records: parsed safely, validated against the published schema.

Parsing goes through defusedxml (no DTDs, external entities or entity
expansion), within a size limit, and then through the XML Schema
(``court-records-v1.xsd``, published in ``contracts-docs/court/``), which
also bounds the depth: every record is two levels below the root.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import cast
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

import xmlschema
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from hub.adapters.base import UnreadableInput
from hub.adapters.court._records import CODED, RECORD_FIELDS, Record, RecordKind
from hub.contracts import MAX_EVENT_BYTES
from hub.errors import AdapterError

__all__ = ["NAMESPACE", "SCHEMA_FILE", "court_schema", "parse_xml", "write_xml"]

NAMESPACE = "urn:referral-hub:court-records:v1"
SCHEMA_FILE = "court-records-v1.xsd"
#: A registry export is a batch: larger than one event, still bounded.
MAX_FILE_BYTES = 8 * MAX_EVENT_BYTES
_NS = f"{{{NAMESPACE}}}"


@cache
def court_schema() -> xmlschema.XMLSchema10:
    """The published schema, loaded once."""
    source = files("hub.adapters.court").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return xmlschema.XMLSchema10(source)


def schema_text() -> str:
    return files("hub.adapters.court").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def parse_xml(raw: bytes) -> tuple[str, list[Record]]:
    """The sender attribute and the records of one file, or an error naming where."""
    if len(raw) > MAX_FILE_BYTES:
        raise UnreadableInput(f"the file is over {MAX_FILE_BYTES} bytes")
    try:
        root = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnreadableInput(f"refused XML construct: {type(exc).__name__}") from None
    except (ParseError, ValueError) as exc:
        raise UnreadableInput(f"not well-formed XML: {exc}") from None
    _check_depth(root)
    if root.tag != f"{_NS}court-records":
        raise UnreadableInput(f"the root element is {root.tag!r}, not court-records in {NAMESPACE}")
    error = next(court_schema().iter_errors(root), None)
    if error is not None:
        raise AdapterError(_reason(error), path=_path(error))
    counts: dict[str, int] = {}
    records = []
    for element in root:
        kind = element.tag.removeprefix(_NS)
        counts[kind] = counts.get(kind, 0) + 1
        where = f"/court-records/{kind}[{counts[kind]}]"
        fields: dict[str, str] = {}
        systems: dict[str, str] = {}
        for child in element:
            name = child.tag.removeprefix(_NS)
            fields[name] = child.text or ""
            if name in CODED and child.get("system"):
                systems[name] = str(child.get("system"))
        records.append(
            Record(
                cast(RecordKind, kind),  # the schema admits only record kinds
                record_id=str(element.get("record-id")),
                recorded_at=datetime.fromisoformat(str(element.get("recorded-at"))),
                fields=fields,
                systems=systems,
                where=where,
                attributes={k: v for k, v in element.attrib.items() if k not in _RECORD_ATTRS},
            )
        )
    return str(root.get("sender")), records


_RECORD_ATTRS = frozenset({"record-id", "recorded-at"})


def write_xml(sender: str, records: list[Record]) -> bytes:
    """One file of records, valid against the schema; AdapterError for text XML cannot hold."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<court-records xmlns="{NAMESPACE}" sender={_attr(sender)} format-version="1">',
    ]
    for record in records:
        attributes = {
            "record-id": record.record_id,
            "recorded-at": record.recorded_at.isoformat(),
            **record.attributes,
        }
        rendered = "".join(f" {name}={_attr(value)}" for name, value in attributes.items())
        parts.append(f"\n  <{record.kind}{rendered}>")
        for name in RECORD_FIELDS[record.kind]:
            value = record.fields.get(name)
            if value is None:
                continue
            system = record.systems.get(name)
            system_attr = f" system={_attr(system)}" if system is not None else ""
            parts.append(f"\n    <{name}{system_attr}>{_text(value, name)}</{name}>")
        parts.append(f"\n  </{record.kind}>")
    parts.append("\n</court-records>\n")
    body = "".join(parts).encode("utf-8")
    # What the hub writes must be what it publishes: a value the schema refuses
    # (an identifier with surrounding blanks, say) fails here, not at the court.
    error = next(court_schema().iter_errors(fromstring(body)), None)
    if error is not None:
        raise AdapterError(_reason(error), path=_path(error))
    return body


# XML 1.0 cannot hold these characters at all, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str, name: str) -> str:
    if _NOT_XML.search(value):
        raise AdapterError("holds a control character XML cannot carry", path=name)
    # Carriage returns as references: a parser would turn a literal one into a newline.
    return escape(value, {"\r": "&#13;"})


def _attr(value: str) -> str:
    if _NOT_XML.search(value):
        raise AdapterError("holds a control character XML cannot carry", path="attribute")
    return quoteattr(value, {"\r": "&#13;", "\n": "&#10;", "\t": "&#9;"})


#: Root, record, field: anything deeper is not a court-records file.
_MAX_DEPTH = 3


def _check_depth(root: Element) -> None:
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise UnreadableInput(f"elements nest deeper than {_MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in element)


def _path(error: xmlschema.XMLSchemaValidationError) -> str:
    return (error.path or "/court-records").replace(_NS, "")


def _reason(error: xmlschema.XMLSchemaValidationError) -> str:
    reason = (error.reason or "invalid").replace(_NS, "")
    return " ".join(reason.split())[:300]
