"""What an audit entry may say: its action, its chain, and the shape of its details.

The audit log outlives every payload: a payload can be erased (see
:mod:`hub.audit.erasure`), an audit entry never can, because erasing it would
break the chain that proves the log was not altered. So an entry must never
hold survivor data in the first place. Its details are therefore restricted to
what ids, codes and category names look like: short strings, integers,
booleans, and flat lists of those. A nested document or a long text is refused
at the door, which keeps a careless caller from pasting a payload in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

__all__ = [
    "DISCLOSURE_ACTIONS",
    "HUB_CHAIN",
    "MAX_DETAIL_STRING",
    "AuditAction",
    "DetailValue",
    "Details",
    "chain_id_for",
    "disclosure_details",
    "validate_details",
]

#: The chain of entries tied to no referral and no consent.
HUB_CHAIN = "hub"

#: Longest string a detail may hold: room for an id or a code, not for prose.
MAX_DETAIL_STRING = 200

_MAX_KEY = 64
# JSON numbers beyond 2**53 lose precision in many readers; an id never needs more.
_MAX_INT = 2**53

Scalar = str | int | bool | None
DetailValue = Scalar | list[Scalar]
Details = dict[str, DetailValue]


class AuditAction(StrEnum):
    """What happened; stored as the value."""

    ACCEPTED = "accepted"
    REFUSED = "refused"
    ROUTED = "routed"
    BLOCKED = "blocked"
    REDACTED = "redacted"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    RETRIED = "retried"
    DEAD_LETTERED = "dead-lettered"
    REPLAYED = "replayed"
    CONSENT_GRANTED = "consent-granted"
    CONSENT_WITHDRAWN = "consent-withdrawn"
    CONSENT_EXPIRED = "consent-expired"
    OVERRIDE = "override"
    ERASED = "erased"
    AGENCY_ADDED = "agency-added"
    TOKEN_ROTATED = "token-rotated"  # noqa: S105 - an action name, not a secret
    CHECKPOINT = "checkpoint"
    #: Aggregates left the hub: who asked, which dimensions, which period.
    STATISTICS_EXPORTED = "statistics-exported"


#: Entries that record data leaving the hub for a recipient. Their details name
#: the ``recipient`` and the ``disclosed`` categories (see disclosure_details).
DISCLOSURE_ACTIONS = frozenset({AuditAction.ROUTED, AuditAction.DELIVERED, AuditAction.OVERRIDE})


def chain_id_for(referral_id: str | None, consent_id: str | None) -> str:
    """The chain an entry belongs to: its referral's, else its consent's, else the hub's."""
    if referral_id is not None:
        return f"referral:{referral_id}"
    if consent_id is not None:
        return f"consent:{consent_id}"
    return HUB_CHAIN


def validate_details(details: Mapping[str, object] | None) -> Details:
    """A plain copy of ``details``; ValueError if any of it could be more than an id or code."""
    if details is None:
        return {}
    checked: Details = {}
    for key, value in details.items():
        if not isinstance(key, str) or not 0 < len(key) <= _MAX_KEY:
            raise ValueError(f"audit detail key {key!r} must be a string of 1 to {_MAX_KEY} chars")
        if isinstance(value, list | tuple):
            checked[key] = [_scalar(f"{key}[{i}]", item) for i, item in enumerate(value)]
        else:
            checked[key] = _scalar(key, value)
    return checked


def _scalar(where: str, value: object) -> Scalar:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) >= _MAX_INT:
            raise ValueError(f"audit detail {where}: integer out of range")
        return int(value)
    if isinstance(value, str):
        if len(value) > MAX_DETAIL_STRING:
            raise ValueError(
                f"audit detail {where}: {len(value)} characters; at most {MAX_DETAIL_STRING} "
                "(details hold ids and codes, never survivor data)"
            )
        # A StrEnum member becomes its plain value, so it reads back the same.
        return str(value)
    if isinstance(value, Mapping):
        raise ValueError(f"audit detail {where}: nested objects are not allowed")
    raise ValueError(
        f"audit detail {where}: {type(value).__name__} is not allowed; "
        "use strings, integers, booleans, null or lists of those"
    )


def disclosure_details(
    *,
    recipient: str,
    disclosed: Iterable[str],
    withheld: Iterable[str] = (),
    purpose: str | None = None,
    override: str | None = None,
    notice: bool = False,
) -> Details:
    """Details of a disclosure entry, in the shape the consent report reads.

    ``disclosed`` and ``withheld`` are data category names; ``purpose`` the
    purpose the disclosure served; ``override`` the id of the legal order that
    compelled a disclosure (for an ``override`` entry). ``notice`` marks a copy
    of one of the hub's own notices (a consent withdrawal, a failed delivery):
    it carries no survivor data, and consent does not govern it.
    """
    details: dict[str, object] = {
        "recipient": recipient,
        "disclosed": sorted(str(category) for category in disclosed),
        "withheld": sorted(str(category) for category in withheld),
    }
    if purpose is not None:
        details["purpose"] = str(purpose)
    if override is not None:
        details["override"] = override
    if notice:
        details["notice"] = True
    return validate_details(details)
