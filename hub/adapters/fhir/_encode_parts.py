"""The FHIR resources the hub writes, one builder each, for R4 and R5.

Every resource carries the hub's identifier (referral, subject, agency,
consent), so the receiving server can create it conditionally and a
redelivery changes nothing. The Patient is the pseudonym: an identifier only,
plus name, birth date and telecom when the event itself carries the identity
and contact categories (consent decided that before the event got here).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hub.adapters.fhir._dates import format_date, format_instant
from hub.adapters.fhir._ids import full_url
from hub.adapters.fhir.mapping import (
    AGENCY_KIND_SYSTEM,
    AGENCY_SYSTEM,
    CONSENT_SYSTEM,
    CONTACT_PREFERENCES_URL,
    DATA_CATEGORY_SYSTEM,
    ONWARD_REFERRER_ROLE,
    PARTICIPATION_SYSTEM,
    PURPOSE_SYSTEM,
    REFERRAL_SYSTEM,
    SUBJECT_SYSTEM,
    TASK_CODE_SYSTEM,
)
from hub.contracts.events import (
    ConsentGrantedV1,
    ConsentScopeV2,
    ContactPreferences,
    GrantedBy,
    IdentityAttributes,
)

__all__ = [
    "FULFIL",
    "Entries",
    "consent_grant",
    "consent_reference",
    "logical",
    "organization",
    "patient",
    "referral_focus",
    "search",
]

JSON = dict[str, Any]

FULFIL: JSON = {"coding": [{"system": TASK_CODE_SYSTEM, "code": "fulfill"}]}
_CONSENT_SCOPE: JSON = {
    "coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}
    ]
}
_CONSENT_CATEGORY: JSON = {
    "coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]
}
_RECIPIENT_ROLE: JSON = {
    "coding": [{"system": PARTICIPATION_SYSTEM, "code": "IRCP", "display": "information recipient"}]
}
_ONWARD_ROLE: JSON = {
    "coding": [
        {
            "system": ONWARD_REFERRER_ROLE[0],
            "code": ONWARD_REFERRER_ROLE[1],
            "display": "may refer her onward",
        }
    ]
}


def search(system: str, value: str) -> str:
    """``identifier=system|value`` for a conditional URL, the value percent-encoded."""
    return "identifier=" + quote(f"{system}|{value}", safe=":|")


class Entries:
    """The entries of one transaction Bundle, each with its conditional request."""

    def __init__(self) -> None:
        self.items: list[JSON] = []
        self._urls: dict[str, str] = {}

    def create(self, resource: JSON, system: str, value: str) -> str:
        """POST ``resource`` unless one with this identifier exists; its full URL."""
        kind = resource["resourceType"]
        url = full_url(kind, f"{system}|{value}")
        if url not in self._urls:
            self._urls[url] = kind
            self.items.append(
                {
                    "fullUrl": url,
                    "resource": resource,
                    "request": {
                        "method": "POST",
                        "url": kind,
                        "ifNoneExist": search(system, value),
                    },
                }
            )
        return url

    def update(self, resource: JSON, system: str, value: str) -> None:
        """PUT ``resource`` over the one with this identifier (conditional update)."""
        kind = resource["resourceType"]
        self.items.append(
            {
                "fullUrl": full_url(kind, f"{system}|{value}"),
                "resource": resource,
                "request": {"method": "PUT", "url": f"{kind}?{search(system, value)}"},
            }
        )

    def patch(self, kind: str, parameters: JSON, system: str, value: str) -> None:
        self.items.append(
            {
                "fullUrl": full_url("Parameters", f"{kind}|{system}|{value}"),
                "resource": parameters,
                "request": {"method": "PATCH", "url": f"{kind}?{search(system, value)}"},
            }
        )


def patient(
    subject_id: str, identity: IdentityAttributes | None, contact: ContactPreferences | None
) -> JSON:
    resource: JSON = {
        "resourceType": "Patient",
        "identifier": [{"system": SUBJECT_SYSTEM, "value": subject_id}],
    }
    if contact is not None:
        resource["extension"] = [_preferences(contact)]
    if identity is not None:
        name: JSON = {}
        if identity.family_name is not None:
            name["family"] = identity.family_name
        if identity.given_name is not None:
            name["given"] = [identity.given_name]
        if name:
            resource["name"] = [{"use": "official", **name}]
    if contact is not None:
        telecom = []
        if contact.phone is not None:
            telecom.append({"system": "phone", "value": contact.phone})
        if contact.email is not None:
            telecom.append({"system": "email", "value": contact.email})
        if telecom:
            resource["telecom"] = telecom
    if identity is not None and identity.birth_date is not None:
        resource["birthDate"] = format_date(identity.birth_date)
    return resource


def _preferences(contact: ContactPreferences) -> JSON:
    parts: list[JSON] = [{"url": "doNotContact", "valueBoolean": contact.do_not_contact}]
    if contact.safe_channel is not None:
        parts.append({"url": "safeChannel", "valueCode": contact.safe_channel.value})
    if contact.safe_times is not None:
        parts.append({"url": "safeTimes", "valueString": contact.safe_times})
    if contact.instructions is not None:
        parts.append({"url": "instructions", "valueString": contact.instructions})
    return {"url": CONTACT_PREFERENCES_URL, "extension": parts}


def organization(agency_id: str) -> JSON:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": AGENCY_SYSTEM, "value": agency_id}],
    }


def consent_reference(consent_id: str, patient_url: str, *, r5: bool) -> JSON:
    """The consent a referral travels under, by the hub's id: granted, as routing proved."""
    resource: JSON = {
        "resourceType": "Consent",
        "identifier": [{"system": CONSENT_SYSTEM, "value": consent_id}],
        "status": "active",
    }
    if r5:
        resource["subject"] = {"reference": patient_url}
    else:
        resource |= {
            "scope": _CONSENT_SCOPE,
            "category": [_CONSENT_CATEGORY],
            "patient": {"reference": patient_url},
        }
    return resource


def consent_grant(
    grant: ConsentGrantedV1, patient_url: str, recorder_url: str, entries: Entries, *, r5: bool
) -> JSON:
    """A Consent whose provisions spell out each recipient, purpose and category."""
    provisions = []
    for scope in grant.scope:
        if scope.recipient_agency is not None:
            org_url = entries.create(
                organization(scope.recipient_agency), AGENCY_SYSTEM, scope.recipient_agency
            )
            reference: JSON = {"reference": org_url}
        else:
            kind = scope.recipient_kind.value if scope.recipient_kind is not None else ""
            reference = {
                "type": "Organization",
                "identifier": {"system": AGENCY_KIND_SYSTEM, "value": kind},
            }
        actors = [{"role": _RECIPIENT_ROLE, "reference": reference}]
        if isinstance(scope, ConsentScopeV2) and scope.may_refer_onward:
            actors.append({"role": _ONWARD_ROLE, "reference": reference})
        provision: JSON = {
            "actor": actors,
            "purpose": [{"system": PURPOSE_SYSTEM, "code": p.value} for p in scope.purposes],
        }
        if scope.categories:
            provision["securityLabel"] = [
                {"system": DATA_CATEGORY_SYSTEM, "code": c.value} for c in scope.categories
            ]
        provisions.append(provision if r5 else {"type": "permit", **provision})
    period: JSON = {"start": format_instant(grant.valid_from)}
    if grant.valid_until is not None:
        period["end"] = format_instant(grant.valid_until)
    grantor: JSON = (
        {"reference": patient_url}
        if grant.granted_by is GrantedBy.SURVIVOR
        else {"type": "RelatedPerson", "display": "guardian"}
    )
    resource: JSON = {
        "resourceType": "Consent",
        "identifier": [{"system": CONSENT_SYSTEM, "value": grant.consent_id}],
        "status": "active",
    }
    if r5:
        return resource | {
            "subject": {"reference": patient_url},
            "date": format_date(grant.valid_from.date()),
            "period": period,
            "grantor": [grantor],
            "controller": [{"reference": recorder_url}],
            "decision": "permit",
            "provision": provisions,
        }
    return resource | {
        "scope": _CONSENT_SCOPE,
        "category": [_CONSENT_CATEGORY],
        "patient": {"reference": patient_url},
        "dateTime": format_instant(grant.valid_from),
        "performer": [grantor],
        "organization": [{"reference": recorder_url}],
        "provision": {"type": "permit", "period": period, "provision": provisions},
    }


def logical(kind: str, system: str, value: str) -> JSON:
    """A reference by identifier only: the receiver resolves it, or keeps it as is."""
    return {"type": kind, "identifier": {"system": system, "value": value}}


def referral_focus(referral_id: str) -> JSON:
    """A logical reference to the referral's ServiceRequest, by the hub's referral id."""
    return {
        "type": "ServiceRequest",
        "identifier": {"system": REFERRAL_SYSTEM, "value": referral_id},
    }
