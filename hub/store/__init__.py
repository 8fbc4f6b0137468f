"""The hub's relational store: SQLite embedded by default, PostgreSQL for production.

Built on SQLAlchemy Core. :class:`Store` owns the engine and hands out
transactions; the repositories are modules of plain functions that take the
transaction's ``Connection`` first and return dataclasses (frozen, but for the
audit entries a verifier builds by the million)::

    from hub.store import Store, outbox, processed

    store = Store.open("sqlite:///var/hub.db")
    with store.transaction() as conn:
        if processed.claim(conn, "router", (source, event_id), now):
            outbox.add(conn, source=..., event_id=..., topic=..., key=..., envelope=..., at=now)

Every database failure surfaces as :class:`hub.errors.StoreError`.
"""

from hub.store._types import EventKey
from hub.store.agencies import AgencyRow
from hub.store.audit import AuditCheckpointRow, AuditEntryRow
from hub.store.consents import ConsentHistoryRow, ConsentRow
from hub.store.dead_letters import DeadLetterRow
from hub.store.disclosures import DisclosureRow
from hub.store.engine import Store, create_store_engine, is_embedded
from hub.store.inbox import InboxRow
from hub.store.migrations import current_version, migrate, require_current
from hub.store.outbox import OutboxRow
from hub.store.referrals import ReferralRow, TimelineRow

__all__ = [
    "AgencyRow",
    "AuditCheckpointRow",
    "AuditEntryRow",
    "ConsentHistoryRow",
    "ConsentRow",
    "DeadLetterRow",
    "DisclosureRow",
    "EventKey",
    "InboxRow",
    "OutboxRow",
    "ReferralRow",
    "Store",
    "TimelineRow",
    "create_store_engine",
    "current_version",
    "is_embedded",
    "migrate",
    "require_current",
]
