"""The CSV form of court records, for registries that can only export spreadsheets.

One row per record, a header naming the columns. The default columns are the
record's own names (``kind``, ``record-id``, ``recorded-at``, then the fields,
and ``<field>-system`` for a code's system); a court whose export names them
otherwise maps its columns in configuration.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import datetime

from hub.adapters.base import UnreadableInput
from hub.adapters.court._records import CODED, RECORD_FIELDS, Record
from hub.adapters.court._xml import MAX_FILE_BYTES
from hub.errors import AdapterError

__all__ = ["DEFAULT_COLUMNS", "parse_csv", "write_csv"]

_KINDS = ("referral", "status-change", "outcome")
#: Written by the hub on what it delivers (see the XML schema); ignored when read.
_DELIVERED_UNDER = ("consent", "override")
_ALL_FIELDS = tuple(dict.fromkeys(f for kind in _KINDS for f in RECORD_FIELDS[kind]))
#: Record name -> column header, as the hub writes and reads by default.
DEFAULT_COLUMNS: dict[str, str] = {
    name: name
    for name in (
        "kind",
        "record-id",
        "recorded-at",
        *_ALL_FIELDS,
        *(f"{field}-system" for field in _ALL_FIELDS if field in CODED),
        *_DELIVERED_UNDER,
    )
}
_MAX_FIELD = 20_000


def parse_csv(raw: bytes, columns: Mapping[str, str] | None = None) -> list[Record]:
    """The records of one CSV export; errors name the line and column."""
    if len(raw) > MAX_FILE_BYTES:
        raise UnreadableInput(f"the file is over {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableInput("not UTF-8 text") from None
    if "\x00" in text:
        raise UnreadableInput("not a CSV file: it holds NUL characters")
    names = {**DEFAULT_COLUMNS, **(columns or {})}
    header_of = {header: name for name, header in names.items()}
    csv.field_size_limit(_MAX_FIELD + 1)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadableInput("the file is empty") from None
    except csv.Error as exc:
        raise UnreadableInput(f"not CSV: {exc}") from None
    unknown = [h for h in header if h not in header_of]
    if unknown:
        raise UnreadableInput(f"unknown columns {unknown}")
    for needed in ("kind", "record-id", "recorded-at"):
        if names[needed] not in header:
            raise UnreadableInput(f"no {names[needed]!r} column")
    records = []
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise AdapterError(
                    f"{len(row)} cells for {len(header)} columns", path=f"line {line}"
                )
            values = {header_of[h]: cell for h, cell in zip(header, row, strict=True) if cell != ""}
            records.append(_record(values, line, names))
    except csv.Error as exc:
        raise UnreadableInput(f"not CSV at line {reader.line_num}: {exc}") from None
    return records


def _record(values: dict[str, str], line: int, names: Mapping[str, str]) -> Record:
    where = f"line {line}"
    kind = values.pop("kind", "").strip()
    if kind not in _KINDS:
        raise AdapterError(f"kind must be one of {list(_KINDS)}, not {kind!r}", path=where)
    record_id = values.pop("record-id", "").strip()
    if not record_id:
        raise AdapterError(f"{names['record-id']} is empty", path=where)
    moment = values.pop("recorded-at", "").strip()
    try:
        recorded_at = datetime.fromisoformat(moment)
    except ValueError:
        raise AdapterError(
            f"{names['recorded-at']}: not a date-time: {moment!r}", path=where
        ) from None
    if recorded_at.tzinfo is None:
        raise AdapterError(f"{names['recorded-at']}: {moment!r} has no UTC offset", path=where)
    attributes = {name: values.pop(name).strip() for name in _DELIVERED_UNDER if name in values}
    systems = {
        name.removesuffix("-system"): value.strip()
        for name, value in list(values.items())
        if name.endswith("-system")
    }
    fields = {name: value for name, value in values.items() if not name.endswith("-system")}
    extra = sorted(set(fields) - set(RECORD_FIELDS[kind]))
    if extra:
        raise AdapterError(f"a {kind} has no {[names[e] for e in extra]}", path=where)
    return Record(kind, record_id, recorded_at, fields, systems, where, attributes)  # type: ignore[arg-type]


def write_csv(records: list[Record], columns: Mapping[str, str] | None = None) -> bytes:
    """One CSV export of records (notices cannot be written as CSV)."""
    names = {**DEFAULT_COLUMNS, **(columns or {})}
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    order = list(DEFAULT_COLUMNS)
    writer.writerow([names[name] for name in order])
    for record in records:
        if record.kind == "notice":
            raise AdapterError("a notice has no CSV form", path="kind")
        values = {
            "kind": record.kind,
            "record-id": record.record_id,
            "recorded-at": record.recorded_at.isoformat(),
            **record.fields,
            **{f"{name}-system": system for name, system in record.systems.items()},
            **{
                name: record.attributes[name]
                for name in _DELIVERED_UNDER
                if name in record.attributes
            },
        }
        row = [values.get(name, "") for name in order]
        if any("\x00" in cell for cell in row):
            raise AdapterError(
                "holds a NUL character, which CSV files cannot carry", path=record.where
            )
        writer.writerow(row)
    return out.getvalue().encode("utf-8")
