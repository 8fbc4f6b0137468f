"""FhirTransport: the encoded Bundle POSTed to the agency's FHIR base URL, and its fate."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from hub.config import AgencyConfig, FhirDelivery, WebhookDelivery
from hub.contracts import AgencyKind, CloudEvent, new_event
from hub.contracts.examples import EXAMPLES
from hub.delivery.fhir import FHIR_JSON, FhirTransport
from hub.errors import DeliveryError
from hub.store import ReferralRow, Store, referrals

BASE = "https://his.chu.example/fhir/"
TOKEN_HASH = "0" * 64

Handler = Callable[[httpx.Request], httpx.Response]


def agency(version: str = "r4", token: str | None = "his-secret") -> AgencyConfig:
    return AgencyConfig(
        id="chu-ibn-rochd",
        name="CHU",
        kind=AgencyKind.HOSPITAL,
        region="casablanca-settat",
        token_sha256=TOKEN_HASH,
        delivery=FhirDelivery(
            mode="fhir",
            base_url=BASE,
            fhir_version=version,  # type: ignore[arg-type]
            bearer_token=SecretStr(token) if token else None,
        ),
    )


def status_event() -> CloudEvent:
    return new_event(
        EXAMPLES[("referral.status-changed", 1)], source="tpi-casablanca-listening-unit"
    )


class Recorder:
    def __init__(self, answer: Handler) -> None:
        self.requests: list[httpx.Request] = []
        self._answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._answer(request)


def transport_for(answer: Handler, store: Store | None = None) -> tuple[FhirTransport, Recorder]:
    recorder = Recorder(answer)
    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    return FhirTransport(client, store=store), recorder


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    yield opened
    opened.close()


@pytest.mark.parametrize("version", ["r4", "r5"])
async def test_the_bundle_is_posted_as_fhir_json_with_the_bearer_token(version: str) -> None:
    """POST to the base URL, application/fhir+json, Authorization: Bearer."""
    transport, recorder = transport_for(lambda _: httpx.Response(200, json={}))
    event = new_event(EXAMPLES[("referral.requested", 2)], source="chu-ibn-rochd")
    await transport.deliver(agency(version), event)
    (request,) = recorder.requests
    assert str(request.url) == BASE.rstrip("/")
    assert request.headers["content-type"] == FHIR_JSON
    assert request.headers["authorization"] == "Bearer his-secret"
    bundle: dict[str, Any] = json.loads(request.content)
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "transaction")
    assert bundle["identifier"]["value"] == event.id
    codes = [
        e["resource"]["code"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "ServiceRequest"
    ]
    assert ("concept" in codes[0]) is (version == "r5")


async def test_no_token_means_no_authorization_header() -> None:
    """An agency without a configured token gets no Authorization header."""
    transport, recorder = transport_for(lambda _: httpx.Response(201))
    await transport.deliver(agency(token=None), status_event())
    assert "authorization" not in recorder.requests[0].headers


@pytest.mark.parametrize("status", [500, 502, 503, 408, 425, 429])
async def test_server_trouble_and_throttling_are_retriable(status: int) -> None:
    """5xx, 408 and 429 may succeed later: retriable."""
    transport, _ = transport_for(lambda _: httpx.Response(status, text="patient Salma B."))
    with pytest.raises(DeliveryError) as caught:
        await transport.deliver(agency(), status_event())
    assert caught.value.retriable
    assert "Salma" not in str(caught.value)  # the answer's body is never kept


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 412, 422])
async def test_other_client_errors_are_final(status: int) -> None:
    """A 4xx the same request would meet again is final: the worker dead-letters it."""
    transport, _ = transport_for(lambda _: httpx.Response(status))
    with pytest.raises(DeliveryError) as caught:
        await transport.deliver(agency(), status_event())
    assert not caught.value.retriable
    assert str(status) in str(caught.value)


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("x")],
)
async def test_timeouts_and_connection_failures_are_retriable(failure: httpx.HTTPError) -> None:
    """The server may come back: retriable."""

    def fail(_: httpx.Request) -> httpx.Response:
        raise failure

    transport, _ = transport_for(fail)
    with pytest.raises(DeliveryError) as caught:
        await transport.deliver(agency(), status_event())
    assert caught.value.retriable


async def test_an_agency_not_configured_for_fhir_is_a_final_failure() -> None:
    """A webhook agency handed to the FHIR transport is a configuration mistake."""
    transport, recorder = transport_for(lambda _: httpx.Response(200))
    webhook = agency().model_copy(
        update={
            "delivery": WebhookDelivery(
                mode="webhook", url="https://x.example", secret=SecretStr("s")
            )
        }
    )
    with pytest.raises(DeliveryError) as caught:
        await transport.deliver(webhook, status_event())
    assert not caught.value.retriable
    assert not recorder.requests


async def test_an_event_the_adapter_cannot_write_is_a_final_failure() -> None:
    """Nothing is posted for an event the adapter cannot write; retrying would not help."""
    transport, recorder = transport_for(lambda _: httpx.Response(200))
    status = new_event(EXAMPLES[("referral.status-changed", 1)], source="referral-hub")
    broken = status.with_data({**status.data, "status": "lost"})
    with pytest.raises(DeliveryError) as caught:
        await transport.deliver(agency(), broken)
    assert not caught.value.retriable
    assert not recorder.requests


async def test_a_status_update_carries_the_parties_the_store_knows(store: Store) -> None:
    """With the store, the PUT Task names requester, owner and the patient pseudonym."""
    at = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
    with store.transaction() as conn:
        referrals.insert_referrals(
            conn,
            [
                ReferralRow(
                    referral_id="ref-2026-000142",
                    from_agency="chu-ibn-rochd",
                    to_agency="tpi-casablanca-listening-unit",
                    subject_id="sub_" + "b" * 32,
                    consent_id="cns-1",
                    service="court-listening-unit",
                    priority="urgent",
                    status="received",
                    due_by=None,
                    pathway_step=None,
                    created_at=at,
                    updated_at=at,
                    version=1,
                )
            ],
        )
    transport, recorder = transport_for(lambda _: httpx.Response(200), store=store)
    await transport.deliver(agency(), status_event())
    task = json.loads(recorder.requests[0].content)["entry"][0]["resource"]
    assert task["owner"]["identifier"]["value"] == "tpi-casablanca-listening-unit"
    assert task["requester"]["identifier"]["value"] == "chu-ibn-rochd"
    assert task["for"]["identifier"]["value"] == "sub_" + "b" * 32
