"""Properties: canonical -> FHIR -> canonical keeps what FHIR carries, in R4 and R5;
and whatever arrives, decoding either gives valid events or an AdapterError.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic_core import to_jsonable_python

from hub.adapters import AdapterContext
from hub.adapters.fhir import FhirAdapter, FhirVersion, read_document
from hub.contracts import (
    AgencyKind,
    CloudEvent,
    DataCategory,
    Purpose,
    ReferralStatus,
    ServiceCode,
    default_registry,
    new_event,
)
from hub.contracts.events import (
    ConsentGrantedV1,
    ConsentGrantedV2,
    ConsentWithdrawnV1,
    EventPayload,
    GrantedBy,
    OutcomeCode,
    Priority,
    ReferralOutcomeReportedV1,
    ReferralRequestedV1,
    ReferralRequestedV2,
    ReferralStatusChangedV1,
    SafeChannel,
)
from hub.contracts.events.referral import OUTCOME_DOMAINS
from hub.errors import AdapterError
from tests.adapters.fhir_samples import (
    KEY,
    carried_by_fhir,
    message_bundle,
    referral_bundle,
    status_task,
)

SOURCE = "chu-ibn-rochd"
VERSIONS = ["r4", "r5"]
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any character JSON can carry (lone surrogates cannot be encoded at all) and
# the store can hold (PostgreSQL refuses NUL in text).
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
ZONES = st.sampled_from(
    [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5, minutes=-30))]
)


def fhir_string(value: str) -> bool:
    """Text the contracts accept: some character that is not blank."""
    return any(not c.isspace() for c in value)


def texts(max_size: int) -> st.SearchStrategy[str]:
    return st.text(CHARS, min_size=1, max_size=max_size).filter(fhir_string)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def build(model: type[EventPayload], data: dict[str, Any]) -> EventPayload:
    """The payload as the registry reads it: strict models take JSON, not Python lists."""
    return model.model_validate_json(json.dumps(to_jsonable_python(data)))


agencies = st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}", fullmatch=True)
subjects = st.from_regex(r"sub_[0-9a-f]{32}", fullmatch=True)
instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=ZONES
)
steps = st.from_regex(r"[a-z0-9][a-z0-9-]{0,30}", fullmatch=True)


@st.composite
def contacts(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "do_not_contact": draw(st.booleans()),
        "safe_channel": draw(optional(st.sampled_from(SafeChannel))),
        "safe_times": draw(optional(texts(40))),
        "phone": draw(optional(st.from_regex(r"\+?[0-9 ()-]{6,20}", fullmatch=True))),
        "email": draw(
            optional(st.from_regex(r"[^@\s]{1,10}@[^@\s]{1,10}", fullmatch=True, alphabet=CHARS))
        ),
        "instructions": draw(optional(texts(40))),
    }


@st.composite
def identities(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "given_name": draw(optional(texts(30))),
        "family_name": draw(optional(texts(30))),
        "birth_date": draw(
            optional(st.dates(datetime(1900, 1, 1).date(), datetime(2100, 1, 1).date()))
        ),
    }


@st.composite
def referrals(
    draw: st.DrawFn, model: type[ReferralRequestedV1 | ReferralRequestedV2]
) -> EventPayload:
    from_agency = draw(agencies)
    service = draw(st.sampled_from(ServiceCode))
    data: dict[str, Any] = {
        "referral_id": draw(texts(60)),
        "from_agency": from_agency,
        "to_agency": draw(agencies.filter(lambda a: a != from_agency)),
        "subject_id": draw(subjects),
        "service": service,
        "priority": draw(st.sampled_from(Priority)),
        "consent_id": draw(texts(60)),
        "due_by": draw(optional(instants)),
        "pathway_step": draw(optional(steps)),
        "reason": draw(optional(texts(200))),
        "narrative": draw(optional(texts(400))),
        "contact": draw(optional(contacts())),
        "identity": draw(optional(identities())),
    }
    if model is ReferralRequestedV2:
        others = [code for code in ServiceCode if code is not service]
        data["additional_services"] = draw(
            st.lists(st.sampled_from(others), unique=True, max_size=3)
        )
    return build(model, data)


@st.composite
def status_changes(draw: st.DrawFn) -> EventPayload:
    # "requested" is no move any referral can make (see hub.contracts.status).
    moves = [s for s in ReferralStatus if s is not ReferralStatus.REQUESTED]
    return ReferralStatusChangedV1(
        referral_id=draw(texts(60)),
        status=draw(st.sampled_from(moves)),
        business_status=draw(optional(texts(60))),
        status_reason=draw(optional(texts(60))),
        note=draw(optional(texts(400))),
    )


@st.composite
def outcomes(draw: st.DrawFn) -> EventPayload:
    outcome = draw(st.sampled_from(OutcomeCode))
    return ReferralOutcomeReportedV1(
        referral_id=draw(texts(60)),
        domain=OUTCOME_DOMAINS[outcome],
        outcome=outcome,
        occurred_at=draw(instants),
        next_step_at=draw(optional(instants)),
        case_number=draw(optional(texts(60))),
        clinical_note=draw(optional(texts(200))),
        note=draw(optional(texts(200))),
    )


@st.composite
def scopes(draw: st.DrawFn, *, onward: bool = False) -> dict[str, Any]:
    recipient: dict[str, Any] = draw(
        st.one_of(
            agencies.map(lambda a: {"recipient_agency": a}),
            st.sampled_from(AgencyKind).map(lambda k: {"recipient_kind": k}),
        )
    )
    return {
        **recipient,
        "purposes": draw(st.lists(st.sampled_from(Purpose), min_size=1, max_size=3)),
        "categories": draw(st.lists(st.sampled_from(DataCategory), max_size=4)),
        **({"may_refer_onward": draw(st.booleans())} if onward else {}),
    }


@st.composite
def grants(
    draw: st.DrawFn, model: type[ConsentGrantedV1 | ConsentGrantedV2] = ConsentGrantedV1
) -> EventPayload:
    valid_from = draw(instants)
    until = draw(optional(st.timedeltas(timedelta(seconds=1), timedelta(days=3650))))
    return build(
        model,
        {
            "consent_id": draw(texts(60)),
            "subject_id": draw(subjects),
            "recorded_by": draw(agencies),
            "granted_by": draw(st.sampled_from(GrantedBy)),
            "scope": draw(
                st.lists(scopes(onward=model is ConsentGrantedV2), min_size=1, max_size=3)
            ),
            "valid_from": valid_from,
            "valid_until": valid_from + until if until is not None else None,
        },
    )


@st.composite
def withdrawals(draw: st.DrawFn) -> EventPayload:
    return ConsentWithdrawnV1(
        consent_id=draw(texts(60)),
        subject_id=draw(subjects),
        recorded_by=draw(agencies),
        withdrawn_at=draw(instants),
        reason=draw(optional(texts(60))),
    )


PAYLOADS = {
    "referral.requested v1": referrals(ReferralRequestedV1),
    "referral.requested v2": referrals(ReferralRequestedV2),
    "referral.status-changed": status_changes(),
    "referral.outcome-reported": outcomes(),
    "consent.granted v1": grants(),
    "consent.granted v2": grants(ConsentGrantedV2),
    "consent.withdrawn": withdrawals(),
}


def round_trip(payload: EventPayload, version: str) -> tuple[CloudEvent, CloudEvent]:
    source = getattr(payload, "from_agency", None) or getattr(payload, "recorded_by", SOURCE)
    event = new_event(payload, source=source)
    adapter = FhirAdapter(AdapterContext(pseudonym_key=KEY, source=source))
    native = adapter.encode(event, target_version=version)
    decoded = [
        e
        for e in adapter.decode(json.dumps(native).encode())
        if e.type == event.type and e.subject == event.subject
    ]
    assert len(decoded) == 1
    back = decoded[0]
    if back.version != event.version:
        back = default_registry().cast(back, event.version)
    return event, back


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_canonical_fhir_canonical_is_the_identity_on_what_fhir_carries(
    kind: str, version: str
) -> None:
    """For every event type with a FHIR form, decode(encode(e)) equals e where FHIR carries it."""

    @PROPERTY
    @given(payload=PAYLOADS[kind])
    def check(payload: EventPayload) -> None:
        event, back = round_trip(payload, version)
        registry = default_registry()
        expected = registry.contract_of(event).validate_data(carried_by_fhir(event))
        actual = registry.contract_of(back).validate_data(carried_by_fhir(back))
        assert actual == expected

    check()


# --- robustness: nothing but AdapterError, whatever arrives ---

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(CHARS, max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(CHARS, max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
FHIR_KEYS = st.sampled_from(
    [
        "resourceType",
        "type",
        "entry",
        "resource",
        "status",
        "focus",
        "code",
        "identifier",
        "reference",
        "subject",
        "provision",
        "output",
        "fullUrl",
        "request",
        "performer",
    ]
)


def assert_only_adapter_errors(document: Any, version: str | None) -> None:
    adapter = FhirAdapter(
        AdapterContext(pseudonym_key=KEY, source=SOURCE),
        fhir_version=FhirVersion(version) if version else None,
    )
    try:
        events = adapter.decode(document)
    except AdapterError as exc:
        reason = exc.reason
    else:
        reason = None
    if reason is not None:
        assert reason.strip()
        return
    for event in events:
        default_registry().parse(event)


@PROPERTY
@given(
    root=st.sampled_from(["Bundle", "Task", "ServiceRequest", "Patient"]),
    body=st.dictionaries(FHIR_KEYS | st.text(CHARS, max_size=8), json_values, max_size=6),
    version=st.sampled_from(["r4", "r5", None]),
)
def test_arbitrary_json_gives_an_adapter_error_or_valid_events(
    root: str, body: dict[str, Any], version: str | None
) -> None:
    """Random JSON objects dressed as FHIR never raise anything but AdapterError."""
    assert_only_adapter_errors(json.dumps({**body, "resourceType": root}).encode(), version)


@PROPERTY
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_give_an_adapter_error(raw: bytes) -> None:
    """Random bytes are refused with a reason."""
    assert_only_adapter_errors(raw, "r4")


def _slots(node: Any) -> list[tuple[Any, Any]]:
    found: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((node, key))
            found += _slots(value)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append((node, index))
            found += _slots(value)
    return found


SAMPLES = [
    (referral_bundle("r4", grant=True), "r4"),
    (referral_bundle("r5", grant=True), "r5"),
    (message_bundle("r4"), "r4"),
    (status_task("r5", "completed", referral_id="ref-1", outcome="treated"), "r5"),
]


@st.composite
def mutated_samples(draw: st.DrawFn) -> tuple[Any, str]:
    document, version = draw(st.sampled_from(SAMPLES))
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(document)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        if isinstance(container, dict) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(json_values)
    return document, version


@PROPERTY
@given(sample=mutated_samples())
def test_mutated_referral_documents_give_an_adapter_error_or_valid_events(
    sample: tuple[Any, str],
) -> None:
    """Valid documents with elements removed or replaced fail cleanly, or still decode."""
    document, version = sample
    assert_only_adapter_errors(json.dumps(document).encode(), version)


# --- spellings: bytes read as sent give what the model's own JSON gives ---

#: Spellings of one UTC instant that FHIR's dateTime and instant both accept.
UTC_SPELLINGS = [
    "2026-03-15T10:00:00Z",
    "2026-03-15T10:00:00+00:00",
    "2026-03-15T10:00:00-00:00",
    "2026-03-15T10:00:00.000Z",
    "2026-03-15T10:00:00.0000001Z",
]
#: Elements that repeat somewhere in the samples' resources.
REPEATING = ["identifier", "note", "extension", "category", "performer", "basedOn", "telecom"]
#: Elements that hold a date or an instant somewhere in the samples' resources.
DATED = ["authoredOn", "lastModified", "birthDate", "start", "end", "timestamp", "valueDateTime"]


@st.composite
def respelled_samples(draw: st.DrawFn) -> tuple[Any, str]:
    """A sample with elements written as the model accepts but does not write them."""
    document, version = draw(st.sampled_from(SAMPLES))
    document = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(document)
        container, key = draw(st.sampled_from(slots))
        value = container[key]
        objects = [node for node, _ in slots if isinstance(node, dict)]
        choice = draw(st.integers(0, 5))
        if choice == 0 and isinstance(value, str) and value[:4].isdigit():
            container[key] = draw(st.sampled_from(UTC_SPELLINGS))
        elif choice == 1 and isinstance(value, dict | list):
            container[key] = json.dumps(value)
        elif choice == 2 and objects:
            draw(st.sampled_from(objects))[draw(st.sampled_from(REPEATING))] = []
        elif choice == 3 and objects:
            meta = {"lastUpdated": draw(st.sampled_from([*UTC_SPELLINGS, 0, 1773568800]))}
            draw(st.sampled_from(objects))["meta"] = meta
        elif choice == 4 and objects:
            stamp = draw(st.sampled_from([*UTC_SPELLINGS, 1773568800, 20260315]))
            draw(st.sampled_from(objects))[draw(st.sampled_from(DATED))] = stamp
        elif isinstance(value, bool):
            container[key] = draw(st.sampled_from(["true", "false", 1, 0, "yes", "off"]))
        elif isinstance(container, dict):
            container[key] = None
    return document, version


def decoded(native: Any, version: str) -> Any:
    adapter = FhirAdapter(
        AdapterContext(
            pseudonym_key=KEY, source=SOURCE, clock=lambda: datetime(2026, 4, 1, tzinfo=UTC)
        ),
        fhir_version=FhirVersion(version),
    )
    try:
        return [event.structured() for event in adapter.decode(native)]
    except AdapterError as exc:
        return exc.reason, exc.path


@PROPERTY
@given(sample=respelled_samples())
def test_documents_read_as_sent_decode_as_the_models_json_of_them(
    sample: tuple[Any, str],
) -> None:
    """Bytes, read as the sender spelt them, give the events (or the refusal) a mapping gives."""
    document, version = sample
    raw = json.dumps(document).encode()
    # The mapping, parsed alike (decimals stay Decimal), is read from the model's own JSON.
    parsed = dict(read_document(raw))
    assert decoded(raw, version) == decoded(parsed, version)
