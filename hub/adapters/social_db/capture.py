"""Polling an agency's database for what it sends, and handing it to the hub's intake.

One poll claims the new rows (see :mod:`hub.adapters.social_db.database`),
decodes each into a canonical event, submits the events together, and
records each row's fate in the ledger. A row that cannot be decoded, or that
the hub refuses, is recorded ``refused`` with the reason and reported; the
rows after it go on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hub.adapters.social_db._rows import decode_row
from hub.adapters.social_db.database import (
    ACCEPTED,
    REFUSED,
    AgencyDatabase,
    Claimed,
    Settlement,
)
from hub.contracts import CloudEvent
from hub.errors import AdapterError, HubError

__all__ = ["CaptureReport", "ChangeCapture", "OnRefused", "Submit"]

#: Hands decoded events to the hub's intake; one answer per event, in order:
#: None when accepted (or already accepted), the refusal otherwise.
Submit = Callable[[Sequence[CloudEvent]], Sequence[HubError | None]]
#: Told of every row refused, with its table, key and the reason.
OnRefused = Callable[[str, str, str, str], None]


@dataclass
class CaptureReport:
    """What one poll did."""

    accepted: list[str] = field(default_factory=list)
    refused: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def taken(self) -> int:
        return len(self.accepted) + len(self.refused)


class ChangeCapture:
    """Takes in what one agency's application recorded for the hub."""

    def __init__(
        self,
        database: AgencyDatabase,
        *,
        pseudonym_key: bytes,
        submit: Submit,
        on_refused: OnRefused | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._db = database
        self._key = pseudonym_key
        self._submit = submit
        self._on_refused = on_refused
        self._clock = clock

    def poll_once(self) -> CaptureReport:
        """Claim, decode, submit and settle one batch; AgencyDatabaseError if unreachable."""
        report = CaptureReport()
        claimed = self._db.claim(self._clock())
        if not claimed:
            return report
        settlements: list[Settlement] = []
        decoded: list[tuple[Claimed, CloudEvent]] = []
        for item in claimed:
            try:
                event = decode_row(
                    item.row,
                    agency_id=self._db.agency_id,
                    source=item.source,
                    settings=self._db.settings,
                    pseudonym_key=self._key,
                    taken_at=item.taken_at,
                )
            except AdapterError as exc:
                settlements.append(self._refused(item, None, _reason(exc), report))
            else:
                decoded.append((item, event))
        answers = self._submit([event for _, event in decoded]) if decoded else []
        for (item, event), answer in zip(decoded, answers, strict=True):
            if answer is None:
                settlements.append(Settlement(item.source.table, item.key, event.id, ACCEPTED))
                report.accepted.append(event.id)
            else:
                settlements.append(self._refused(item, event.id, _reason(answer), report))
        self._db.settle(settlements, self._clock())
        return report

    def _refused(
        self, item: Claimed, event_id: str | None, reason: str, report: CaptureReport
    ) -> Settlement:
        report.refused.append((item.source.table, item.key, reason))
        if self._on_refused is not None:
            self._on_refused(self._db.agency_id, item.source.table, item.key, reason)
        return Settlement(item.source.table, item.key, event_id, REFUSED, reason[:1000])


def _reason(exc: HubError) -> str:
    path = getattr(exc, "path", None)
    message = getattr(exc, "reason", None) or str(exc)
    return f"{path}: {message}" if path else message
