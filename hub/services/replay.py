"""Replaying dead letters: back to the agency's inbox, never past a withdrawn consent.

A replay goes through the outbox like any accepted event, so the running hub's
relay publishes it and the delivery worker hands it over again; the recipient
de-duplicates on the event id. Before each replay the consent it travels under
is checked as of now: a withdrawn or expired consent excludes the letter for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from hub.audit import AuditAction, AuditRecorder
from hub.broker.topics import inbox_topic
from hub.services.envelopes import consent_of_envelope, referral_of_envelope
from hub.store import Store, consents, outbox
from hub.store import dead_letters as dead_letter_store
from hub.store.dead_letters import DeadLetterRow

__all__ = ["ReplayResult", "replay_dead_letters"]


@dataclass(frozen=True)
class ReplayResult:
    letter: DeadLetterRow
    outcome: str  # replayed | excluded | skipped
    reason: str = ""


def replay_dead_letters(
    store: Store,
    *,
    now: datetime,
    agency_id: str | None = None,
    letter_id: int | None = None,
    dry_run: bool = False,
    audit: AuditRecorder | None = None,
    actor: str = "operator",
) -> list[ReplayResult]:
    results: list[ReplayResult] = []
    with store.transaction() as conn:
        if letter_id is not None:
            found = dead_letter_store.get(conn, letter_id)
            letters = [found] if found is not None and found.replayed_at is None else []
        else:
            letters = dead_letter_store.list_dead_letters(conn, agency_id=agency_id)
        for letter in letters:
            result = _replay_one(conn, letter, now, dry_run)
            results.append(result)
            if audit is not None and not dry_run and result.outcome != "skipped":
                envelope = letter.envelope or {}
                audit.record(
                    conn,
                    action=AuditAction.REPLAYED,
                    actor=actor,
                    at=now,
                    event_id=letter.event_id,
                    referral_id=referral_of_envelope(envelope),
                    consent_id=consent_of_envelope(envelope),
                    details={
                        "recipient": letter.agency_id,
                        "outcome": result.outcome,
                        "dead_letter": letter.id,
                    },
                )
    return results


def _replay_one(
    conn: Connection, letter: DeadLetterRow, now: datetime, dry_run: bool
) -> ReplayResult:
    if letter.envelope is None or letter.agency_id is None:
        return ReplayResult(letter, "skipped", "the record could not be read; nothing to replay")
    consent_id = letter.envelope.get("consentid")
    if isinstance(consent_id, str) and not letter.envelope.get("overrideid"):
        row = consents.get_consent(conn, consent_id)
        lapsed = row is not None and row.valid_until is not None and now >= row.valid_until
        if row is None or row.status != "active" or lapsed:
            reason = f"consent {consent_id} is no longer active"
            if not dry_run:
                dead_letter_store.exclude(conn, letter.id, reason)
            return ReplayResult(letter, "excluded", reason)
    if not dry_run:
        outbox.add(
            conn,
            source=str(letter.envelope.get("source", "")),
            event_id=f"replay-{letter.id}-{letter.event_id}"[:128],
            topic=inbox_topic(letter.agency_id),
            key=str(letter.envelope.get("subject", letter.event_id)),
            envelope=letter.envelope,
            at=now,
        )
        dead_letter_store.mark_replayed(conn, letter.id, now)
    return ReplayResult(letter, "replayed")
