"""consent.granted v1 and v2: casting between them keeps her consent and who may refer onward."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hub.contracts import AgencyKind, CloudEvent, DataCategory, Purpose, default_registry
from hub.contracts.events import ConsentGrantedV1, ConsentGrantedV2, GrantedBy
from tests.contracts.strategies import agency_ids, events_of, identifiers, subject_ids

REGISTRY = default_registry()
Data = dict[str, Any]


@st.composite
def _scope_entry(draw: st.DrawFn, version: int, onward: st.SearchStrategy[bool]) -> Data:
    entry: Data = {
        "purposes": draw(st.lists(st.sampled_from([p.value for p in Purpose]), min_size=1)),
        "categories": draw(st.lists(st.sampled_from([c.value for c in DataCategory]))),
    }
    if draw(st.booleans()):
        entry["recipient_agency"] = draw(agency_ids)
    else:
        entry["recipient_kind"] = draw(st.sampled_from([k.value for k in AgencyKind]))
    if version == 2:
        refers = draw(onward)
        if refers or draw(st.booleans()):  # the default is sometimes written out, sometimes not
            entry["may_refer_onward"] = refers
    return entry


@st.composite
def _consent_data(draw: st.DrawFn, version: int, onward: st.SearchStrategy[bool]) -> Data:
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 10**6)))
    data: Data = {
        "consent_id": draw(identifiers),
        "subject_id": draw(subject_ids),
        "recorded_by": draw(agency_ids),
        "granted_by": draw(st.sampled_from([g.value for g in GrantedBy])),
        "scope": draw(st.lists(_scope_entry(version, onward), min_size=1, max_size=4)),
        "valid_from": start.isoformat(),
    }
    if draw(st.booleans()):
        data["valid_until"] = (start + timedelta(days=draw(st.integers(1, 400)))).isoformat()
    return data


_EITHER = st.booleans()


def consents(version: int, onward: st.SearchStrategy[bool] = _EITHER) -> Any:
    model = ConsentGrantedV2 if version == 2 else ConsentGrantedV1
    return events_of(
        _consent_data(version, onward).map(lambda data: model.model_validate_json(json.dumps(data)))
    )


@given(consents(1))
def test_v1_up_to_v2_and_back_is_the_identity(event: CloudEvent) -> None:
    """A v1 consent cast to v2 and back has exactly the data it started with."""
    up = REGISTRY.cast(event, 2)
    payload = REGISTRY.parse(up)
    assert isinstance(payload, ConsentGrantedV2)
    # A v1 consent names no one who may refer onward.
    assert not any(entry.may_refer_onward for entry in payload.scope)
    assert REGISTRY.cast(up, 1) == event


@given(consents(2, onward=st.just(False)))
def test_v2_naming_no_onward_referrer_survives_a_trip_through_v1(event: CloudEvent) -> None:
    """A v2 consent that lets no recipient refer onward reads the same after v1 and back."""
    back = REGISTRY.cast(REGISTRY.cast(event, 1), 2)
    assert REGISTRY.parse(back) == REGISTRY.parse(event)


@given(consents(2))
def test_v2_down_to_v1_keeps_everything_but_onward_referral(event: CloudEvent) -> None:
    """Down-cast to v1, a consent keeps recipients, purposes, categories and period."""
    original = REGISTRY.parse(event)
    down = REGISTRY.parse(REGISTRY.cast(event, 1))
    assert type(down) is ConsentGrantedV1
    assert down.model_dump(exclude={"scope"}) == original.model_dump(exclude={"scope"})
    assert [entry.model_dump() for entry in down.scope] == [
        entry.model_dump(exclude={"may_refer_onward"}) for entry in original.scope
    ]


@given(st.sampled_from([1, 2]), consents(1) | consents(2))
def test_every_consent_cast_validates_against_the_target_version(
    version: int, event: CloudEvent
) -> None:
    """Whatever version a consent is in, its cast to either version is valid for that version."""
    cast = REGISTRY.cast(event, version)
    assert type(REGISTRY.parse(cast)).version == version
