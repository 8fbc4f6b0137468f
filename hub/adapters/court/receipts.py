"""Receipts: the hub's answer to each file a court sent, in the court's own format."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from hub.adapters.court._xml import NAMESPACE

__all__ = ["Receipt", "ReceiptLine"]


@dataclass(frozen=True)
class ReceiptLine:
    where: str
    accepted: bool
    record_id: str | None = None
    event_id: str | None = None
    reason: str = ""


@dataclass
class Receipt:
    file: str
    received_at: datetime
    refused: str | None = None
    lines: list[ReceiptLine] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(1 for line in self.lines if line.accepted)

    def render(self, fmt: str) -> bytes:
        return self._csv() if fmt == "csv" else self._xml()

    def _xml(self) -> bytes:
        parts = [
            '<?xml version="1.0" encoding="UTF-8"?>\n',
            f'<court-receipt xmlns="{NAMESPACE}" file={_attr(self.file)} '
            f"received-at={_attr(self.received_at.astimezone(UTC).isoformat())}>",
        ]
        if self.refused is not None:
            parts.append(f"\n  <file-refused>{_text(self.refused[:500])}</file-refused>")
        for line in self.lines:
            attributes = {
                "record-id": line.record_id,
                "where": line.where,
                "result": "accepted" if line.accepted else "refused",
                "event-id": line.event_id,
            }
            rendered = "".join(
                f" {name}={_attr(value)}" for name, value in attributes.items() if value is not None
            )
            parts.append(f"\n  <record{rendered}>{_text(line.reason)}</record>")
        parts.append("\n</court-receipt>\n")
        return "".join(parts).encode("utf-8")

    def _csv(self) -> bytes:
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["file", "record-id", "where", "result", "event-id", "reason"])
        if self.refused is not None:
            writer.writerow([self.file, "", "", "file-refused", "", _clean(self.refused)])
        for line in self.lines:
            result = "accepted" if line.accepted else "refused"
            writer.writerow(
                [
                    self.file,
                    line.record_id or "",
                    line.where,
                    result,
                    line.event_id or "",
                    _clean(line.reason),
                ]
            )
        return out.getvalue().encode("utf-8")


def _clean(text: str) -> str:
    """Reasons quote what the court sent: keep them printable in any receipt."""
    return "".join(ch if ch.isprintable() or ch in "\t\n" else "?" for ch in text)


def _text(text: str) -> str:
    return escape(_clean(text))


def _attr(text: str) -> str:
    return quoteattr(_clean(text))
