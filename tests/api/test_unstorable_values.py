"""Intake refuses, with 422 naming the field, every value a later stage could not hold.

The hub's API (``/v1`` and ``/fhir``) over a real uvicorn server and a SQLite
store, as ``test_fhir_endpoints`` serves it: no broker is needed to be refused.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from hub.api import ApiContext, create_api
from hub.api.auth import TokenDirectory, hash_token
from hub.audit import AuditRecorder
from hub.config import AgencyConfig
from hub.contracts import AgencyKind, default_registry
from hub.contracts.status import ReferralStatus
from hub.observability import HubMetrics
from hub.store import Store
from tests.adapters.fhir_samples import COURT as FHIR_COURT
from tests.adapters.fhir_samples import HOSPITAL as FHIR_HOSPITAL
from tests.adapters.fhir_samples import referral_bundle
from tests.support import (
    agency,
    consent_event,
    consent_payload,
    referral_event,
    scope,
    status_event,
    withdrawal_event,
)

pytestmark = pytest.mark.integration

HOSPITAL = agency(AgencyKind.HOSPITAL)
COURT = agency(AgencyKind.COURT)
HEADERS = {"content-type": "application/cloudevents+json"}
#: The FHIR samples' own agencies, which their Bundles name.
FHIR_AGENCIES = {
    FHIR_HOSPITAL: (AgencyKind.HOSPITAL, "rh_values-hospital-token"),
    FHIR_COURT: (AgencyKind.COURT, "rh_values-court-token"),
}


@dataclass(frozen=True)
class Server:
    url: str

    def client(self, token: str = HOSPITAL.token) -> httpx.Client:
        headers = {"authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The API with the FHIR router, served by uvicorn on a free local port."""
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('values') / 'hub.db'}")
    agencies = {
        a.id: AgencyConfig(
            id=a.id,
            name=a.id,
            kind=a.kind,
            region="casablanca-settat",
            token_sha256=hash_token(a.token),
        )
        for a in (HOSPITAL, COURT)
    }
    agencies.update(
        (
            agency_id,
            AgencyConfig(
                id=agency_id,
                name=agency_id,
                kind=kind,
                region="casablanca-settat",
                token_sha256=hash_token(token),
            ),
        )
        for agency_id, (kind, token) in FHIR_AGENCIES.items()
    )
    context = ApiContext(
        store=store,
        registry=default_registry(),
        agencies=agencies,
        tokens=TokenDirectory(store, agencies),
        metrics=HubMetrics.create(),
        audit=AuditRecorder(signer=None, checkpoint_every=10**9),
    )
    app = create_api(context, pseudonym_key=SecretStr("values-test-key"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uvicorn_server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uvicorn_server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}")
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        store.close()


# -- events whose one value cannot be held downstream -----------------------------------


def _referral() -> dict[str, Any]:
    consent = consent_payload(HOSPITAL, [scope(COURT)])
    return referral_event(HOSPITAL, COURT, consent).structured()


def _consent() -> dict[str, Any]:
    return consent_event(consent_payload(HOSPITAL, [scope(COURT)])).structured()


def _with_data(build: Callable[[], dict[str, Any]], **data: Any) -> Callable[[], dict[str, Any]]:
    def built() -> dict[str, Any]:
        event = build()
        event["data"].update(data)
        return event

    return built


def _with(build: Callable[[], dict[str, Any]], **attributes: Any) -> Callable[[], dict[str, Any]]:
    def built() -> dict[str, Any]:
        return {**build(), **attributes}

    return built


def _nested_name_with_nul() -> dict[str, Any]:
    event = _referral()
    event["data"]["identity"]["given_name"] = "Sal\x00ma"
    return event


def _status_note_with_nul() -> dict[str, Any]:
    event = status_event(HOSPITAL, "ref-x", ReferralStatus.CANCELLED).structured()
    event["data"]["note"] = "seen\x00"
    return event


def _withdrawn_at_the_calendars_end() -> dict[str, Any]:
    consent = consent_payload(HOSPITAL, [scope(COURT)])
    event = withdrawal_event(consent).structured()
    event["data"]["withdrawn_at"] = "9999-12-31T23:59:59-00:01"
    return event


UNSTORABLE: list[tuple[Callable[[], dict[str, Any]], str]] = [
    (_with_data(_referral, due_by="0001-01-01T00:00:00+05:00"), "data.due_by"),
    (_with_data(_referral, due_by="9999-12-31T23:30:00-05:00"), "data.due_by"),
    (_with_data(_referral, due_by="0001-01-01T00:00:00Z"), "data.due_by"),
    (_with_data(_consent, valid_from="0001-01-01T00:00:00Z"), "data.valid_from"),
    (_with_data(_consent, valid_until="9999-12-31T23:59:59Z"), "data.valid_until"),
    (_withdrawn_at_the_calendars_end, "data.withdrawn_at"),
    (_with(_referral, time="0001-01-01T00:00:00+00:30"), "time"),
    (_with_data(_referral, narrative="before\x00after"), "data.narrative"),
    (_nested_name_with_nul, "data.identity.given_name"),
    (_status_note_with_nul, "data.note"),
    (_with(_referral, correlationid="corr\x00"), "correlationid"),
    (_with(_referral, id="evt\x00"), "id"),
    (_with(_referral, traceid="trace\x00"), "traceid"),
]


@pytest.mark.parametrize(("build", "field"), UNSTORABLE)
def test_an_event_with_a_value_the_store_cannot_hold_is_422_naming_it(
    server: Server, build: Callable[[], dict[str, Any]], field: str
) -> None:
    """Out-of-range instants and NUL characters are refused at intake, never accepted."""
    with server.client() as client:
        response = client.post("/v1/events", json=build(), headers=HEADERS)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]


def test_instants_just_inside_the_range_are_accepted(server: Server) -> None:
    """The range refuses only the calendar's edges: 1900 and 9998 in UTC are accepted."""
    early = _with_data(_consent, valid_from="1900-01-01T00:00:00Z")()
    late = _with_data(_consent, valid_until="9998-12-31T23:59:59Z")()
    with server.client() as client:
        for event in (early, late):
            response = client.post("/v1/events", json=event, headers=HEADERS)
            assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/v1/inbox", {"after": str(2**63)}),
        ("GET", "/v1/inbox", {"after": str(10**40)}),
        ("GET", "/v1/referrals/ref%00x", {}),
        ("GET", "/v1/consents/cns%00x", {}),
        ("POST", "/v1/inbox/evt%00x/ack", {}),
    ],
)
def test_url_values_the_store_cannot_hold_are_422(
    server: Server, method: str, path: str, params: dict[str, str]
) -> None:
    """Integers past 64 bits and NUL in ids are invalid parameters, not a 500 or a 503."""
    with server.client() as client:
        response = client.request(method, path, params=params)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_the_largest_inbox_cursor_is_served(server: Server) -> None:
    """The last 64-bit cursor is a valid one: an empty page, not an error."""
    with server.client() as client:
        response = client.get("/v1/inbox", params={"after": str(2**63 - 1)})

    assert response.status_code == 200, response.text
    assert response.json()["events"] == []


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/fhir/r4/Task", {"owner": "court\x00"}),
        ("GET", "/fhir/r4/Task", {"_count": "10", "owner": "Organization/\x00"}),
    ],
)
def test_fhir_url_values_the_store_cannot_hold_are_400(
    server: Server, method: str, path: str, params: dict[str, str]
) -> None:
    """The FHIR endpoints refuse the same values, as an OperationOutcome."""
    with server.client() as client:
        response = client.request(
            method, path, params=params, headers={"content-type": "application/fhir+json"}
        )

    assert response.status_code == 400, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("entry", "element", "value"),
    [
        (5, "restriction", {"period": {"end": "0001-01-01T00:00:00+05:00"}}),
        (4, "note", [{"text": "Seen at the emergency unit\u0000"}]),
    ],
)
def test_a_fhir_bundle_with_a_value_the_store_cannot_hold_is_422(
    server: Server, entry: int, element: str, value: Any
) -> None:
    """A referral Bundle whose due date or note cannot be held is refused whole."""
    bundle = referral_bundle("r4", grant=True)
    bundle["entry"][4]["resource"]["id"] = f"sr-{uuid.uuid4().hex[:12]}"
    bundle["entry"][entry]["resource"][element] = value
    with server.client(FHIR_AGENCIES[FHIR_HOSPITAL][1]) as client:
        response = client.post(
            "/fhir/r4/Bundle", json=bundle, headers={"content-type": "application/fhir+json"}
        )

    assert response.status_code == 422, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
