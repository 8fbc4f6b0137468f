"""Properties: canonical -> court record -> canonical keeps every carried field, per record kind.

An event either round-trips exactly, or is refused on the way out with an
AdapterError (text XML 1.0 cannot hold, or an identifier the schema refuses);
never written as a file the court could not read back.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.contracts import CloudEvent, ReferralStatus, new_event
from hub.contracts.events import (
    EventPayload,
    OutcomeCode,
    ReferralOutcomeReportedV1,
    ReferralStatusChangedV1,
)
from hub.contracts.events.referral import OUTCOME_DOMAINS
from hub.errors import AdapterError
from tests.adapters.court.samples import COURT, SHELTER, court_adapter
from tests.adapters.court.test_format import carried_by_court
from tests.contracts.strategies import aware_datetimes, identifiers, referral_requested_v2

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

texts = st.text(min_size=1, max_size=80).filter(lambda t: bool(t.strip()) and "\x00" not in t)


@st.composite
def status_changes(draw: st.DrawFn) -> ReferralStatusChangedV1:
    return ReferralStatusChangedV1(
        referral_id=draw(identifiers),
        status=draw(st.sampled_from(ReferralStatus)),
        business_status=draw(st.none() | texts),
        status_reason=draw(st.none() | texts),
        note=draw(st.none() | texts),
    )


@st.composite
def outcomes(draw: st.DrawFn) -> ReferralOutcomeReportedV1:
    outcome = draw(st.sampled_from(OutcomeCode))
    return ReferralOutcomeReportedV1(
        referral_id=draw(identifiers),
        domain=OUTCOME_DOMAINS[outcome],
        outcome=outcome,
        occurred_at=draw(aware_datetimes),
        next_step_at=draw(st.none() | aware_datetimes),
        case_number=draw(st.none() | identifiers),
        note=draw(st.none() | texts),
    )


def referrals() -> st.SearchStrategy[EventPayload]:
    return referral_requested_v2().map(
        lambda p: p.model_copy(update={"from_agency": COURT, "to_agency": SHELTER})
    )


def _xml_can_hold(event: CloudEvent) -> bool:
    def walk(value: Any) -> bool:
        if isinstance(value, str):
            return not _NOT_XML.search(value)
        if isinstance(value, dict):
            return all(walk(v) for v in value.values())
        if isinstance(value, list):
            return all(walk(v) for v in value)
        return True

    return walk(event.data)


def _round_trip(payload: EventPayload, fmt: str) -> None:
    event = new_event(payload, source=COURT)
    adapter = court_adapter(format=fmt)
    try:
        native = adapter.encode(event)
    except AdapterError:
        # Refused only for what the format truly cannot carry.
        # An identifier the schema cannot take: blank at an edge, or broken across lines.
        blanks = any(
            isinstance(v, str) and (v != v.strip() or "\r" in v or "\n" in v)
            for v in event.data.values()
        )
        assert not _xml_can_hold(event) or blanks
        return
    assert isinstance(native, bytes)
    (back,) = adapter.decode(native)
    assert back.type == event.type
    assert _instants(carried_by_court(back)) == _instants(carried_by_court(event))


_MOMENTS = ("due_by", "occurred_at", "next_step_at")


def _instants(data: dict[str, Any]) -> dict[str, Any]:
    """Date-times as instants: the court format writes them in UTC."""
    return {
        k: datetime.fromisoformat(v).astimezone(UTC) if k in _MOMENTS else v
        for k, v in data.items()
    }


@PROPERTY
@given(status_changes(), st.sampled_from(["xml", "csv"]))
def test_status_changes_round_trip(payload: ReferralStatusChangedV1, fmt: str) -> None:
    """Any status change survives the court format, or is refused naming why."""
    _round_trip(payload, fmt)


@PROPERTY
@given(outcomes(), st.sampled_from(["xml", "csv"]))
def test_outcomes_round_trip(payload: ReferralOutcomeReportedV1, fmt: str) -> None:
    """Any outcome survives the court format, or is refused naming why."""
    _round_trip(payload, fmt)


@PROPERTY
@given(referrals(), st.sampled_from(["xml", "csv"]))
def test_referrals_round_trip(payload: EventPayload, fmt: str) -> None:
    """Any referral survives the court format, or is refused naming why."""
    _round_trip(payload, fmt)
