"""Hypothesis strategies for valid payloads and envelopes.

Payload strategies first draw the JSON ``data`` document a producer would send, then
validate it the way the hub does (strict, from JSON), so every drawn model is one the
hub accepts on the wire. Each categorised part is independently present or absent,
and nested parts draw their own optional fields.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from hub.contracts import CloudEvent, new_event
from hub.contracts.events import (
    EventPayload,
    EvidenceKind,
    Priority,
    ProtectionOrderStatus,
    ReferralRequestedV1,
    ReferralRequestedV2,
    ReferralRequestedV3,
    RiskLevel,
    SafeChannel,
)
from hub.contracts.events.referral import (
    AgeBand,
    FirstContact,
    Perpetrator,
    TechnologyFacilitation,
    ViolenceType,
)
from hub.contracts.vocabulary import ServiceCode

__all__ = [
    "agency_ids",
    "aware_datetimes",
    "events_of",
    "identifiers",
    "incidents",
    "referral_requested_v1",
    "referral_requested_v1_data",
    "referral_requested_v2",
    "referral_requested_v2_data",
    "referral_requested_v3",
    "referral_requested_v3_data",
    "subject_ids",
    "traceparents",
]

Data = dict[str, Any]

# -- scalars -----------------------------------------------------------------------------

#: Agency slugs: ``^[a-z0-9][a-z0-9-]{1,62}$``.
agency_ids = st.from_regex(r"[a-z0-9][a-z0-9-]{1,62}", fullmatch=True)
#: Pseudonymous subject ids: ``sub_`` and 32 to 64 lower-case hex digits.
subject_ids = st.integers(32, 64).flatmap(
    lambda n: st.text("0123456789abcdef", min_size=n, max_size=n).map("sub_".__add__)
)


#: Any character the store can hold (PostgreSQL refuses NUL in text).
_NOT_NUL = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))


def _readable(text: str) -> bool:
    """Text the contracts accept: some character that is not blank, and no NUL."""
    return any(not c.isspace() for c in text) and "\x00" not in text


identifiers = st.text(min_size=1, max_size=40).filter(_readable)
short_texts = st.text(min_size=1, max_size=60).filter(_readable)
long_texts = st.text(min_size=1, max_size=200).filter(_readable)
sha256s = st.binary(min_size=32, max_size=32).map(bytes.hex)
#: W3C ``traceparent`` values, version 00; all-zero ids are invalid and never drawn.
traceparents = st.tuples(
    st.binary(min_size=16, max_size=16).filter(any),
    st.binary(min_size=8, max_size=8).filter(any),
    st.sampled_from("01"),
).map(lambda parts: f"00-{parts[0].hex()}-{parts[1].hex()}-0{parts[2]}")

#: Fixed UTC offsets, whole minutes, as RFC 3339 allows.
_offsets = st.integers(-(23 * 60 + 59), 23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
#: Aware datetimes well inside the representable range, in UTC or a fixed offset.
aware_datetimes = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
) | st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=_offsets)
_timestamps = aware_datetimes.map(datetime.isoformat)
_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)).map(date.isoformat)


def _enum(kind: type[Any]) -> st.SearchStrategy[str]:
    return st.sampled_from([member.value for member in kind])


@st.composite
def _object(draw: st.DrawFn, required: dict[str, Any], optional: dict[str, Any]) -> Data:
    """A JSON object with every ``required`` key and each ``optional`` key present or not."""
    found = {key: draw(strategy) for key, strategy in required.items()}
    for key, strategy in optional.items():
        if draw(st.booleans()):
            found[key] = draw(strategy)
    return found


# -- categorised parts -------------------------------------------------------------------

safety_risks = _object(
    {"level": _enum(RiskLevel)},
    {"notes": long_texts, "children_at_risk": st.booleans()},
)
contacts = _object(
    {},
    {
        "do_not_contact": st.booleans(),
        "safe_channel": _enum(SafeChannel),
        "safe_times": short_texts,
        "phone": st.from_regex(r"\+?[0-9 ()-]{6,20}", fullmatch=True),
        "email": st.from_regex(r"[a-z0-9._+-]{1,20}@[a-z0-9.-]{1,20}", fullmatch=True),
        "instructions": short_texts,
    },
)
identities = _object(
    {},
    {
        "given_name": short_texts,
        "family_name": short_texts,
        "birth_date": _dates,
        "national_id": identifiers,
    },
)
medical_summaries = _object(
    {"summary": long_texts},
    {
        "injuries": st.lists(short_texts, max_size=3),
        "pregnant": st.booleans(),
        "forensic_certificate_issued": st.booleans(),
        "incapacity_days": st.integers(0, 365),
    },
)
legal_information = _object(
    {},
    {
        "case_number": identifiers,
        "court": short_texts,
        "complaint_filed": st.booleans(),
        "protection_order": _enum(ProtectionOrderStatus),
    },
)
evidence_references = _object(
    {
        "evidence_id": identifiers,
        "kind": _enum(EvidenceKind),
        "location": st.text(_NOT_NUL, min_size=1, max_size=80),
        "sha256": sha256s,
    },
    {
        "captured_at": _timestamps,
        "online_platform": short_texts,
        "description": short_texts,
    },
)
incidents = _object(
    {"violence": st.lists(_enum(ViolenceType), min_size=1, max_size=3, unique=True)},
    {
        "technology_facilitated": st.lists(_enum(TechnologyFacilitation), unique=True),
        "perpetrator": _enum(Perpetrator),
        "age_band": _enum(AgeBand),
        "first_contact": _enum(FirstContact),
    },
)

#: Every categorised field of ``referral.requested``, each with its part strategy.
_CATEGORISED: dict[str, st.SearchStrategy[Any]] = {
    "reason": short_texts,
    "narrative": long_texts,
    "safety_risk": safety_risks,
    "contact": contacts,
    "identity": identities,
    "medical": medical_summaries,
    "legal": legal_information,
    "evidence": st.lists(evidence_references, max_size=3),
}


# -- referral.requested ------------------------------------------------------------------


@st.composite
def _referral_requested_data(draw: st.DrawFn, services: list[ServiceCode]) -> Data:
    from_agency = draw(agency_ids)
    to_agency = draw(agency_ids.filter(lambda slug: slug != from_agency))
    required = {
        "referral_id": identifiers,
        "subject_id": subject_ids,
        "priority": _enum(Priority),
        "consent_id": identifiers,
    }
    optional = {"due_by": _timestamps, "pathway_step": identifiers, **_CATEGORISED}
    data = draw(_object(required, optional))
    data.update(from_agency=from_agency, to_agency=to_agency, service=services[0].value)
    return data


_UP_TO_THREE = st.integers(0, 3)


def referral_requested_v1_data() -> st.SearchStrategy[Data]:
    """The JSON ``data`` of an arbitrary valid ``referral.requested`` v1."""
    return st.sampled_from(ServiceCode).flatmap(lambda service: _referral_requested_data([service]))


def referral_requested_v2_data(
    additional: st.SearchStrategy[int] = _UP_TO_THREE,
) -> st.SearchStrategy[Data]:
    """The JSON ``data`` of a valid v2 with ``additional`` further (distinct) services.

    With no additional services the key is sometimes omitted, sometimes ``[]``.
    """

    @st.composite
    def build(draw: st.DrawFn) -> Data:
        count = draw(additional)
        services = draw(
            st.lists(
                st.sampled_from(ServiceCode), min_size=count + 1, max_size=count + 1, unique=True
            )
        )
        data = draw(_referral_requested_data(services))
        if count or draw(st.booleans()):
            data["additional_services"] = [service.value for service in services[1:]]
        return data

    return build()


def referral_requested_v3_data(
    additional: st.SearchStrategy[int] = _UP_TO_THREE,
) -> st.SearchStrategy[Data]:
    """The JSON ``data`` of a valid v3: a v2's, with the incident classified or not."""

    @st.composite
    def build(draw: st.DrawFn) -> Data:
        data = draw(referral_requested_v2_data(additional))
        if draw(st.booleans()):
            data["incident"] = draw(incidents)
        return data

    return build()


def _validated(model: type[EventPayload]) -> Any:
    return lambda data: model.model_validate_json(json.dumps(data))


def referral_requested_v1() -> st.SearchStrategy[ReferralRequestedV1]:
    """An arbitrary valid ``ReferralRequestedV1``, validated from JSON as the hub does."""
    return referral_requested_v1_data().map(_validated(ReferralRequestedV1))


def referral_requested_v2(
    additional: st.SearchStrategy[int] = _UP_TO_THREE,
) -> st.SearchStrategy[ReferralRequestedV2]:
    """An arbitrary valid ``ReferralRequestedV2``, validated from JSON as the hub does."""
    return referral_requested_v2_data(additional).map(_validated(ReferralRequestedV2))


def referral_requested_v3(
    additional: st.SearchStrategy[int] = _UP_TO_THREE,
) -> st.SearchStrategy[ReferralRequestedV3]:
    """An arbitrary valid ``ReferralRequestedV3``, validated from JSON as the hub does."""
    return referral_requested_v3_data(additional).map(_validated(ReferralRequestedV3))


# -- envelopes ---------------------------------------------------------------------------


@st.composite
def events_of(draw: st.DrawFn, payloads: st.SearchStrategy[EventPayload]) -> CloudEvent:
    """An envelope from ``new_event`` around a drawn payload, optional extensions drawn too."""
    payload = draw(payloads)
    consent_id = getattr(payload, "consent_id", None)
    return new_event(
        payload,
        source=draw(st.text(_NOT_NUL, min_size=1, max_size=60)),
        event_id=draw(st.none() | st.uuids().map(str) | identifiers),
        time=draw(st.none() | aware_datetimes),
        consent_id=draw(st.none() | st.just(consent_id)) if consent_id else None,
        correlation_id=draw(st.none() | identifiers),
        traceparent=draw(st.none() | traceparents),
    )
