"""FHIR endpoints for hospitals: ``/fhir/{r4|r5}/...``, answered as a FHIR server answers.

A hospital's FHIR client submits what its system already produces (a referral
Bundle, a Task update) and polls its Tasks; the FHIR adapter translates, and
the decoded events go through the same intake as ``POST /v1/events``: contract
validation, ``source`` = the authenticated agency, event-id idempotency. Every
answer is ``application/fhir+json``, and every error an OperationOutcome with
the status a FHIR client expects (400 unreadable, 401, 403, 404, 405, 409, 410,
413, 415, 422 with the element path, 503), never the problem+json of ``/v1``. A
hub error answers as ``hub.api.answers`` says, with the same status as on ``/v1``.

The pseudonym key arrives through :func:`create_router`, never from a global.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import SecretStr
from starlette.exceptions import HTTPException

from hub.adapters import AdapterContext
from hub.adapters.fhir import MAX_INPUT_BYTES, FhirVersion, decode_document, read_document
from hub.adapters.fhir.mapping import AGENCY_SYSTEM, REFERRAL_SYSTEM
from hub.adapters.fhir.responses import (
    TaskView,
    operation_outcome,
    searchset,
    task_resource,
    transaction_response,
)
from hub.api.answers import answer_for
from hub.api.context import ApiContext, Caller, Hub
from hub.api.problems import ProblemError
from hub.api.refusals import note_refusal
from hub.contracts import CloudEvent, ReferralStatus
from hub.errors import (
    AccessDenied,
    AdapterError,
    HubError,
)
from hub.services.intake import Refused, Submission, accept_all, vet
from hub.store import outbox, visibility
from hub.store.referrals import ReferralRow

__all__ = ["FHIR_JSON", "create_router"]

FHIR_JSON = "application/fhir+json"
_ACCEPTED_TYPES = (FHIR_JSON, "application/json")
_SEARCH_WINDOW = 1000
_UPDATE_TYPES = frozenset({"referral.status-changed", "referral.outcome-reported"})


class FhirError(Exception):
    """Raised in a FHIR route to answer with an OperationOutcome."""

    def __init__(
        self, status: int, code: str, diagnostics: str, *, expression: str | None = None
    ) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.expression = expression


def fhir_response(
    body: dict[str, Any] | None, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    if body is None:
        return Response(status_code=status, headers=headers, media_type=FHIR_JSON)
    return JSONResponse(body, status_code=status, headers=headers, media_type=FHIR_JSON)


def _outcome(error: FhirError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
    body = operation_outcome(error.code, error.diagnostics, expression=error.expression)
    return fhir_response(body, error.status, headers)


def _translate(exc: Exception) -> FhirError:
    """Every failure a FHIR route can meet, as the OperationOutcome it answers with."""
    match exc:
        case FhirError():
            return exc
        case ProblemError():
            code = {401: "login", 403: "forbidden", 404: "not-found"}.get(exc.status, "processing")
            return FhirError(exc.status, code, exc.detail)
        case HubError():
            answer = answer_for(exc)
            if isinstance(exc, AdapterError):
                return FhirError(answer.status, answer.fhir_code, exc.reason, expression=exc.path)
            return FhirError(answer.status, answer.fhir_code, answer.detail_for(exc))
        case RequestValidationError():
            return FhirError(400, "invalid", "the request parameters are invalid")
        case HTTPException():
            return FhirError(exc.status_code, "processing", str(exc.detail))
    return FhirError(500, "exception", "the hub could not handle this request")


class _FhirRoute(APIRoute):
    """Answers every error of its routes as an OperationOutcome.

    The app-wide handlers answer problem+json, which a FHIR client cannot read;
    this runs inside the route, before they see anything, dependencies (the
    bearer token) included.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handle(request)
            except Exception as exc:
                # The FHIR client gets an OperationOutcome whatever went wrong;
                # _translate keeps the status each kind of failure deserves.
                return _outcome(_translate(exc))

        return route


@dataclass(frozen=True)
class _Taken:
    """The events a document gave, and those of them the hub had not seen before."""

    events: tuple[CloudEvent, ...]
    new: tuple[CloudEvent, ...]

    @property
    def created(self) -> bool:
        return bool(self.new)


def create_router(*, pseudonym_key: SecretStr | bytes) -> APIRouter:
    """The FHIR router; ``pseudonym_key`` keys patients' subject ids (settings' own)."""
    key = (
        pseudonym_key.get_secret_value().encode()
        if isinstance(pseudonym_key, SecretStr)
        else pseudonym_key
    )
    router = APIRouter(tags=["fhir"], route_class=_FhirRoute)

    async def take_in(
        request: Request,
        hub: ApiContext,
        caller: str,
        version: FhirVersion,
        *,
        root: str,
        task_id: str | None = None,
    ) -> tuple[dict[str, Any], _Taken]:
        _require_json(request)
        body = await _read_limited(request)
        context = AdapterContext(
            pseudonym_key=key,
            source=caller,
            registry=hub.registry,
            clock=hub.clock,
            directory=hub.directory,
        )

        def work() -> tuple[dict[str, Any], _Taken]:
            document = read_document(body)
            kind = document.get("resourceType")
            if kind != root:
                shown = str(kind)[:64]
                raise FhirError(
                    400,
                    "invalid",
                    f"this endpoint takes a {root}, not {shown}",
                    expression="resourceType",
                )
            if task_id is not None:
                if document.get("id") != task_id:
                    raise FhirError(
                        400, "invalid", "Task.id must equal the id in the URL", expression="Task.id"
                    )
                _name_referral(hub, caller, document, task_id)
            try:
                events = decode_document(document, declared=version, context=context)
            except HubError as exc:
                note_refusal(hub, caller, exc, None)
                raise
            return document, _accept(hub, caller, events)

        document, taken = await asyncio.to_thread(work)
        for event in taken.new:
            hub.metrics.accepted.labels(event.type).inc()
        if taken.new:
            hub.on_accepted()
        return document, taken

    @router.post("/fhir/{version}", summary="A transaction, batch or message Bundle")
    # FHIR clients (fhirpy among them) post to the base with its trailing slash.
    @router.post("/fhir/{version}/", include_in_schema=False)
    async def post_base(version: str, request: Request, hub: Hub, caller: Caller) -> Response:
        fhir_version = _version(version)
        document, taken = await take_in(request, hub, caller, fhir_version, root="Bundle")
        bundle_type = str(document.get("type"))
        entries = document.get("entry")
        count = len(entries) if isinstance(entries, list) else 0
        if bundle_type in {"transaction", "batch"}:
            return fhir_response(transaction_response(bundle_type, count, created=taken.created))
        return fhir_response(_accepted(taken), 201 if taken.created else 200)

    @router.post("/fhir/{version}/Bundle", summary="Submit a referral Bundle")
    async def post_bundle(version: str, request: Request, hub: Hub, caller: Caller) -> Response:
        fhir_version = _version(version)
        document, taken = await take_in(request, hub, caller, fhir_version, root="Bundle")
        return _created(request, fhir_version, "Bundle", document, taken)

    @router.post("/fhir/{version}/Task", summary="Submit a Task")
    async def post_task(version: str, request: Request, hub: Hub, caller: Caller) -> Response:
        fhir_version = _version(version)
        document, taken = await take_in(request, hub, caller, fhir_version, root="Task")
        return _created(request, fhir_version, "Task", document, taken)

    @router.put("/fhir/{version}/Task/{task_id}", summary="Update a Task (its status)")
    async def put_task(
        version: str, task_id: str, request: Request, hub: Hub, caller: Caller
    ) -> Response:
        fhir_version = _version(version)
        document, taken = await take_in(
            request, hub, caller, fhir_version, root="Task", task_id=task_id
        )
        return _representation(request, document, taken, 200, {})

    @router.get("/fhir/{version}/Task", summary="Search the Tasks of the caller's referrals")
    async def search_tasks(
        version: str,
        request: Request,
        hub: Hub,
        caller: Caller,
        owner: Annotated[
            str | None, Query(description="Agency id, Organization/<id>, or token")
        ] = None,
        status: Annotated[
            str | None, Query(description="Task status codes, comma-separated")
        ] = None,
        count: Annotated[int, Query(alias="_count", ge=1, le=500)] = 100,
    ) -> Response:
        _version(version)
        owners = _owners(owner)
        statuses = _statuses(status)

        def read() -> list[ReferralRow]:
            with hub.store.transaction() as conn:
                return visibility.referrals_seen_by(conn, caller, limit=_SEARCH_WINDOW)

        rows = [
            row
            for row in await asyncio.to_thread(read)
            if (owners is None or row.to_agency in owners)
            and (statuses is None or row.status in statuses)
        ]
        tasks = [task_resource(_view(row)) for row in rows[:count]]
        base = str(request.base_url).rstrip("/") + f"/fhir/{version}"
        return fhir_response(searchset(base, str(request.url), tasks, len(rows)))

    @router.api_route(
        "/fhir/{rest:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
        include_in_schema=False,
    )
    async def unsupported(rest: str, request: Request) -> Response:
        raise FhirError(
            404,
            "not-found",
            f"{request.method} /fhir/{rest[:200]} is not an interaction this hub offers",
        )

    return router


def _version(text: str) -> FhirVersion:
    try:
        return FhirVersion(text)
    except ValueError:
        raise FhirError(
            404, "not-found", f"no FHIR version {text[:20]!r} here; use r4 or r5"
        ) from None


def _require_json(request: Request) -> None:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in _ACCEPTED_TYPES:
        raise FhirError(415, "not-supported", f"send FHIR JSON as {' or '.join(_ACCEPTED_TYPES)}")


async def _read_limited(request: Request) -> bytes:
    too_large = FhirError(413, "too-costly", f"the limit is {MAX_INPUT_BYTES} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_INPUT_BYTES:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_INPUT_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _name_referral(hub: ApiContext, caller: str, document: dict[str, Any], task_id: str) -> None:
    """Give a PUT Task the hub's referral identifier when only its URL names the referral.

    The Tasks the hub shows (search) have the referral id, or a uuid5 of it,
    as their id; a hospital updating one need not repeat the identifier.
    """
    identifiers = document.get("identifier")
    listed = identifiers if isinstance(identifiers, list) else []
    if any(isinstance(i, dict) and i.get("system") == REFERRAL_SYSTEM for i in listed):
        return
    with hub.store.transaction() as conn:
        row = visibility.referral_seen_by(conn, task_id, caller)
        if row is None:
            row = next(
                (
                    candidate
                    for candidate in visibility.referrals_seen_by(
                        conn, caller, limit=_SEARCH_WINDOW
                    )
                    if _view(candidate).task_id == task_id
                ),
                None,
            )
    if row is not None:
        document["identifier"] = [*listed, {"system": REFERRAL_SYSTEM, "value": row.referral_id}]


def _accept(hub: ApiContext, caller: str, events: Sequence[CloudEvent]) -> _Taken:
    """Authorise every event first, then accept them all in one transaction, or none."""
    submissions = []
    for event in _authorised(hub, caller, events):
        event = _same_event_again(hub, event)
        try:
            submissions.append(Submission(event, vet(hub.registry, event, caller), caller))
        except HubError as exc:
            note_refusal(hub, caller, exc, event)
            raise
    try:
        acceptances = accept_all(hub.store, submissions, now=hub.clock(), audit=hub.audit)
    except Refused as refused:
        # Audited outside the rolled-back transaction, which took nothing with it.
        note_refusal(hub, caller, refused.error, refused.event)
        raise refused.error from None
    accepted = tuple(submission.event for submission in submissions)
    new = tuple(
        submission.event
        for submission, acceptance in zip(submissions, acceptances, strict=True)
        if acceptance.created
    )
    return _Taken(accepted, new)


def _authorised(hub: ApiContext, caller: str, events: Sequence[CloudEvent]) -> list[CloudEvent]:
    kept = []
    denied: tuple[AccessDenied, CloudEvent] | None = None
    with hub.store.transaction() as conn:
        for event in events:
            hub.registry.parse(event)
            if event.type == "referral.requested" and event.data.get("from_agency") != caller:
                reason = (
                    f"{caller} may send only its own referrals, not one from "
                    f"{event.data.get('from_agency')}"
                )
                denied = (AccessDenied(reason), event)
                break
            if event.type not in _UPDATE_TYPES:
                kept.append(event)
                continue
            row = visibility.referral_seen_by(conn, event.subject, caller)
            if row is None:
                # Not a party, a recipient it never reached, and unknown look alike.
                raise FhirError(
                    404, "not-found", f"no referral {event.subject} visible to {caller}"
                )
            if event.type == "referral.status-changed" and event.data.get("status") == row.status:
                continue  # the Task was sent again, or only its other elements changed
            kept.append(event)
    if denied is not None:
        # Audited outside the read transaction: the store's transactions do not nest.
        note_refusal(hub, caller, *denied)
        raise denied[0]
    return kept


def _same_event_again(hub: ApiContext, event: CloudEvent) -> CloudEvent:
    """The event with the ``time`` it was first accepted with, when it is a repetition.

    A resource without timestamps gets the clock's time when decoded; sent
    again, it must still be the same event, not a conflict. Only the readable
    attributes are compared here (stored payloads may be sealed): accept_event
    then compares the payload itself, and refuses one that differs.
    """
    with hub.store.transaction() as conn:
        existing = outbox.get(conn, event.source, event.id)
    if existing is None:
        return event
    stored = {k: v for k, v in existing.envelope.items() if k not in {"time", "data"}}
    again = {k: v for k, v in event.structured().items() if k not in {"time", "data"}}
    if stored != again or not isinstance(existing.envelope.get("time"), str):
        return event
    return CloudEvent.model_validate({**event.structured(), "time": existing.envelope["time"]})


def _accepted(taken: _Taken) -> dict[str, Any]:
    # The subject tells the sender the hub's referral (or consent) id.
    listed = ", ".join(f"{e.type} {e.id} about {e.subject}" for e in taken.events) or "no change"
    return operation_outcome("informational", f"accepted: {listed}", severity="information")


def _created(
    request: Request,
    version: FhirVersion,
    kind: str,
    document: dict[str, Any],
    taken: _Taken,
) -> Response:
    resource_id = document.get("id") or (taken.events[0].id if taken.events else None)
    headers = {}
    if isinstance(resource_id, str):
        document["id"] = resource_id
        headers["Location"] = f"/fhir/{version.value}/{kind}/{resource_id}"
    return _representation(request, document, taken, 201 if taken.created else 200, headers)


def _representation(
    request: Request,
    document: dict[str, Any],
    taken: _Taken,
    status: int,
    headers: dict[str, str],
) -> Response:
    """The body the client's ``Prefer: return=`` asks for; the resource by default."""
    prefer = request.headers.get("prefer", "").replace(" ", "").lower()
    if "return=minimal" in prefer:
        return fhir_response(None, status, headers)
    if "return=operationoutcome" in prefer:
        return fhir_response(_accepted(taken), status, headers)
    return fhir_response(document, status, headers)


def _owners(owner: str | None) -> set[str] | None:
    if owner is None:
        return None
    found = set()
    for item in owner.split(","):
        value = item.strip()
        value = value.removeprefix("Organization/").removeprefix(f"{AGENCY_SYSTEM}|")
        if value:
            found.add(value)
    return found


def _statuses(status: str | None) -> set[str] | None:
    if status is None:
        return None
    found = {item.strip() for item in status.split(",") if item.strip()}
    unknown = found - {s.value for s in ReferralStatus}
    if unknown:
        raise FhirError(
            400, "value", f"unknown Task status {sorted(unknown)[0]!r}", expression="status"
        )
    return found


def _view(row: ReferralRow) -> TaskView:
    return TaskView(
        referral_id=row.referral_id,
        status=row.status,
        priority=row.priority,
        from_agency=row.from_agency,
        to_agency=row.to_agency,
        subject_id=row.subject_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        due_by=row.due_by,
        version=row.version,
    )
