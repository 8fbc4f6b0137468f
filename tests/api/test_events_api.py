"""The HTTP API over a real uvicorn server, a real broker and a SQLite store.

One hub serves the whole module; every test draws its own referral and consent
ids, and the inbox tests use an agency no other test writes to.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from hub.broker.topics import INGRESS
from hub.contracts import AgencyKind, CloudEvent, DataCategory, Purpose, new_event, to_kafka
from hub.contracts.events import DeliveryFailedV1, EvidenceKind, EvidenceReference, FailureReason
from hub.contracts.examples import EXAMPLES
from hub.contracts.status import ReferralStatus
from hub.services.intake import MAX_RECORD_BYTES
from hub.store.schema import outbox as outbox_table
from tests.support import (
    EVENT_HEADERS,
    Agency,
    HubUnderTest,
    agency,
    consent_event,
    consent_payload,
    eventually,
    hub_settings,
    post_event,
    referral_event,
    scope,
    started_hub,
    status_event,
    uid,
    wait_for_inbox,
    withdrawal_event,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

PROBLEM_FIELDS = {"type", "title", "status", "detail"}
MIB = 1024 * 1024


@dataclass(frozen=True)
class Api:
    hub: HubUnderTest
    hospital: Agency
    court: Agency
    shelter: Agency
    reader: Agency

    @property
    def client(self) -> httpx.AsyncClient:
        return self.hub.client


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def api(
    kafka_bootstrap: str, kafka_engine: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Api]:
    """One running hub with a hospital, a court, a shelter and an inbox reader."""
    hospital = agency(AgencyKind.HOSPITAL)
    court = agency(AgencyKind.COURT)
    shelter = agency(AgencyKind.SHELTER)
    reader = agency(AgencyKind.COURT)
    agencies = [hospital, court, shelter, reader]
    directory: Path = tmp_path_factory.mktemp("api")
    settings = hub_settings(
        directory, agencies, kafka_bootstrap=kafka_bootstrap, kafka_engine=kafka_engine
    )
    async with started_hub(settings, agencies) as hub:
        yield Api(hub, hospital, court, shelter, reader)


# -- helpers -----------------------------------------------------------------------------


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of an error answer, checked for its RFC 9457 shape."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_FIELDS
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    assert body["detail"]
    return body


def consent_for(api: Api, *recipients: Agency) -> Any:
    return consent_payload(
        api.hospital,
        [scope(r, (Purpose.JUSTICE,), (DataCategory.CONTACT,)) for r in recipients or [api.court]],
    )


def a_referral(api: Api, **kwargs: Any) -> CloudEvent:
    return referral_event(api.hospital, api.court, consent_for(api), **kwargs)


async def still_serves(api: Api) -> None:
    """A good request right after a bad one is accepted as usual."""
    response = await post_event(api.client, api.hospital, a_referral(api))
    assert response.status_code == 202, response.text


def structured(event: CloudEvent) -> dict[str, Any]:
    return copy.deepcopy(event.structured())


async def outbox_count(api: Api) -> int:
    """Accepted events in the outbox (the router journals its copies there too)."""
    query = select(func.count()).select_from(outbox_table).where(outbox_table.c.topic == INGRESS)
    with api.hub.store.transaction() as conn:
        return int(conn.execute(query).scalar_one())


# -- acceptance --------------------------------------------------------------------------


async def test_an_event_is_accepted_with_its_id(api: Api) -> None:
    """A valid event from its source gets 202 with the event id, type and version."""
    event = a_referral(api)

    response = await post_event(api.client, api.hospital, event)

    assert response.status_code == 202
    assert response.json() == {
        "id": event.id,
        "type": "referral.requested",
        "version": 1,
        "status": "accepted",
    }


async def test_plain_json_is_accepted_too(api: Api) -> None:
    """``application/json`` with a charset is taken as a structured CloudEvent."""
    event = a_referral(api)

    response = await api.client.post(
        "/v1/events",
        content=event.to_json(),
        headers={"content-type": "application/json; charset=utf-8", **api.hospital.auth},
    )

    assert response.status_code == 202


async def test_the_same_event_again_gets_the_same_answer_and_adds_nothing(api: Api) -> None:
    """A client retrying with the same event id gets the same 202; the outbox is unchanged."""
    event = a_referral(api)
    first = await post_event(api.client, api.hospital, event)
    before = await outbox_count(api)

    again = await post_event(api.client, api.hospital, event)

    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert await outbox_count(api) == before


async def test_the_same_id_with_other_content_is_a_conflict(api: Api) -> None:
    """Reusing an event id for different content is refused with 409."""
    event = a_referral(api)
    assert (await post_event(api.client, api.hospital, event)).status_code == 202
    changed = event.with_data({**event.data, "priority": "emergency"})

    response = await post_event(api.client, api.hospital, changed)

    assert event.id in problem(response, 409)["detail"]
    await still_serves(api)


# -- invalid input -----------------------------------------------------------------------


async def test_an_invalid_payload_is_refused_naming_the_fields(api: Api) -> None:
    """422 lists every offending field by its path, ``data.priority`` first among them."""
    document = structured(a_referral(api))
    document["data"]["priority"] = "whenever"
    del document["data"]["service"]

    response = await post_event(api.client, api.hospital, json.dumps(document).encode())

    body = problem(response, 422)
    fields = {error["field"] for error in body["errors"]}
    assert {"data.priority", "data.service"} <= fields
    assert all(error["message"] for error in body["errors"])
    await still_serves(api)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "(root)"),
        (b"[1, 2]", "(root)"),
        (b"", "(root)"),
    ],
)
async def test_a_body_that_is_not_an_event_object_is_refused(
    api: Api, body: bytes, field: str
) -> None:
    """Malformed JSON or a non-object body gets 422 naming the document root."""
    response = await post_event(api.client, api.hospital, body)

    assert [e["field"] for e in problem(response, 422)["errors"]] == [field]
    await still_serves(api)


async def test_an_envelope_missing_attributes_names_them(api: Api) -> None:
    """A CloudEvent without ``source`` and ``time`` gets 422 naming both."""
    document = structured(a_referral(api))
    del document["source"]
    del document["time"]

    response = await post_event(api.client, api.hospital, json.dumps(document).encode())

    assert {e["field"] for e in problem(response, 422)["errors"]} >= {"source", "time"}
    await still_serves(api)


async def test_an_unknown_event_type_is_a_bad_request(api: Api) -> None:
    """An event type the hub has no contract for gets 400."""
    document = structured(a_referral(api))
    document["type"] = "referral.teleported"
    document["dataschema"] = document["dataschema"].replace(
        "referral.requested", "referral.teleported"
    )

    response = await post_event(api.client, api.hospital, json.dumps(document).encode())

    assert "referral.teleported" in problem(response, 400)["detail"]
    await still_serves(api)


async def test_an_unknown_contract_version_is_a_bad_request(api: Api) -> None:
    """A dataschema naming v9 of a known type gets 400."""
    document = structured(a_referral(api))
    document["dataschema"] = document["dataschema"].replace("/v1.json", "/v9.json")

    response = await post_event(api.client, api.hospital, json.dumps(document).encode())

    assert "v9" in problem(response, 400)["detail"]
    await still_serves(api)


async def test_a_body_over_one_mib_is_too_large(api: Api) -> None:
    """A body declared over 1 MiB gets 413 before it is read."""
    body = b'{"pad": "' + b"x" * MIB + b'"}'

    response = await post_event(api.client, api.hospital, body)

    problem(response, 413)
    await still_serves(api)


async def test_a_streamed_body_over_one_mib_is_too_large(api: Api) -> None:
    """A chunked body without a length is cut off at 1 MiB with 413."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * (64 * 1024)

    response = await api.client.post(
        "/v1/events", content=chunks(), headers={**EVENT_HEADERS, **api.hospital.auth}
    )

    problem(response, 413)
    await still_serves(api)


def record_size(event: CloudEvent) -> int:
    record = to_kafka(event)
    return len(record.key) + len(record.value) + sum(len(k) + len(v) for k, v in record.headers)


def sized_referral(sender: Agency, recipient: Agency, consent: Any, size: int) -> CloudEvent:
    """A referral whose Kafka record is exactly ``size`` bytes, padded with evidence."""
    entry = EvidenceReference(
        evidence_id="ev-0000", kind=EvidenceKind.DOCUMENT, location="x" * 2000, sha256="a" * 64
    )
    one = record_size(referral_event(sender, recipient, consent, evidence=(entry,)))
    two = record_size(referral_event(sender, recipient, consent, evidence=(entry, entry)))
    count = (size - one - 10_000) // (two - one)
    evidence = tuple(entry.model_copy(update={"evidence_id": f"ev-{n:04}"}) for n in range(count))
    event = referral_event(sender, recipient, consent, evidence=evidence, narrative="n")
    padded = event.with_data({**event.data, "narrative": "n" * (1 + size - record_size(event))})
    assert record_size(padded) == size
    return padded


async def test_an_event_too_large_for_the_broker_is_refused(api: Api) -> None:
    """Under 1 MiB as a body but over the broker's budget as a record: 422, nothing queued,
    so it can never hold back the events accepted after it."""
    consent = consent_for(api)
    event = sized_referral(api.hospital, api.court, consent, MAX_RECORD_BYTES + 1)
    assert len(event.to_json()) <= MIB

    response = await post_event(api.client, api.hospital, event)

    assert [e["field"] for e in problem(response, 422)["errors"]] == ["(root)"]
    await still_serves(api)


async def test_the_largest_acceptable_event_goes_all_the_way(api: Api) -> None:
    """An event at the size limit is accepted and delivered whole, and events after it too."""
    consent = consent_payload(api.hospital, [scope(api.court, categories=DataCategory)])
    assert (await post_event(api.client, api.hospital, consent_event(consent))).status_code == 202
    largest = sized_referral(api.hospital, api.court, consent, MAX_RECORD_BYTES)
    after = referral_event(api.hospital, api.court, consent)

    assert (await post_event(api.client, api.hospital, largest)).status_code == 202
    assert (await post_event(api.client, api.hospital, after)).status_code == 202

    await wait_for_inbox(api.client, api.court, lambda e: e["id"] == after.id)
    (delivered,) = await wait_for_inbox(api.client, api.court, lambda e: e["id"] == largest.id)
    assert delivered["data"] == largest.data


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
async def test_a_body_that_is_not_cloudevents_json_is_unsupported(
    api: Api, content_type: str | None
) -> None:
    """Anything but a structured CloudEvent JSON content type gets 415."""
    headers = dict(api.hospital.auth)
    if content_type is not None:
        headers["content-type"] = content_type

    response = await api.client.post(
        "/v1/events", content=a_referral(api).to_json(), headers=headers
    )

    problem(response, 415)
    await still_serves(api)


# -- authentication and authorisation ----------------------------------------------------


@pytest.mark.parametrize(
    "authorization", [None, "Bearer not-a-token", "Bearer", "Basic dXNlcjpwYXNz", "tok"]
)
async def test_a_missing_or_bad_token_is_unauthorized(api: Api, authorization: str | None) -> None:
    """No bearer token, or one the hub does not know, gets 401 with a Bearer challenge."""
    headers = dict(EVENT_HEADERS)
    if authorization is not None:
        headers["authorization"] = authorization

    response = await api.client.post(
        "/v1/events", content=a_referral(api).to_json(), headers=headers
    )

    problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    await still_serves(api)


async def test_reading_needs_a_token_too(api: Api) -> None:
    """The inbox and the referral views answer 401 without a token."""
    for path in ("/v1/inbox", f"/v1/referrals/{uid('ref')}", f"/v1/consents/{uid('cns')}"):
        problem(await api.client.get(path), 401)


async def test_an_event_whose_source_is_not_the_caller_is_forbidden(api: Api) -> None:
    """The court cannot submit an event in the hospital's name."""
    response = await post_event(api.client, api.court, a_referral(api))

    problem(response, 403)
    await still_serves(api)


async def test_an_agency_cannot_issue_delivery_failed(api: Api) -> None:
    """``delivery.failed`` is the hub's own notice: an agency sending one gets 403."""
    payload = EXAMPLES[("delivery.failed", 1)]
    assert isinstance(payload, DeliveryFailedV1)
    notice = payload.model_copy(update={"referral_id": uid("ref")})
    event = new_event(notice, source=api.hospital.id)

    response = await post_event(api.client, api.hospital, event)

    assert "delivery.failed" in problem(response, 403)["detail"]
    await still_serves(api)


async def test_an_agency_cannot_issue_referral_overdue(api: Api) -> None:
    """``referral.overdue`` is the hub's own notice of a passed time limit: an agency gets 403."""
    notice = EXAMPLES[("referral.overdue", 1)].model_copy(
        update={"referral_id": uid("ref"), "from_agency": api.hospital.id}
    )
    event = new_event(notice, source=api.hospital.id)

    response = await post_event(api.client, api.hospital, event)

    assert "referral.overdue" in problem(response, 403)["detail"]
    await still_serves(api)


async def test_an_agency_cannot_mark_its_event_as_a_compelled_disclosure(api: Api) -> None:
    """The ``overrideid`` extension, which withdrawal cannot stop, is the hub's alone: 403."""
    document = structured(a_referral(api))
    document["overrideid"] = "claimed-by-agency"

    response = await post_event(api.client, api.hospital, json.dumps(document).encode())

    assert "overrideid" in problem(response, 403)["detail"]
    await still_serves(api)


async def test_an_extension_the_hub_does_not_define_is_refused_by_name(api: Api) -> None:
    """An extension outside the hub's own (a name, a phone) is refused with 422 naming it."""
    document = structured(a_referral(api))
    document["survivorname"] = "Salma Bennani"
    document["phone"] = "+212600000111"

    response = await post_event(api.client, api.hospital, json.dumps(document).encode())

    body = problem(response, 422)
    assert {error["field"] for error in body["errors"]} == {"survivorname", "phone"}
    assert "Salma" not in response.text
    await still_serves(api)


async def test_only_the_recording_agency_may_withdraw_a_consent(api: Api) -> None:
    """The court withdrawing the hospital's consent gets 403; the consent stays active."""
    consent = consent_for(api)
    assert (await post_event(api.client, api.hospital, consent_event(consent))).status_code == 202

    response = await post_event(api.client, api.court, withdrawal_event(consent, api.court))

    problem(response, 403)
    seen = await api.client.get(f"/v1/consents/{consent.consent_id}", headers=api.hospital.auth)
    assert seen.json()["status"] == "active"
    await still_serves(api)


async def test_a_consent_is_recorded_only_by_its_recording_agency(api: Api) -> None:
    """A consent naming another agency as recorder is refused with 403."""
    consent = consent_payload(api.court, [scope(api.shelter)])

    response = await post_event(
        api.client, api.hospital, new_event(consent, source=api.hospital.id)
    )

    problem(response, 403)
    await still_serves(api)


async def test_withdrawing_an_unknown_consent_names_the_field(api: Api) -> None:
    """Withdrawing a consent the hub never recorded gets 422 on ``data.consent_id``."""
    response = await post_event(api.client, api.hospital, withdrawal_event(consent_for(api)))

    assert [e["field"] for e in problem(response, 422)["errors"]] == ["data.consent_id"]
    await still_serves(api)


# -- reading referrals and consents ------------------------------------------------------


async def test_a_referral_is_visible_to_its_parties_only(api: Api) -> None:
    """Both parties see status and timeline; anyone else gets the same 404 as for no referral."""
    consent = consent_for(api)
    await post_event(api.client, api.hospital, consent_event(consent))
    referral = referral_event(api.hospital, api.court, consent)
    assert (await post_event(api.client, api.hospital, referral)).status_code == 202
    path = f"/v1/referrals/{referral.subject}"

    async def view(reader: Agency) -> httpx.Response:
        return await api.client.get(path, headers=reader.auth)

    seen = (await eventually(lambda: view(api.hospital), lambda r: r.status_code == 200)).json()
    assert seen["status"] == "requested"
    assert seen["from_agency"] == api.hospital.id
    assert seen["to_agency"] == api.court.id
    assert [entry["event_id"] for entry in seen["timeline"]] == [referral.id]
    assert seen["timeline"][0]["detail"]["delivered_to"] == [api.court.id]

    accepted = status_event(api.court, referral.subject, ReferralStatus.ACCEPTED)
    assert (await post_event(api.client, api.court, accepted)).status_code == 202
    later = await eventually(
        lambda: view(api.court), lambda r: r.status_code == 200 and r.json()["status"] == "accepted"
    )
    assert [e["status"] for e in later.json()["timeline"]] == ["requested", "accepted"]

    stranger = problem(await view(api.shelter), 404)
    unknown = problem(
        await api.client.get(f"/v1/referrals/{uid('ref')}", headers=api.shelter.auth), 404
    )
    assert stranger["title"] == unknown["title"]


async def test_a_consent_is_visible_to_its_recorder_and_its_recipients(api: Api) -> None:
    """The recording agency and the agencies that received data under it see the consent;
    others get 404."""
    consent = consent_for(api, api.court, api.shelter)
    assert (await post_event(api.client, api.hospital, consent_event(consent))).status_code == 202
    referral = referral_event(api.hospital, api.court, consent)
    assert (await post_event(api.client, api.hospital, referral)).status_code == 202
    await wait_for_inbox(api.client, api.court, lambda e: e["id"] == referral.id)
    path = f"/v1/consents/{consent.consent_id}"

    mine = await api.client.get(path, headers=api.hospital.auth)
    named = await api.client.get(path, headers=api.court.auth)

    assert mine.status_code == named.status_code == 200
    assert mine.json()["status"] == "active"
    assert [v["status"] for v in mine.json()["history"]] == ["active"]
    problem(await api.client.get(path, headers=api.shelter.auth), 404)


# -- the pull inbox ----------------------------------------------------------------------


async def test_the_inbox_pages_with_a_cursor_and_acknowledges(api: Api) -> None:
    """``after``/``limit`` page through the inbox; an ack removes the event from the listing."""
    consent = consent_for(api, api.reader)
    await post_event(api.client, api.hospital, consent_event(consent))
    sent = [referral_event(api.hospital, api.reader, consent) for _ in range(3)]
    for event in sent:
        assert (await post_event(api.client, api.hospital, event)).status_code == 202
    await wait_for_inbox(api.client, api.reader, lambda e: True, count=3)

    async def page(**params: Any) -> dict[str, Any]:
        response = await api.client.get("/v1/inbox", params=params, headers=api.reader.auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    first = await page(limit=2)
    rest = await page(after=first["next_after"], limit=2)
    end = await page(after=rest["next_after"])

    ids = [item["event"]["id"] for item in first["events"] + rest["events"]]
    assert sorted(ids) == sorted(e.id for e in sent)
    assert len(first["events"]) == 2
    assert first["next_after"] == first["events"][-1]["seq"]
    assert [item["event"]["id"] for item in rest["events"]] == ids[2:]
    assert end == {"events": [], "next_after": rest["next_after"]}
    assert all("identity" not in item["event"]["data"] for item in first["events"])

    acked = await api.client.post(f"/v1/inbox/{ids[0]}/ack", headers=api.reader.auth)
    assert acked.status_code == 200
    assert acked.json() == {"id": ids[0], "status": "acknowledged"}
    remaining = await page()
    assert [item["event"]["id"] for item in remaining["events"]] == ids[1:]
    again = await api.client.post(f"/v1/inbox/{ids[0]}/ack", headers=api.reader.auth)
    assert again.status_code == 200


async def test_acknowledging_an_unknown_event_is_not_found(api: Api) -> None:
    """An ack for an id not in the caller's inbox (unknown, or another's) gets 404."""
    unknown = await api.client.post(f"/v1/inbox/{uid('evt')}/ack", headers=api.reader.auth)
    problem(unknown, 404)

    consent = consent_for(api, api.court)
    await post_event(api.client, api.hospital, consent_event(consent))
    event = referral_event(api.hospital, api.court, consent)
    await post_event(api.client, api.hospital, event)
    await wait_for_inbox(api.client, api.court, lambda e: e["id"] == event.id)
    others = await api.client.post(f"/v1/inbox/{event.id}/ack", headers=api.hospital.auth)
    problem(others, 404)


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 501}, {"after": -1}, {"after": "x"}])
async def test_bad_inbox_parameters_are_refused(api: Api, params: dict[str, Any]) -> None:
    """Out-of-range cursors and page sizes get 422 naming the parameter."""
    response = await api.client.get("/v1/inbox", params=params, headers=api.reader.auth)

    body = problem(response, 422)
    assert any(next(iter(params)) in error["field"] for error in body["errors"])


# -- operations --------------------------------------------------------------------------


async def test_health_and_readiness(api: Api) -> None:
    """``/healthz`` answers while alive; ``/readyz`` checks the store and the broker."""
    health = await api.client.get("/healthz")
    ready = await api.client.get("/readyz")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"store": "ok", "broker": "ok"}}


async def test_metrics_are_prometheus_text_with_hub_metrics(api: Api) -> None:
    """``/metrics`` is the Prometheus text format and counts accepted events."""
    await still_serves(api)

    response = await api.client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'hub_events_accepted_total{type="referral.requested"}' in text
    assert "# TYPE hub_outbox_pending gauge" in text
    assert "hub_delivery_attempts" in text


async def test_the_api_documents_itself(api: Api) -> None:
    """OpenAPI JSON, Swagger UI and the AsyncAPI document (page and YAML) are served."""
    openapi = await api.client.get("/openapi.json")
    docs = await api.client.get("/docs")
    page = await api.client.get("/asyncapi")
    yaml_doc = await api.client.get("/asyncapi.yaml")

    assert openapi.status_code == 200
    paths = openapi.json()["paths"]
    assert {"/v1/events", "/v1/inbox", "/v1/referrals/{referral_id}"} <= set(paths)
    assert set(paths["/v1/events"]["post"]["responses"]) >= {"202", "401", "413", "415", "422"}
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "AsyncAPI" in page.text
    assert yaml_doc.status_code == 200
    assert yaml_doc.headers["content-type"].startswith("application/yaml")
    assert "asyncapi: 3.0" in yaml_doc.text


async def test_unknown_routes_and_methods_are_problems_too(api: Api) -> None:
    """A wrong path gets a 404 problem and a wrong method a 405 problem."""
    problem(await api.client.get("/v1/nothing-here"), 404)
    problem(await api.client.get("/v1/events", headers=api.hospital.auth), 405)
    await still_serves(api)


async def test_a_blocked_referral_still_gets_202_and_a_notice_later(api: Api) -> None:
    """Acceptance does not wait for routing: a referral without consent is accepted, then the
    referrer receives a ``delivery.failed`` notice saying consent is missing."""
    event = referral_event(api.hospital, api.shelter, consent_for(api, api.shelter))

    assert (await post_event(api.client, api.hospital, event)).status_code == 202

    (notice,) = await wait_for_inbox(
        api.client,
        api.hospital,
        lambda e: e["type"] == "delivery.failed" and e["data"]["failed_event_id"] == event.id,
    )
    assert notice["data"]["reason"] == FailureReason.CONSENT_MISSING.value
    assert notice["data"]["recipient"] == api.shelter.id
