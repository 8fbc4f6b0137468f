"""Looking up the consent in force when an entry was made, once per question.

A report over a long log asks about the same consent, at the same instant,
many times (a referral's copies to several recipients share one time); the
answers never change, so each is fetched once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from hub.contracts.vocabulary import Purpose, ServiceCode, service
from hub.store import ConsentHistoryRow, ConsentRow, consents, referrals

__all__ = ["ConsentLookup"]


class ConsentLookup:
    """Memoised reads of consents, their history and referral purposes in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._as_of: dict[tuple[str, datetime], ConsentHistoryRow | None] = {}
        self._current: dict[str, ConsentRow | None] = {}
        self._purposes: dict[str, Purpose | None] = {}
        self._referrers: dict[str, str | None] = {}

    def as_of(self, consent_id: str, at: datetime) -> ConsentHistoryRow | None:
        """The version of the consent in force at ``at`` (``consents.consent_as_of``)."""
        key = (consent_id, at)
        if key not in self._as_of:
            self._as_of[key] = consents.consent_as_of(self._conn, consent_id, at)
        return self._as_of[key]

    def current(self, consent_id: str) -> ConsentRow | None:
        """The consent as it stands; its subject and recording agency never change."""
        if consent_id not in self._current:
            self._current[consent_id] = consents.get_consent(self._conn, consent_id)
        return self._current[consent_id]

    def referral_purpose(self, referral_id: str) -> Purpose | None:
        """The purpose of the service the referral asked for, None if it is unknown."""
        if referral_id not in self._purposes:
            row = referrals.get_referral(self._conn, referral_id)
            purpose: Purpose | None = None
            if row is not None:
                try:
                    purpose = service(ServiceCode(row.service)).purpose
                except (ValueError, KeyError):
                    purpose = None  # a service code this release no longer knows
            self._purposes[referral_id] = purpose
        return self._purposes[referral_id]

    def referrer(self, referral_id: str) -> str | None:
        """The agency that made the referral, None if it is unknown."""
        if referral_id not in self._referrers:
            row = referrals.get_referral(self._conn, referral_id)
            self._referrers[referral_id] = row.from_agency if row is not None else None
        return self._referrers[referral_id]
