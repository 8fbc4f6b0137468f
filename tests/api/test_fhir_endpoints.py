"""The FHIR endpoints over real HTTP: a uvicorn server on 127.0.0.1, an httpx client.

The app is the hub's API (``create_api``) plus the FHIR router, over a temporary
SQLite store; intake needs no broker. Referrals the router would have projected
are inserted into the store directly.
"""

from __future__ import annotations

import copy
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from fhir.resources.R4B.bundle import Bundle as R4Bundle
from pydantic import SecretStr

from hub.adapters import AdapterContext
from hub.adapters.directory import Directory
from hub.adapters.fhir import FhirVersion, decode_document
from hub.api import ApiContext, create_api
from hub.api.auth import TokenDirectory, hash_token
from hub.api.fhir import FHIR_JSON, create_router
from hub.audit import AuditRecorder, erase_subject
from hub.config import AgencyConfig
from hub.contracts import AgencyKind, default_registry, new_event
from hub.observability import HubMetrics
from hub.services.vault import unseal
from hub.store import ReferralRow, Store, audit, consents, disclosures, outbox, referrals
from tests.adapters.fhir_samples import (
    CONSENT_ID,
    COURT,
    HOSPITAL,
    SHELTER,
    message_bundle,
    referral_bundle,
    status_task,
)
from tests.support import EVENT_HEADERS, consent_payload, referral_payload, scope

pytestmark = pytest.mark.integration

TOKENS = {HOSPITAL: "rh_hospital-token", COURT: "rh_court-token", SHELTER: "rh_shelter-token"}
KINDS = {HOSPITAL: AgencyKind.HOSPITAL, COURT: AgencyKind.COURT, SHELTER: AgencyKind.SHELTER}
AT = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Server:
    url: str
    store: Store

    def client(self, agency: str | None = HOSPITAL) -> httpx.Client:
        headers = {"content-type": FHIR_JSON}
        if agency is not None:
            headers["authorization"] = f"Bearer {TOKENS[agency]}"
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The API with the FHIR router, served by uvicorn on a free local port."""
    store = Store.open(f"sqlite:///{tmp_path_factory.mktemp('fhir') / 'hub.db'}")
    agencies = {
        agency_id: AgencyConfig(
            id=agency_id,
            name=agency_id,
            kind=KINDS[agency_id],
            region="casablanca-settat",
            token_sha256=hash_token(token),
            aliases=("Organization/casa-court",) if agency_id == COURT else (),
        )
        for agency_id, token in TOKENS.items()
    }
    context = ApiContext(
        store=store,
        registry=default_registry(),
        agencies=agencies,
        tokens=TokenDirectory(store, agencies),
        metrics=HubMetrics.create(),
        audit=AuditRecorder(signer=None, checkpoint_every=10**9),
        directory=Directory(agencies.values()),
    )
    app = create_api(context)
    app.include_router(create_router(pseudonym_key=SecretStr("endpoint-test-key")))
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
        yield Server(f"http://127.0.0.1:{port}", store)
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        store.close()


def fresh_referral(version: str = "r4", *, grant: bool = False) -> tuple[dict[str, Any], str]:
    """A referral Bundle with ids of its own, and the referral id the hub gives it."""
    bundle = referral_bundle(version, grant=grant)
    local = f"sr-{uuid.uuid4().hex[:12]}"
    bundle["entry"][4]["resource"]["id"] = local
    consent = bundle["entry"][3]["resource"]
    consent["identifier"][0]["value"] = f"{CONSENT_ID}-{local}"
    return bundle, f"{HOSPITAL}:{local}"


def project(
    store: Store, *, status: str = "received", to_agency: str = COURT, delivered: bool = True
) -> str:
    """A referral as the router would have projected it (its request delivered, unless not)."""
    referral_id = f"ref-{uuid.uuid4().hex[:12]}"
    with store.transaction() as conn:
        referrals.insert_referrals(
            conn,
            [
                ReferralRow(
                    referral_id=referral_id,
                    from_agency=HOSPITAL,
                    to_agency=to_agency,
                    subject_id="sub_" + "c" * 32,
                    consent_id="cns-x",
                    service="court-listening-unit",
                    priority="urgent",
                    status=status,
                    due_by=AT,
                    pathway_step=None,
                    created_at=AT,
                    updated_at=AT,
                    version=1,
                )
            ],
        )
        if delivered:
            disclosures.record_many(
                conn,
                [
                    disclosures.DisclosureRow(
                        source=HOSPITAL,
                        event_id=f"evt-{referral_id}",
                        recipient=to_agency,
                        referral_id=referral_id,
                        consent_id="cns-x",
                        disclosed=["contact"],
                        withheld=[],
                        at=AT,
                    )
                ],
            )
    return referral_id


def queued_for(store: Store, subject: str) -> list[str]:
    """The types of the events waiting in the outbox about ``subject``."""
    with store.transaction() as conn:
        rows = outbox.pending(conn, limit=100_000)
    return [row.envelope["type"] for row in rows if row.key == subject]


def assert_outcome(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    """The error is an OperationOutcome, as FHIR JSON, with the expected status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issue = body["issue"][0]
    assert issue["severity"] == "error"
    assert issue["diagnostics"]
    if code is not None:
        assert issue["code"] == code
    return issue


# --- success ---


@pytest.mark.parametrize("version", ["r4", "r5"])
def test_a_referral_bundle_is_created_and_its_repost_is_idempotent(
    server: Server, version: str
) -> None:
    """201 with the Bundle and a Location; the same Bundle again is 200 and changes nothing."""
    bundle, referral_id = fresh_referral(version, grant=True)
    with server.client() as client:
        first = client.post(f"/fhir/{version}/Bundle", json=bundle)
        assert first.status_code == 201, first.text
        assert first.headers["content-type"].startswith(FHIR_JSON)
        assert first.headers["location"].startswith(f"/fhir/{version}/Bundle/")
        assert first.json()["resourceType"] == "Bundle"
        again = client.post(
            f"/fhir/{version}/Bundle", json=bundle, headers={"prefer": "return=OperationOutcome"}
        )
    assert again.status_code == 200
    assert again.json()["issue"][0]["severity"] == "information"
    diagnostics = again.json()["issue"][0]["diagnostics"]
    assert "consent.granted" in diagnostics
    assert "referral.requested" in diagnostics
    assert queued_for(server.store, referral_id) == ["referral.requested"]


def test_a_transaction_to_the_base_answers_a_transaction_response(server: Server) -> None:
    """POST [base] with a transaction: 200 and one response per entry, 201 then 200."""
    bundle, _ = fresh_referral("r5")
    with server.client() as client:
        first = client.post("/fhir/r5", json=bundle)
        again = client.post("/fhir/r5", json=bundle)
    for response, status in ((first, "201 Created"), (again, "200 OK")):
        assert response.status_code == 200
        body = response.json()
        assert body["type"] == "transaction-response"
        assert [e["response"]["status"] for e in body["entry"]] == [status] * len(bundle["entry"])


@pytest.mark.parametrize("bundle_type", ["transaction", "batch"])
def test_the_base_with_a_trailing_slash_takes_a_transaction_or_batch(
    server: Server, bundle_type: str
) -> None:
    """POST /fhir/r4/ (as fhirpy sends it) answers as the base does, not 404."""
    bundle, _ = fresh_referral("r4")
    bundle["type"] = bundle_type
    with server.client() as client:
        response = client.post("/fhir/r4/", json=bundle)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == f"{bundle_type}-response"
    assert {e["response"]["status"] for e in body["entry"]} == {"201 Created"}


def test_a_bundle_naming_the_recipient_by_an_alias_is_routed_to_it(server: Server) -> None:
    """An EHR's Organization/<id> for the court is the court's alias; an unknown one is 422."""
    bundle, referral_id = fresh_referral("r4")
    request, task = bundle["entry"][4]["resource"], bundle["entry"][5]["resource"]
    request["performer"] = [{"reference": "Organization/casa-court"}]
    task["owner"] = {"reference": "Organization/casa-court"}
    del bundle["entry"][1]  # the hub-identified court Organization
    with server.client() as client:
        response = client.post("/fhir/r4/", json=bundle)
        assert response.status_code == 200, response.text
        request["performer"] = [{"reference": "Organization/elsewhere"}]
        request["id"] = f"sr-{uuid.uuid4().hex[:12]}"
        refused = client.post("/fhir/r4", json=bundle)
    with server.store.transaction() as conn:
        rows = outbox.pending(conn, limit=100_000)
        queued = [unseal(conn, row.envelope) for row in rows if row.key == referral_id]
    assert [envelope["data"]["to_agency"] for envelope in queued] == [COURT]
    assert refused.status_code == 422, refused.text
    issue = refused.json()["issue"][0]
    assert "Organization/elsewhere" in issue["diagnostics"]
    assert issue["expression"] == ["Bundle.entry[3].resource(ServiceRequest).performer[0]"]


def test_a_bser_message_to_the_base_is_accepted(server: Server) -> None:
    """A message Bundle (MessageHeader first) is taken in; the answer is an OperationOutcome."""
    message = message_bundle("r4")
    message["entry"][2]["resource"]["id"] = f"sr-{uuid.uuid4().hex[:12]}"
    message["entry"][4]["resource"]["identifier"][0]["value"] = f"cns-{uuid.uuid4().hex[:8]}"
    with server.client() as client:
        response = client.post("/fhir/r4", json=message)
    assert response.status_code == 201, response.text
    assert response.json()["issue"][0]["code"] == "informational"


def _consent_id_of(bundle: dict[str, object]) -> str:
    entries = bundle["entry"]
    assert isinstance(entries, list)
    value = entries[3]["resource"]["identifier"][0]["value"]
    assert isinstance(value, str)
    return value


def test_a_transaction_whose_second_entry_is_refused_leaves_nothing_of_the_first(
    server: Server,
) -> None:
    """Consent accepted, then its referral refused: 409, and the consent is not kept either."""
    first, referral_id = fresh_referral("r4", grant=True)
    first["entry"][4]["resource"]["meta"] = {"versionId": "1"}
    with server.client() as client:
        assert client.post("/fhir/r4/Bundle", json=first).status_code == 201
    # The same referral version with other content, under a consent never seen
    # before: the consent entry is acceptable on its own, the referral a conflict.
    second = copy.deepcopy(first)
    second["entry"][3]["resource"]["identifier"][0]["value"] = f"{CONSENT_ID}-{uuid.uuid4().hex}"
    second["entry"][4]["resource"]["note"] = [{"text": "Other content under the same id."}]
    new_consent = _consent_id_of(second)
    with server.store.transaction() as conn:
        before = Counter(entry.action for entry in audit.entries(conn))

    with server.client() as client:
        assert_outcome(client.post("/fhir/r4/Bundle", json=second), 409, "conflict")

    with server.store.transaction() as conn:
        assert consents.get_consent(conn, new_consent) is None
        pending = outbox.pending(conn, limit=100_000)
        entries = audit.entries(conn)
    assert queued_for(server.store, referral_id) == ["referral.requested"]
    assert not [row for row in pending if row.key == new_consent]
    assert Counter(entry.action for entry in entries) - before == Counter(refused=1)


def test_a_task_update_is_accepted_and_a_repeat_changes_nothing(server: Server) -> None:
    """PUT Task/{id}: 200; the event is in the outbox once; the same PUT again is 200."""
    referral_id = project(server.store)
    task = status_task("r4", "accepted", referral_id=referral_id, task_id="t1")
    with server.client(COURT) as client:
        first = client.put("/fhir/r4/Task/t1", json=task)
        again = client.put("/fhir/r4/Task/t1", json=task, headers={"prefer": "return=minimal"})
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "accepted"
    assert again.status_code == 200
    assert again.content == b""


def test_a_task_put_needs_no_identifier_when_its_id_is_the_referral(server: Server) -> None:
    """The Tasks the hub shows have the referral id as id; the URL then names the referral."""
    referral_id = project(server.store)
    task = status_task("r5", "rejected", referral_id=referral_id, task_id=referral_id)
    task.pop("identifier")
    task.pop("focus")
    with server.client(COURT) as client:
        response = client.put(
            f"/fhir/r5/Task/{referral_id}", json=task, headers={"prefer": "return=OperationOutcome"}
        )
    assert response.status_code == 200, response.text
    assert "referral.status-changed" in response.json()["issue"][0]["diagnostics"]


def test_a_posted_task_with_an_outcome_is_created(server: Server) -> None:
    """POST Task: 201 for new events (status and outcome), 200 when sent again."""
    referral_id = project(server.store, status="in-progress")
    task = status_task("r4", "completed", referral_id=referral_id, outcome="case-opened")
    with server.client(COURT) as client:
        first = client.post(
            "/fhir/r4/Task", json=task, headers={"prefer": "return=OperationOutcome"}
        )
        again = client.post("/fhir/r4/Task", json=task)
    assert first.status_code == 201, first.text
    assert "referral.outcome-reported" in first.json()["issue"][0]["diagnostics"]
    assert first.headers["location"] == "/fhir/r4/Task/task-1"
    assert again.status_code == 200


def test_an_unchanged_status_is_no_event(server: Server) -> None:
    """A Task re-sent in the referral's current status makes no status event."""
    referral_id = project(server.store, status="accepted")
    task = status_task("r4", "accepted", referral_id=referral_id)
    with server.client(COURT) as client:
        response = client.put(
            "/fhir/r4/Task/task-1", json=task, headers={"prefer": "return=OperationOutcome"}
        )
    assert response.status_code == 200
    assert "no change" in response.json()["issue"][0]["diagnostics"]


# --- search ---


def test_task_search_shows_only_the_callers_referrals(server: Server) -> None:
    """GET Task: a searchset of Tasks the caller is party to, filtered by owner and status."""
    mine = project(server.store, status="received", to_agency=COURT)
    other = project(server.store, status="received", to_agency=SHELTER)
    with server.client(COURT) as client:
        found = client.get("/fhir/r4/Task", params={"owner": COURT, "status": "received,accepted"})
        by_token = client.get("/fhir/r4/Task", params={"owner": f"Organization/{COURT}"})
        none = client.get("/fhir/r4/Task", params={"status": "cancelled", "_count": 5})
    assert found.status_code == 200
    bundle = found.json()
    R4Bundle.model_validate(bundle)
    ids = [e["resource"]["identifier"][0]["value"] for e in bundle["entry"]]
    assert mine in ids
    assert other not in ids
    assert bundle["type"] == "searchset"
    assert bundle["total"] == len(ids)
    task = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == mine)
    assert (task["status"], task["owner"]["identifier"]["value"]) == ("received", COURT)
    assert mine in [e["resource"]["id"] for e in by_token.json()["entry"]]
    assert all(e["resource"]["status"] == "cancelled" for e in none.json()["entry"])
    with server.client(SHELTER) as client:
        theirs = client.get("/fhir/r5/Task").json()
    shelter_ids = [e["resource"]["id"] for e in theirs["entry"]]
    assert other in shelter_ids
    assert mine not in shelter_ids


# --- errors: an OperationOutcome every time ---


def test_unparseable_json_is_400(server: Server) -> None:
    with server.client() as client:
        response = client.post("/fhir/r4/Bundle", content=b"{not json")
    assert_outcome(response, 400, "structure")


def test_the_wrong_resource_for_the_endpoint_is_400(server: Server) -> None:
    bundle, _ = fresh_referral()
    with server.client() as client:
        response = client.post("/fhir/r4/Task", json=bundle)
    assert_outcome(response, 400, "invalid")


def test_a_task_id_other_than_the_urls_is_400(server: Server) -> None:
    task = status_task("r4", "accepted", referral_id=project(server.store), task_id="a")
    with server.client(COURT) as client:
        response = client.put("/fhir/r4/Task/b", json=task)
    assert_outcome(response, 400)


@pytest.mark.parametrize("token", [None, "rh_not-a-token"])
def test_a_missing_or_invalid_token_is_401(server: Server, token: str | None) -> None:
    bundle, _ = fresh_referral()
    headers = {"content-type": FHIR_JSON}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    response = httpx.post(f"{server.url}/fhir/r4/Bundle", json=bundle, headers=headers)
    assert_outcome(response, 401, "login")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_referral_from_another_agency_is_403(server: Server) -> None:
    """The court cannot send the hospital's referral: not its own agency."""
    bundle, _ = fresh_referral()
    with server.client(COURT) as client:
        response = client.post("/fhir/r4/Bundle", json=bundle)
    assert_outcome(response, 403, "forbidden")


def test_a_consent_recorded_by_another_agency_is_403(server: Server) -> None:
    """accept_event's own authorisation answers through the same OperationOutcome."""
    bundle, _ = fresh_referral(grant=True)
    bundle["entry"][3]["resource"]["organization"] = [{"reference": bundle["entry"][1]["fullUrl"]}]
    with server.client() as client:
        response = client.post("/fhir/r4/Bundle", json=bundle)
    assert_outcome(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/fhir/r4/Patient/1"),
        ("POST", "/fhir/r3/Task"),
        ("DELETE", "/fhir/r4/Task/1"),
        ("GET", "/fhir/r4/Task/1"),
    ],
)
def test_unknown_interactions_and_versions_are_404(server: Server, method: str, path: str) -> None:
    with server.client() as client:
        response = client.request(method, path, json={"resourceType": "Task"})
    assert_outcome(response, 404, "not-found")


def test_an_update_of_an_unknown_or_foreign_referral_is_404(server: Server) -> None:
    """Unknown and not-a-party look alike, so referral ids cannot be probed."""
    unknown = status_task("r4", "accepted", referral_id="ref-nowhere")
    foreign = status_task("r4", "accepted", referral_id=project(server.store, to_agency=SHELTER))
    with server.client(COURT) as client:
        assert_outcome(client.put("/fhir/r4/Task/task-1", json=unknown), 404, "not-found")
        assert_outcome(client.put("/fhir/r4/Task/task-1", json=foreign), 404, "not-found")


def test_a_body_over_one_mebibyte_is_413(server: Server) -> None:
    body = b'{"resourceType": "Bundle", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    with server.client() as client:
        response = client.post("/fhir/r4/Bundle", content=body)
    assert_outcome(response, 413)


def test_a_body_that_is_not_fhir_json_is_415(server: Server) -> None:
    with server.client() as client:
        response = client.post(
            "/fhir/r4/Bundle",
            content=b"<Bundle/>",
            headers={"content-type": "application/fhir+xml"},
        )
    assert_outcome(response, 415, "not-supported")


def test_unprocessable_content_is_422_with_the_element_path(server: Server) -> None:
    """An unsupported resource is named by its entry in OperationOutcome.issue.expression."""
    bundle, _ = fresh_referral()
    bundle["entry"].insert(2, {"resource": {"resourceType": "Observation", "status": "final"}})
    with server.client() as client:
        response = client.post("/fhir/r4/Bundle", json=bundle)
    issue = assert_outcome(response, 422, "processing")
    assert issue["expression"] == ["Bundle.entry[2].resource(Observation)"]


def test_the_same_version_with_other_content_is_409(server: Server) -> None:
    """One Task version, two contents: the second is a conflict, not a silent overwrite."""
    referral_id = project(server.store)
    task = status_task("r4", "accepted", referral_id=referral_id, meta={"versionId": "7"})
    changed = copy.deepcopy(task)
    changed["businessStatus"] = {"text": "waiting-list"}
    with server.client(COURT) as client:
        assert client.put("/fhir/r4/Task/task-1", json=task).status_code == 200
        assert_outcome(client.put("/fhir/r4/Task/task-1", json=changed), 409, "conflict")


def test_an_invalid_search_status_is_400(server: Server) -> None:
    with server.client() as client:
        assert_outcome(client.get("/fhir/r4/Task", params={"status": "lost"}), 400, "value")


def test_the_v1_api_still_answers_problem_json(server: Server) -> None:
    """Only /fhir answers OperationOutcomes; /v1 keeps its problem details."""
    response = httpx.get(f"{server.url}/v1/referrals/x")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_a_repost_without_timestamps_is_still_idempotent(server: Server) -> None:
    """Events stamped by the clock (no time in the resource) are the same event when re-sent."""
    bundle, _ = fresh_referral()
    for item in bundle["entry"]:
        item["resource"].pop("authoredOn", None)
    with server.client() as client:
        assert client.post("/fhir/r4/Bundle", json=bundle).status_code == 201
        time.sleep(0.01)
        assert client.post("/fhir/r4/Bundle", json=bundle).status_code == 200


def test_an_accepted_event_is_in_the_outbox(server: Server) -> None:
    """What the endpoint accepts is committed to the outbox, as POST /v1/events does."""
    referral_id = project(server.store)
    task = status_task("r4", "in-progress", referral_id=referral_id, task_id="t-outbox")
    with server.client(COURT) as client:
        response = client.put("/fhir/r4/Task/t-outbox", json=task)
    assert response.status_code == 200
    assert queued_for(server.store, referral_id) == ["referral.status-changed"]


def test_acceptances_and_refusals_are_audited(server: Server) -> None:
    """FHIR intake leaves the same audit trail as POST /v1/events."""
    bundle, referral_id = fresh_referral()
    with server.client() as client:
        assert client.post("/fhir/r4/Bundle", json=bundle).status_code == 201
    with server.client(SHELTER) as client:
        assert client.post("/fhir/r4/Bundle", json=bundle).status_code == 403
    with server.store.transaction() as conn:
        accepted = audit.entries(conn, referral_id=referral_id)
        refused = [e for e in audit.entries(conn) if e.action == "refused" and e.actor == SHELTER]
    assert [entry.action for entry in accepted] == ["accepted"]
    assert refused
    assert refused[-1].details["reason"] == "forbidden"


def test_an_erased_subject_is_answered_alike_on_v1_and_fhir(server: Server) -> None:
    """An event about an erased subject gets 410 on /v1/events and /fhir, each refusal audited."""
    bundle, _ = fresh_referral()
    context = AdapterContext(pseudonym_key=b"endpoint-test-key", source=HOSPITAL)
    decoded = decode_document(bundle, declared=FhirVersion.R4, context=context)
    subject = next(e.data["subject_id"] for e in decoded if e.type == "referral.requested")
    with server.store.transaction() as conn:
        erase_subject(conn, AuditRecorder(signer=None), subject, "operator", datetime.now(UTC))
    consent = consent_payload(HOSPITAL, [scope(AgencyKind.COURT)], subject=subject)
    event = new_event(
        referral_payload(HOSPITAL, COURT, consent), source=HOSPITAL, consent_id=consent.consent_id
    )
    with server.client() as client:
        on_fhir = client.post("/fhir/r4/Bundle", json=bundle)
        on_v1 = client.post("/v1/events", content=event.to_json(), headers=EVENT_HEADERS)
        metrics = client.get("/metrics").text
    assert_outcome(on_fhir, 410, "deleted")
    assert on_v1.status_code == 410, on_v1.text
    assert on_v1.json()["title"] == "Gone"
    with server.store.transaction() as conn:
        reasons = [
            e.details["reason"]
            for e in audit.entries(conn)
            if e.action == "refused" and e.actor == HOSPITAL
        ]
    assert reasons.count("erased") >= 2
    assert 'hub_events_refused_total{reason="erased"}' in metrics
