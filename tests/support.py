"""Helpers shared by the pipeline tests: agencies, tokens, events, a running hub, a webhook.

Every helper draws random ids, so tests sharing one broker (and, within a module,
one running hub) never see each other's referrals, consents or inboxes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx

from hub.config import HubSettings, load_settings
from hub.contracts import AgencyKind, CloudEvent, DataCategory, Purpose, ServiceCode, new_event
from hub.contracts.events import (
    ConsentGrantedV1,
    ConsentScope,
    ConsentWithdrawnV1,
    EventPayload,
    GrantedBy,
    OutcomeCode,
    OutcomeDomain,
    Priority,
    ReferralOutcomeReportedV1,
    ReferralRequestedV1,
    ReferralRequestedV2,
    ReferralRequestedV3,
    ReferralStatusChangedV1,
)
from hub.contracts.examples import EXAMPLES
from hub.contracts.status import ReferralStatus
from hub.delivery.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from hub.runtime.server import RunningHub, running_hub
from hub.store import Store
from tests.apache_kafka import engine_of

__all__ = [
    "EVENT_HEADERS",
    "Agency",
    "HubUnderTest",
    "Received",
    "WebhookReceiver",
    "agency",
    "consent_event",
    "consent_payload",
    "eventually",
    "hub_settings",
    "inbox_events",
    "outcome_event",
    "post_event",
    "referral_event",
    "referral_payload",
    "scope",
    "started_hub",
    "status_event",
    "subject_id",
    "token_hash",
    "uid",
    "wait_for_inbox",
    "withdrawal_event",
]

T = TypeVar("T")

#: Content type of a structured CloudEvent body.
EVENT_HEADERS = {"content-type": "application/cloudevents+json"}


def uid(prefix: str) -> str:
    """A random id that is also a valid agency slug: ``prefix-<10 hex>``."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def subject_id() -> str:
    return "sub_" + uuid.uuid4().hex


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- agencies and settings ---------------------------------------------------------------


@dataclass(frozen=True)
class Agency:
    """An agency as a test sees it: its id, kind and bearer token."""

    id: str
    kind: AgencyKind
    token: str
    delivery: dict[str, Any] = field(default_factory=lambda: {"mode": "pull"})
    accepts: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    def config(self) -> dict[str, Any]:
        """The agency's entry in ``HubSettings.agencies``."""
        return {
            "id": self.id,
            "name": f"Test agency {self.id}",
            "kind": self.kind.value,
            "region": "test-region",
            "token_sha256": token_hash(self.token),
            "delivery": self.delivery,
            "accepts": {key: list(value) for key, value in self.accepts.items()},
        }


def agency(
    kind: AgencyKind | str,
    *,
    delivery: dict[str, Any] | None = None,
    accepts: dict[str, tuple[int, ...]] | None = None,
) -> Agency:
    """An agency of ``kind`` with a random id and token, pulling its inbox by default."""
    kind = AgencyKind(kind)
    return Agency(
        id=uid(kind.value[:8].strip("-")),
        kind=kind,
        token="tok-" + uuid.uuid4().hex,
        delivery=delivery or {"mode": "pull"},
        accepts=accepts or {},
    )


def kafka_client_settings(kafka_engine: str) -> dict[str, Any]:
    """Hub settings that differ between the test brokers.

    Tansu refuses the idempotent producer and holds every JoinGroup for half the
    session timeout, so its tests run plain producers and 2 s sessions. Apache
    Kafka runs the idempotent producer, as in production, and refuses sessions
    shorter than its ``group.min.session.timeout.ms`` (6 s).
    """
    if kafka_engine == "apache":
        return {"consumer_session_timeout_ms": 6000, "kafka_idempotent_producer": True}
    if kafka_engine == "tansu":
        return {"consumer_session_timeout_ms": 2000, "kafka_idempotent_producer": False}
    raise ValueError(f"unknown Kafka engine {kafka_engine!r}")


def group_timings(kafka_engine: str) -> dict[str, Any]:
    """aiokafka consumer options for a group that forms quickly on ``kafka_engine``."""
    session_ms = int(kafka_client_settings(kafka_engine)["consumer_session_timeout_ms"])
    return {"session_timeout_ms": session_ms, "heartbeat_interval_ms": session_ms // 4}


def hub_settings(
    directory: Path,
    agencies: Iterable[Agency],
    *,
    kafka_bootstrap: str | None = None,
    kafka_engine: str | None = None,
    **overrides: Any,
) -> HubSettings:
    """Settings for a hub under test: a SQLite file in ``directory``, any free HTTP port.

    With ``kafka_bootstrap`` set the hub uses that broker as it would an external
    Kafka; ``kafka_engine`` (``tansu`` or ``apache``, by default the one serving
    ``kafka_bootstrap``) picks the producer and group timings that broker takes
    (see :func:`kafka_client_settings`). Retries are fast.
    """
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{directory / 'hub.db'}",
        "http_port": 0,
        "log_format": "console",
        "pseudonym_key": "test-pseudonym-key-" + uuid.uuid4().hex,
        "ingress_partitions": 2,
        "inbox_partitions": 1,
        "delivery": {
            "max_attempts": 3,
            "backoff_initial_s": 0.05,
            "backoff_max_s": 0.2,
            "timeout_s": 2.0,
        },
        "agencies": [a.config() for a in agencies],
    }
    if kafka_bootstrap is not None:
        engine = kafka_engine or engine_of(kafka_bootstrap)
        values |= {"kafka_bootstrap": kafka_bootstrap} | kafka_client_settings(engine)
    values |= overrides
    return load_settings(None, **values)


# -- payloads and events -----------------------------------------------------------------


def scope(
    recipient: Agency | AgencyKind,
    purposes: Iterable[Purpose] = (Purpose.JUSTICE,),
    categories: Iterable[DataCategory] = (),
) -> ConsentScope:
    """One scope entry naming an agency (by id) or every agency of a kind."""
    if isinstance(recipient, Agency):
        return ConsentScope(
            recipient_agency=recipient.id,
            purposes=tuple(purposes),
            categories=tuple(categories),
        )
    return ConsentScope(
        recipient_kind=recipient, purposes=tuple(purposes), categories=tuple(categories)
    )


def consent_payload(
    recorded_by: Agency | str,
    scopes: Iterable[ConsentScope],
    *,
    consent_id: str | None = None,
    subject: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> ConsentGrantedV1:
    """A consent granted now, valid for a day, unless told otherwise."""
    now = datetime.now(UTC)
    return ConsentGrantedV1(
        consent_id=consent_id or uid("cns"),
        subject_id=subject or subject_id(),
        recorded_by=recorded_by.id if isinstance(recorded_by, Agency) else recorded_by,
        granted_by=GrantedBy.SURVIVOR,
        scope=tuple(scopes),
        valid_from=valid_from or now - timedelta(hours=1),
        valid_until=valid_until or now + timedelta(days=1),
    )


def referral_payload(
    sender: Agency | str,
    recipient: Agency | str,
    consent: ConsentGrantedV1,
    *,
    referral_id: str | None = None,
    service: ServiceCode = ServiceCode.COURT_LISTENING_UNIT,
    version: int = 1,
    **changes: Any,
) -> ReferralRequestedV1 | ReferralRequestedV2 | ReferralRequestedV3:
    """The example referral (every data category filled) between two agencies."""
    fields = EXAMPLES[("referral.requested", version)].model_dump()
    fields |= {
        "referral_id": referral_id or uid("ref"),
        "from_agency": sender.id if isinstance(sender, Agency) else sender,
        "to_agency": recipient.id if isinstance(recipient, Agency) else recipient,
        "subject_id": consent.subject_id,
        "consent_id": consent.consent_id,
        "service": service,
        "priority": Priority.URGENT,
        "pathway_step": None,
    }
    fields |= changes
    models = {1: ReferralRequestedV1, 2: ReferralRequestedV2, 3: ReferralRequestedV3}
    return models[version].model_validate(fields)


def _event(payload: EventPayload, source: Agency | str, consent_id: str | None) -> CloudEvent:
    sender = source.id if isinstance(source, Agency) else source
    return new_event(payload, source=sender, consent_id=consent_id)


def consent_event(consent: ConsentGrantedV1) -> CloudEvent:
    return _event(consent, consent.recorded_by, None)


def withdrawal_event(consent: ConsentGrantedV1, source: Agency | str | None = None) -> CloudEvent:
    payload = ConsentWithdrawnV1(
        consent_id=consent.consent_id,
        subject_id=consent.subject_id,
        recorded_by=consent.recorded_by,
        withdrawn_at=datetime.now(UTC),
    )
    return _event(payload, source or consent.recorded_by, None)


def referral_event(
    sender: Agency | str,
    recipient: Agency | str,
    consent: ConsentGrantedV1,
    **kwargs: Any,
) -> CloudEvent:
    payload = referral_payload(sender, recipient, consent, **kwargs)
    return _event(payload, sender, consent.consent_id)


def status_event(
    sender: Agency | str,
    referral_id: str,
    status: ReferralStatus,
    *,
    note: str | None = "Seen today.",
) -> CloudEvent:
    payload = ReferralStatusChangedV1(referral_id=referral_id, status=status, note=note)
    return _event(payload, sender, None)


def outcome_event(sender: Agency | str, referral_id: str) -> CloudEvent:
    payload = ReferralOutcomeReportedV1(
        referral_id=referral_id,
        domain=OutcomeDomain.JUSTICE,
        outcome=OutcomeCode.COMPLAINT_FILED,
        occurred_at=datetime.now(UTC),
        case_number="TPI-TEST-1",
        note="Complaint registered.",
    )
    return _event(payload, sender, None)


# -- talking to a hub --------------------------------------------------------------------


async def post_event(
    client: httpx.AsyncClient, sender: Agency, event: CloudEvent | bytes
) -> httpx.Response:
    body = event.to_json() if isinstance(event, CloudEvent) else event
    return await client.post("/v1/events", content=body, headers={**EVENT_HEADERS, **sender.auth})


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    within_s: float = 15.0,
    interval: float = 0.05,
) -> T:
    """Call ``probe`` until ``done`` holds for its answer; the last answer otherwise fails."""
    deadline = time.monotonic() + within_s
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {within_s} s; last value: {value!r}")
        await asyncio.sleep(interval)


async def inbox_events(
    client: httpx.AsyncClient, reader: Agency, *, include_acked: bool = False
) -> list[dict[str, Any]]:
    """Every unacknowledged event in ``reader``'s pull inbox, following the cursor.

    Items of an erased subject have no event left, only their id: they are skipped.
    """
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        response = await client.get(
            "/v1/inbox", params={"after": after, "limit": 500}, headers=reader.auth
        )
        assert response.status_code == 200, response.text
        page = response.json()
        found.extend(item["event"] for item in page["events"] if "event" in item)
        if not page["events"]:
            return found
        after = page["next_after"]


async def wait_for_inbox(
    client: httpx.AsyncClient,
    reader: Agency,
    match: Callable[[dict[str, Any]], bool],
    *,
    count: int = 1,
    within_s: float = 15.0,
) -> list[dict[str, Any]]:
    """The events in ``reader``'s inbox that ``match``, once there are ``count`` of them."""

    async def probe() -> list[dict[str, Any]]:
        return [event for event in await inbox_events(client, reader) if match(event)]

    return await eventually(probe, lambda found: len(found) >= count, within_s=within_s)


@dataclass(frozen=True)
class HubUnderTest:
    """A running hub, the agencies configured in it and an HTTP client pointed at it."""

    hub: RunningHub
    client: httpx.AsyncClient
    agencies: dict[str, Agency]

    @property
    def store(self) -> Store:
        return self.hub.services.store


@contextlib.asynccontextmanager
async def started_hub(
    settings: HubSettings, agencies: Iterable[Agency]
) -> AsyncIterator[HubUnderTest]:
    """Run the whole hub (uvicorn on 127.0.0.1, real broker, SQLite) for the block."""
    async with (
        running_hub(settings, upgrade_schema=True) as hub,
        httpx.AsyncClient(base_url=hub.base_url, timeout=10.0, trust_env=False) as client,
    ):
        yield HubUnderTest(hub, client, {a.id: a for a in agencies})


# -- a webhook receiver ------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request the receiver answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    signature_ok: bool | None


class WebhookReceiver:
    """A small real HTTP server on 127.0.0.1 standing in for agencies' webhook endpoints.

    Each path answers a status set with :meth:`answer` (204 by default) and, when a
    secret is set for it, checks the hub's HMAC signature on every request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statuses: dict[str, int] = {}
        self._secrets: dict[str, str] = {}
        self._received: list[Received] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                receiver._record(self.path, dict(self.headers.items()), body, self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def endpoint(self, path: str, *, secret: str | None = None, status: int = 204) -> str:
        """Configure ``path`` and return its URL."""
        with self._lock:
            self._statuses[path] = status
            if secret is not None:
                self._secrets[path] = secret
        return self.url(path)

    def answer(self, path: str, status: int) -> None:
        with self._lock:
            self._statuses[path] = status

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if path is None or r.path == path]

    async def wait_for(self, path: str, count: int = 1, within_s: float = 15.0) -> list[Received]:
        async def probe() -> list[Received]:
            return self.received(path)

        return await eventually(probe, lambda found: len(found) >= count, within_s=within_s)

    def _record(
        self, path: str, headers: dict[str, str], body: bytes, handler: BaseHTTPRequestHandler
    ) -> None:
        lowered = {name.lower(): value for name, value in headers.items()}
        with self._lock:
            status = self._statuses.get(path, 404)
            secret = self._secrets.get(path)
        signature_ok = None
        if secret is not None:
            signature_ok = verify(
                secret,
                lowered.get(TIMESTAMP_HEADER.lower(), ""),
                body,
                lowered.get(SIGNATURE_HEADER.lower(), ""),
            )
        with self._lock:
            self._received.append(Received(path, lowered, body, status, signature_ok))
        handler.send_response(status)
        handler.send_header("content-length", "0")
        handler.end_headers()
