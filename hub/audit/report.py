"""The consent report: was every disclosure covered by consent when it happened?

Each ``routed`` or ``delivered`` entry is judged against the consent as it
stood at the entry's time (``consents.consent_as_of``), not as it stands now:
a disclosure made before a withdrawal was covered, one made after it was not.
The rule itself is :func:`hub.consent.permit`, the one routing applies, so the
report and the router cannot disagree about what consent allows.

Not violations, by design:

- ``override`` entries: disclosures the law compelled, as the router decided
  them. They are listed apart, so an auditor reviews each against its order;
  the ``delivered`` entries of those copies name the override and are not
  judged again;
- copies to the agency that recorded the consent: it holds her data already;
- the hub's own notices (``notice`` in the details): they carry no survivor data.

An entry that does not say enough to be judged (no recipient, no purpose the
report can find) is a violation: the burden is on the log to show consent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from hub.audit._consents import ConsentLookup
from hub.audit.entries import AuditAction
from hub.config import HubSettings
from hub.consent import ConsentRecord, Recipient, may_refer_under, permit
from hub.contracts import AgencyKind, Purpose
from hub.contracts.events import FailureReason
from hub.store import AuditEntryRow, ConsentHistoryRow, ConsentRow
from hub.store import agencies as agency_store
from hub.store import audit as audit_store

__all__ = [
    "ConsentReport",
    "Override",
    "Violation",
    "agency_kinds",
    "check_disclosures",
    "consent_report",
]

_CHECKED = frozenset({AuditAction.ROUTED, AuditAction.DELIVERED})


@dataclass(frozen=True)
class Violation:
    """A disclosure the consent in force at its time did not cover, and why.

    ``reason`` is a :class:`FailureReason` value (``consent-missing``,
    ``consent-withdrawn``, ``consent-expired``, ``consent-scope``) or one of
    ``categories-outside-scope``, ``purpose-unknown``, ``entry-incomplete``,
    ``consent-unreadable``.
    """

    entry: AuditEntryRow
    recipient: str
    disclosed: tuple[str, ...]
    reason: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            **_entry_dict(self.entry),
            "recipient": self.recipient,
            "disclosed": list(self.disclosed),
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Override:
    """A compelled disclosure; ``order`` is the id of the order that compelled it."""

    entry: AuditEntryRow
    recipient: str
    disclosed: tuple[str, ...]
    order: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            **_entry_dict(self.entry),
            "recipient": self.recipient,
            "disclosed": list(self.disclosed),
            "order": self.order,
        }


@dataclass(frozen=True)
class ConsentReport:
    """``checked`` counts the disclosure entries judged; overrides are not among them."""

    checked: int
    violations: list[Violation] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)


def _entry_dict(entry: AuditEntryRow) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "action": entry.action,
        "chain_id": entry.chain_id,
        "seq": entry.seq,
        "entry_id": entry.entry_id,
        "event_id": entry.event_id,
        "referral_id": entry.referral_id,
        "consent_id": entry.consent_id,
    }


def agency_kinds(settings: HubSettings, conn: Connection | None = None) -> dict[str, AgencyKind]:
    """The kind of each agency: the store's register, then the configuration on top.

    The register keeps every agency the hub ever served, so a report over an
    old log still knows the kinds without the configuration of that time.
    """
    kinds: dict[str, AgencyKind] = {}
    if conn is not None:
        for row in agency_store.list_agencies(conn):
            try:
                kinds[row.agency_id] = AgencyKind(row.kind)
            except ValueError:
                continue  # a kind this version no longer knows names no recipient
    kinds.update({agency.id: agency.kind for agency in settings.agencies})
    return kinds


def consent_report(
    conn: Connection,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    agency_kinds: Mapping[str, AgencyKind],
) -> list[Violation]:
    """Every disclosure in ``since <= at < until`` not covered by consent at its time."""
    return check_disclosures(conn, since, until, agency_kinds=agency_kinds).violations


def check_disclosures(
    conn: Connection,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    agency_kinds: Mapping[str, AgencyKind],
    progress: Callable[[int], None] | None = None,
    progress_every: int = 10_000,
) -> ConsentReport:
    """Judge every disclosure entry in ``since <= at < until``; list violations and overrides.

    Both lists come in time order. ``progress`` is called with the number of
    disclosure entries read so far, every ``progress_every`` of them.
    """
    judge = _Judge(ConsentLookup(conn), agency_kinds)
    checked = 0
    violations: list[Violation] = []
    overrides: list[Override] = []
    for count, entry in enumerate(_disclosure_entries(conn, since, until), start=1):
        if progress is not None and count % progress_every == 0:
            progress(count)
        recipient, disclosed = _recipient(entry), _categories(entry)
        if entry.action == AuditAction.OVERRIDE:
            order = entry.details.get("override")
            overrides.append(
                Override(
                    entry, recipient or "", disclosed, order if isinstance(order, str) else None
                )
            )
            continue
        if entry.details.get("override") is not None:
            # The delivery of a compelled copy: lawful under the override listed
            # from the decision's own entry, not something her consent governs.
            continue
        checked += 1
        violation = judge(entry, recipient, disclosed)
        if violation is not None:
            violations.append(violation)
    return ConsentReport(
        checked, sorted(violations, key=_time_order), sorted(overrides, key=_time_order)
    )


def _time_order(item: Violation | Override) -> tuple[datetime, str, int]:
    return (item.entry.at, item.entry.chain_id, item.entry.seq)


def _disclosure_entries(
    conn: Connection, since: datetime | None, until: datetime | None
) -> Iterator[AuditEntryRow]:
    # One chain at a time keeps memory to one chain, however long the log.
    for chain_id in sorted(audit_store.all_chain_heads(conn)):
        for entry in audit_store.entries(conn, chain_id=chain_id, since=since, until=until):
            if entry.action in _CHECKED or entry.action == AuditAction.OVERRIDE:
                yield entry


def _recipient(entry: AuditEntryRow) -> str | None:
    value = entry.details.get("recipient")
    return value if isinstance(value, str) and value else None


def _categories(entry: AuditEntryRow) -> tuple[str, ...]:
    value = entry.details.get("disclosed")
    if not isinstance(value, list):
        return ()
    return tuple(sorted(str(item) for item in value))


class _Judge:
    def __init__(self, lookup: ConsentLookup, kinds: Mapping[str, AgencyKind]) -> None:
        self._lookup = lookup
        self._kinds = kinds

    def __call__(
        self, entry: AuditEntryRow, recipient: str | None, disclosed: tuple[str, ...]
    ) -> Violation | None:
        if entry.details.get("notice") is True:
            return None
        if recipient is None:
            return Violation(
                entry, "", disclosed, "entry-incomplete", "the entry does not name its recipient"
            )

        def violation(reason: str, detail: str) -> Violation:
            return Violation(entry, recipient, disclosed, reason, detail)

        if entry.consent_id is None:
            if not disclosed:
                return None  # nothing consent governs went out
            return violation(FailureReason.CONSENT_MISSING.value, "data went out under no consent")
        current = self._lookup.current(entry.consent_id)
        version = self._lookup.as_of(entry.consent_id, entry.at)
        if current is None or version is None:
            return violation(
                FailureReason.CONSENT_MISSING.value,
                f"consent {entry.consent_id} was not on record at {entry.at.isoformat()}",
            )
        refused = self._referrer_refused(entry, current, version)
        if refused is not None:
            return violation(FailureReason.CONSENT_SCOPE.value, refused)
        if recipient == current.recorded_by:
            return None
        if version.status == "expired":
            return violation(
                FailureReason.CONSENT_EXPIRED.value,
                f"consent {entry.consent_id} was marked expired at "
                f"{version.changed_at.isoformat()}",
            )
        purpose = self._purpose(entry)
        if purpose is None:
            return violation(
                "purpose-unknown", "neither the entry nor its referral says what it was for"
            )
        try:
            record, kind = self._record(current, version, recipient)
        except ValueError as exc:
            return violation(
                "consent-unreadable", f"consent {entry.consent_id}'s scope is unreadable: {exc}"
            )
        decision = permit(record, Recipient(recipient, kind), purpose, entry.at)
        if not decision.allowed:
            reason = decision.reason or FailureReason.CONSENT_SCOPE
            return violation(reason.value, decision.detail)
        granted = {category.value for category in decision.categories}
        outside = [category for category in disclosed if category not in granted]
        if outside:
            return violation(
                "categories-outside-scope",
                f"consent {entry.consent_id} does not grant {', '.join(outside)} "
                f"to {recipient} for {purpose.value}",
            )
        return None

    def _referrer_refused(
        self, entry: AuditEntryRow, current: ConsentRow, version: ConsentHistoryRow
    ) -> str | None:
        """Why the referral's own referrer could not use the consent, if it could not.

        The router's rule, judged again: a referral travels under a consent only
        when its referrer recorded it or is named in it as one that may refer onward.
        """
        referrer = self._lookup.referrer(entry.referral_id) if entry.referral_id else None
        if referrer is None or referrer == current.recorded_by:
            return None
        try:
            record = ConsentRecord.from_scope_json(
                consent_id=current.consent_id,
                subject_id=current.subject_id,
                recorded_by=current.recorded_by,
                status=version.status,
                scope=version.scope,
                valid_from=version.valid_from,
                valid_until=version.valid_until,
            )
        except ValueError as exc:
            return f"consent {current.consent_id}'s scope is unreadable: {exc}"
        if may_refer_under(record, referrer, self._kinds.get(referrer)):
            return None
        return (
            f"{referrer} neither recorded consent {current.consent_id} "
            "nor is named in it as one that may refer her onward"
        )

    def _purpose(self, entry: AuditEntryRow) -> Purpose | None:
        stated = entry.details.get("purpose")
        if isinstance(stated, str):
            try:
                return Purpose(stated)
            except ValueError:
                return None
        if entry.referral_id is not None:
            return self._lookup.referral_purpose(entry.referral_id)
        return None

    def _record(
        self, current: ConsentRow, version: ConsentHistoryRow, recipient: str
    ) -> tuple[ConsentRecord, AgencyKind]:
        scope = version.scope
        kind = self._kinds.get(recipient)
        if kind is None:
            # An agency no longer configured has no known kind, so only scope
            # entries naming it by id can cover it; with those alone, the kind
            # passed to permit matches nothing and does not matter.
            scope = [
                item
                for item in scope
                if isinstance(item, dict) and item.get("recipient_agency") == recipient
            ]
            kind = AgencyKind.NGO
        record = ConsentRecord.from_scope_json(
            consent_id=current.consent_id,
            subject_id=current.subject_id,
            recorded_by=current.recorded_by,
            status=version.status,
            scope=scope,
            valid_from=version.valid_from,
            valid_until=version.valid_until,
        )
        return record, kind
