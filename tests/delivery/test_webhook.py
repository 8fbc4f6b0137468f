"""Webhook delivery against a real local HTTP server: signed, and honest about failure."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from hub.config import AgencyConfig, load_settings
from hub.contracts import AgencyKind, CloudEvent
from hub.contracts.envelope import STRUCTURED_CONTENT_TYPE
from hub.delivery import WebhookTransport
from hub.delivery.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify
from hub.errors import DeliveryError
from tests.support import WebhookReceiver, agency, consent_payload, referral_event, scope, uid

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-for-tests"


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
async def transport() -> AsyncIterator[WebhookTransport]:
    async with httpx.AsyncClient(timeout=2.0, trust_env=False) as client:
        yield WebhookTransport(client)


def webhook_agency(url: str) -> AgencyConfig:
    entry = agency(
        AgencyKind.NGO, delivery={"mode": "webhook", "url": url, "secret": SECRET}
    ).config()
    (configured,) = load_settings(None, agencies=[entry]).agencies
    return configured


def an_event(recipient: AgencyConfig) -> CloudEvent:
    hospital = agency(AgencyKind.HOSPITAL)
    consent = consent_payload(hospital, [scope(AgencyKind.NGO)])
    return referral_event(hospital, recipient.id, consent)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_delivery_is_signed_so_the_agency_can_verify_it(
    receiver: WebhookReceiver, transport: WebhookTransport
) -> None:
    """The agency receives the structured event with a timestamped HMAC it can check."""
    path = f"/{uid('hook')}"
    recipient = webhook_agency(receiver.endpoint(path, secret=SECRET, status=200))
    event = an_event(recipient)

    await transport.deliver(recipient, event)

    (request,) = receiver.received(path)
    assert request.signature_ok is True
    assert request.headers["content-type"] == STRUCTURED_CONTENT_TYPE
    assert request.headers["ce-id"] == event.id
    assert json.loads(request.body) == event.structured()
    timestamp = request.headers[TIMESTAMP_HEADER.lower()]
    assert abs(int(timestamp) - time.time()) < 60
    # Another secret, or a replayed body under another timestamp, does not verify.
    signature = request.headers[SIGNATURE_HEADER.lower()]
    assert not verify("another-secret", timestamp, request.body, signature)
    assert not verify(SECRET, str(int(timestamp) + 1), request.body, signature)
    assert not verify(SECRET, timestamp, request.body + b" ", signature)


def test_a_signature_is_the_hmac_of_timestamp_and_body() -> None:
    """The signature format is ``sha256=<hex HMAC of "<timestamp>.<body>">``."""
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"1700000000.{}", hashlib.sha256).hexdigest()

    assert sign("k", "1700000000", b"{}") == f"sha256={expected}"
    assert verify("k", "1700000000", b"{}", f"sha256={expected}")


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_any_2xx_answer_is_a_delivery(
    receiver: WebhookReceiver, transport: WebhookTransport, status: int
) -> None:
    """Every success status counts as delivered."""
    path = f"/{uid('ok')}"
    recipient = webhook_agency(receiver.endpoint(path, status=status))

    await transport.deliver(recipient, an_event(recipient))

    assert len(receiver.received(path)) == 1


@pytest.mark.parametrize(
    ("status", "retriable"),
    [(500, True), (502, True), (503, True), (429, True), (408, True), (400, False), (404, False)],
)
async def test_a_failing_answer_says_whether_to_retry(
    receiver: WebhookReceiver, transport: WebhookTransport, status: int, retriable: bool
) -> None:
    """Server errors and 429 are worth another attempt; other client errors are final."""
    path = f"/{uid('fail')}"
    recipient = webhook_agency(receiver.endpoint(path, status=status))

    with pytest.raises(DeliveryError) as caught:
        await transport.deliver(recipient, an_event(recipient))

    assert caught.value.retriable is retriable
    assert str(status) in str(caught.value)
    assert recipient.id in str(caught.value)


async def test_a_refused_connection_is_retriable(transport: WebhookTransport) -> None:
    """Nothing listening at the URL is an outage, not a verdict: retry later."""
    recipient = webhook_agency(f"http://127.0.0.1:{closed_port()}/hook")

    with pytest.raises(DeliveryError) as caught:
        await transport.deliver(recipient, an_event(recipient))

    assert caught.value.retriable is True
    assert isinstance(caught.value.__cause__, httpx.HTTPError)


async def test_a_pull_agency_cannot_be_delivered_by_webhook(transport: WebhookTransport) -> None:
    """Handing a pull agency to the webhook transport is a final error, not a retry loop."""
    (recipient,) = load_settings(None, agencies=[agency(AgencyKind.COURT).config()]).agencies

    with pytest.raises(DeliveryError) as caught:
        await transport.deliver(recipient, an_event(recipient))

    assert caught.value.retriable is False
