"""Whatever intake accepts can be stored and routed: no value fails later than intake.

A property over instants anywhere in the calendar (in any offset, its edges
included) and text with any character: each drawn consent and referral is
either refused at intake with a contract error, or accepted, stored and routed
to its recipient, on SQLite and on PostgreSQL (which refuses NUL in text).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hub.broker.topics import INGRESS, inbox_topic
from hub.consumers.records import IncomingRecord, OutgoingMessage, outgoing
from hub.consumers.router import IngressRouter
from hub.consumers.routing import AgencyView
from hub.contracts import AgencyKind, CloudEvent, DataCategory, Purpose, default_registry
from hub.contracts import parse_structured as parse_event
from hub.errors import ContractError
from hub.observability import HubMetrics
from hub.services.intake import accept_event, vet
from hub.store import Store, referrals
from tests.support import agency, consent_event, consent_payload, referral_event, scope

pytestmark = pytest.mark.integration

REGISTRY = default_registry()
HOSPITAL = agency(AgencyKind.HOSPITAL)
COURT = agency(AgencyKind.COURT)

_offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_edges = st.tuples(
    st.sampled_from([datetime(1, 1, 1), datetime(1, 1, 1, 23, 59), datetime(9999, 12, 31, 23, 59)]),
    _offsets,
).map(lambda pair: pair[0].replace(tzinfo=pair[1]))
#: Any instant Python can hold, in any offset, the calendar's edges drawn on
#: purpose; a third of them in this century, so that many drawn events are accepted.
instants = (
    st.datetimes(
        min_value=datetime(1, 1, 1),
        max_value=datetime(9999, 12, 31, 23, 59, 59),
        timezones=_offsets,
    )
    | _edges
    | st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=_offsets
    )
)
#: Any text, NUL and other control characters included; half of it readable.
texts = st.text(min_size=1, max_size=40) | st.text(
    st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
)


@dataclass
class Publisher:
    messages: list[OutgoingMessage]

    async def publish(self, messages: Any) -> None:
        self.messages.extend(messages)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'hub.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    with Store.open(url) as opened:
        yield opened


def _intake(store: Store, document: dict[str, Any]) -> CloudEvent | None:
    """What ``POST /v1/events`` does: the event accepted, or None if it is refused."""
    try:
        event = parse_event(json.dumps(document))
        vet(REGISTRY, event, event.source)
    except ContractError:
        return None
    accept_event(store, REGISTRY, event, sender=event.source, now=datetime.now(UTC))
    return event


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    valid_from=instants,
    valid_until=instants,
    due_by=instants,
    time=instants,
    narrative=texts,
    given_name=texts,
    correlation=texts,
)
def test_every_value_intake_accepts_is_stored_and_routed(
    store: Store,
    valid_from: datetime,
    valid_until: datetime,
    due_by: datetime,
    time: datetime,
    narrative: str,
    given_name: str,
    correlation: str,
) -> None:
    """A drawn consent and referral are refused at intake or reach the court; nothing fails."""
    publisher = Publisher([])
    router = IngressRouter(
        store=store,
        registry=REGISTRY,
        agencies={a.id: AgencyView(a.id, a.kind) for a in (HOSPITAL, COURT)},
        publisher=publisher,
        metrics=HubMetrics.create(),
        hub_id="referral-hub",
    )
    consent = consent_payload(
        HOSPITAL, [scope(COURT, (Purpose.JUSTICE,), (DataCategory.NARRATIVE,))]
    )
    granted = consent_event(consent).structured()
    granted["data"]["valid_from"] = valid_from.isoformat()
    granted["data"]["valid_until"] = valid_until.isoformat()
    referral = referral_event(HOSPITAL, COURT, consent).structured()
    referral["time"] = time.isoformat(timespec="seconds")
    referral["correlationid"] = correlation
    referral["data"] |= {"due_by": due_by.isoformat(), "narrative": narrative}
    referral["data"]["identity"]["given_name"] = given_name

    accepted = [event for event in map(lambda d: _intake(store, d), (granted, referral)) if event]
    offsets = itertools.count()
    records = [_record(event, next(offsets)) for event in accepted]
    asyncio.run(router.handle(records))

    event(f"accepted {len(accepted)} of 2")
    if len(accepted) == 2:
        (routed,) = accepted[1:]
        with store.transaction() as conn:
            row = referrals.get_referral(conn, routed.subject)
        assert row is not None
        assert row.due_by == due_by
        copies = [m for m in publisher.messages if m.topic == inbox_topic(COURT.id)]
        delivered = [dict(m.headers)["ce_id"].decode() for m in copies]
        assert routed.id in delivered or not _covers(valid_from, valid_until)


def _covers(valid_from: datetime, valid_until: datetime) -> bool:
    now = datetime.now(UTC)
    return valid_from <= now < valid_until


def _record(event: CloudEvent, offset: int) -> IncomingRecord:
    message = outgoing(INGRESS, event)
    return IncomingRecord(INGRESS, 0, offset, message.key, message.value, message.headers)
