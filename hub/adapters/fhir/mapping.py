"""The mapping tables between FHIR and the hub's vocabulary, in one place.

Identifier and code systems named ``urn:referral-hub:*`` are the hub's own; an
agency puts them on its resources (``Organization.identifier`` with
``urn:referral-hub:agency`` is how a hospital says which hub agency a FHIR
Organization is). External code systems are mapped where the meaning is the
same; a code that has no entry here is refused rather than guessed.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from hub.contracts import DataCategory, Purpose, ReferralStatus, ServiceCode
from hub.contracts.events import GrantedBy, OutcomeCode, Priority
from hub.contracts.vocabulary import SERVICE_SYSTEM, SNOMED_SYSTEM, all_services, service

__all__ = [
    "ACT_REASON_SYSTEM",
    "AGENCY_KIND_SYSTEM",
    "AGENCY_SYSTEM",
    "CONSENT_SYSTEM",
    "CONTACT_PREFERENCES_URL",
    "DATA_CATEGORY_SYSTEM",
    "EVENT_SYSTEM",
    "EVENT_TYPE_SYSTEM",
    "FAILURE_SYSTEM",
    "GRANTED_BY",
    "NOTICE_SYSTEM",
    "ONWARD_REFERRER_ROLE",
    "OUTCOME_SYSTEM",
    "PARTICIPATION_SYSTEM",
    "PATHWAY_STEP_SYSTEM",
    "PRIORITY_FROM_FHIR",
    "PRIORITY_TO_FHIR",
    "PURPOSE_FROM_CODING",
    "PURPOSE_SYSTEM",
    "RECIPIENT_ROLES",
    "REFERRAL_SYSTEM",
    "SERVICE_FROM_CODING",
    "SERVICE_LINE_SYSTEM",
    "SERVICE_SYSTEM",
    "SNOMED_SYSTEM",
    "STATUS_FROM_FHIR",
    "STATUS_REFUSED",
    "SUBJECT_SYSTEM",
    "TASK_CODE_SYSTEM",
    "TASK_OUTPUT_SYSTEM",
    "category_from_coding",
    "outcome_from_coding",
    "service_codings",
]

# The hub's identifier systems.
AGENCY_SYSTEM: Final = "urn:referral-hub:agency"
AGENCY_KIND_SYSTEM: Final = "urn:referral-hub:agency-kind"
REFERRAL_SYSTEM: Final = "urn:referral-hub:referral"
#: Names each further service of a multi-service referral (``<referral id>#<n>``).
SERVICE_LINE_SYSTEM: Final = "urn:referral-hub:referral-service"
SUBJECT_SYSTEM: Final = "urn:referral-hub:subject"
CONSENT_SYSTEM: Final = "urn:referral-hub:consent"
EVENT_SYSTEM: Final = "urn:referral-hub:event"

# The hub's code systems.
PATHWAY_STEP_SYSTEM: Final = "urn:referral-hub:pathway-step"
TASK_OUTPUT_SYSTEM: Final = "urn:referral-hub:task-output"
OUTCOME_SYSTEM: Final = "urn:referral-hub:outcome"
PURPOSE_SYSTEM: Final = "urn:referral-hub:purpose"
DATA_CATEGORY_SYSTEM: Final = "urn:referral-hub:data-category"
FAILURE_SYSTEM: Final = "urn:referral-hub:delivery-failure"
NOTICE_SYSTEM: Final = "urn:referral-hub:notice"
#: ``Bundle.meta.tag`` naming the canonical event type a Bundle carries.
EVENT_TYPE_SYSTEM: Final = "urn:referral-hub:event-type"
#: Extension on Patient: do-not-contact, safe channel, safe times, instructions.
#: Core FHIR has nowhere to say "never call her", and losing that is a danger.
CONTACT_PREFERENCES_URL: Final = (
    "https://referral-hub.org/fhir/StructureDefinition/contact-preferences"
)

# External systems.
TASK_CODE_SYSTEM: Final = "http://hl7.org/fhir/CodeSystem/task-code"
PARTICIPATION_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
ACT_REASON_SYSTEM: Final = "http://terminology.hl7.org/CodeSystem/v3-ActReason"

#: (system, code) of ServiceRequest.code to the hub service: the hub's own codes,
#: and the SNOMED CT concepts the vocabulary names for its services.
SERVICE_FROM_CODING: Final = MappingProxyType(
    {
        **{(SERVICE_SYSTEM, code.value): code for code in ServiceCode},
        **{
            (SNOMED_SYSTEM, definition.snomed): definition.code
            for definition in all_services()
            if definition.snomed is not None
        },
    }
)

#: FHIR request-priority to the hub; asap and stat both mean "do not wait".
PRIORITY_FROM_FHIR: Final = MappingProxyType(
    {
        "routine": Priority.ROUTINE,
        "urgent": Priority.URGENT,
        "asap": Priority.EMERGENCY,
        "stat": Priority.EMERGENCY,
    }
)
PRIORITY_TO_FHIR: Final = MappingProxyType(
    {Priority.ROUTINE: "routine", Priority.URGENT: "urgent", Priority.EMERGENCY: "stat"}
)

#: Task.status to the canonical status. The shared codes are the same words;
#: ``ready`` (R5: assignment and acceptance are a given) is an acceptance;
#: ``entered-in-error`` withdraws the request, which the other side must hear.
STATUS_FROM_FHIR: Final = MappingProxyType(
    {
        **{status.value: status for status in ReferralStatus},
        "ready": ReferralStatus.ACCEPTED,
        "entered-in-error": ReferralStatus.CANCELLED,
    }
)
#: Task.status codes refused, and why.
STATUS_REFUSED: Final = MappingProxyType(
    {"draft": "a draft Task is not yet a request; send it once its status is 'requested'"}
)

#: Consent provision purposes: the hub's own, and v3 purposes of use that mean care.
PURPOSE_FROM_CODING: Final = MappingProxyType(
    {
        **{(PURPOSE_SYSTEM, purpose.value): purpose for purpose in Purpose},
        (ACT_REASON_SYSTEM, "TREAT"): Purpose.CARE,
        (ACT_REASON_SYSTEM, "ETREAT"): Purpose.CARE,
    }
)

#: Consent actor roles that make the actor a recipient of the data.
RECIPIENT_ROLES: Final = frozenset({(PARTICIPATION_SYSTEM, "IRCP"), (PARTICIPATION_SYSTEM, "PRCP")})
#: The Consent actor role, beside a recipient's own actor in the same provision, by which she
#: lets that recipient refer her onward under the consent. No external code says this.
ONWARD_REFERRER_ROLE: Final = ("urn:referral-hub:consent-role", "onward-referrer")

#: Who granted a consent, by the resource type of Consent.performer (R4) / grantor (R5).
GRANTED_BY: Final = MappingProxyType(
    {"Patient": GrantedBy.SURVIVOR, "RelatedPerson": GrantedBy.GUARDIAN}
)


def service_codings(code: ServiceCode) -> list[dict[str, str]]:
    """The codings of a hub service: the hub's code, and SNOMED CT where it has one."""
    definition = service(code)
    codings = [{"system": SERVICE_SYSTEM, "code": code.value, "display": definition.display}]
    if definition.snomed is not None:
        coding = {"system": SNOMED_SYSTEM, "code": definition.snomed}
        if definition.snomed_display is not None:
            coding["display"] = definition.snomed_display
        codings.append(coding)
    return codings


def outcome_from_coding(system: str | None, code: str | None) -> OutcomeCode | None:
    if system != OUTCOME_SYSTEM or code is None:
        return None
    try:
        return OutcomeCode(code)
    except ValueError:
        return None


def category_from_coding(system: str | None, code: str | None) -> DataCategory | None:
    if system != DATA_CATEGORY_SYSTEM or code is None:
        return None
    try:
        return DataCategory(code)
    except ValueError:
        return None
