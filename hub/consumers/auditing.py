"""What the pipeline writes to the audit log, in the same transaction as its effects.

Entries hold ids, codes and category names only: the categories a recipient
received or was denied, never the data itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from hub.audit import AuditAction, EntryDraft, disclosure_details
from hub.consumers.routing import Decision
from hub.contracts import CloudEvent, ContractRegistry, Purpose, field_categories
from hub.errors import ContractError

__all__ = [
    "categories_in",
    "decision_entries",
    "delivered_entry",
    "referral_of",
]


def referral_of(event: CloudEvent) -> str | None:
    """The referral an event is about; consent events stand on their own chain."""
    return None if event.type.startswith("consent.") else event.subject


def decision_entries(
    *,
    event: CloudEvent,
    decision: Decision,
    purpose: Purpose | None,
    actor: str,
    at: datetime,
) -> list[EntryDraft]:
    """Refusal, routed copies (with what was withheld), blocked deliveries and notices."""
    entries: list[EntryDraft] = []

    def entry(action: AuditAction, consent_id: str | None, details: Mapping[str, object]) -> None:
        entries.append(
            EntryDraft(
                action=action,
                actor=actor,
                at=at,
                event_id=event.id,
                referral_id=referral_of(event),
                consent_id=consent_id,
                details=details,
            )
        )

    if decision.refusal is not None:
        entry(
            AuditAction.REFUSED,
            event.consentid,
            {"reason": decision.refusal[0].value, "event_type": event.type},
        )
    for delivery in decision.deliveries:
        override = delivery.event.extensions.get("overrideid") if delivery.override else None
        entry(
            AuditAction.OVERRIDE if delivery.override else AuditAction.ROUTED,
            delivery.consent_id,
            disclosure_details(
                recipient=delivery.recipient,
                disclosed=[category.value for category in delivery.disclosed],
                withheld=[category.value for category in delivery.withheld],
                purpose=purpose.value if purpose is not None else None,
                override=str(override) if override is not None else None,
            ),
        )
        if delivery.withheld:
            entry(
                AuditAction.REDACTED,
                delivery.consent_id,
                {
                    "recipient": delivery.recipient,
                    "withheld": [category.value for category in delivery.withheld],
                    "fields": list(delivery.withheld_fields),
                },
            )
    for blocked in decision.blocked:
        entry(
            AuditAction.BLOCKED,
            event.consentid,
            {"recipient": blocked.recipient, "reason": blocked.reason.value},
        )
    for notice in decision.notices:
        entry(
            AuditAction.ROUTED,
            notice.consent_id or event.consentid,
            disclosure_details(recipient=notice.recipient, disclosed=[], notice=True),
        )
    return entries


def categories_in(event: CloudEvent, registry: ContractRegistry) -> list[str]:
    """The data categories an event's data actually carries."""
    try:
        model = registry.contract_of(event).model
    except ContractError:
        return []
    found = {
        category.value
        for name, category in field_categories(model).items()
        if category is not None and name in event.data
    }
    return sorted(found)


def delivered_entry(
    *,
    event: CloudEvent,
    recipient: str,
    registry: ContractRegistry,
    hub_id: str,
    at: datetime,
) -> EntryDraft:
    """The entry recording that ``recipient`` has the event: its categories, never its data.

    Only the delivery itself writes it (a push accepted, a pull inbox stored),
    so the log never says delivered of a copy that did not arrive. A compelled
    copy is ``delivered`` too, naming the override it went under; the decision
    to disclose it is the router's ``override`` entry. Legal orders and their
    refusals are notices: the issuer's and the holder's own legal steps, which
    consent does not govern.
    """
    override = event.extensions.get("overrideid")
    notice = (
        event.source == hub_id
        or event.type.startswith("consent.")
        or event.type.startswith("legal.")
    )
    return EntryDraft(
        action=AuditAction.DELIVERED,
        actor=hub_id,
        at=at,
        event_id=event.id,
        referral_id=referral_of(event),
        consent_id=event.consentid,
        details=disclosure_details(
            recipient=recipient,
            disclosed=[] if notice else categories_in(event, registry),
            override=str(override) if override is not None else None,
            notice=notice,
        ),
    )
