"""Rate limits on the running hub: per agency, per address, and on refused tokens.

One hub with small limits serves the module. Each test speaks from its own
loopback address (127.0.0.x), so the per-address buckets of one test never
spill into another's.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from hub.contracts import AgencyKind
from tests.support import Agency, HubUnderTest, agency, hub_settings, started_hub

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

BURST = 4
RATE = 0.05  # one request every 20 s once the burst is spent: no refill within a test
FAILED_AUTH_BURST = 3

_addresses: Iterator[int] = itertools.count(10)


@dataclass(frozen=True)
class Limits:
    """The hub and its agencies; each test spends the buckets of its own agencies only."""

    hub: HubUnderTest
    hospital: Agency
    court: Agency
    police: Agency
    shelter: Agency
    prosecution: Agency

    def limited(self, agency: str, limit: str) -> float:
        value = self.hub.hub.services.metrics.registry.get_sample_value(
            "hub_requests_limited_total", {"agency": agency, "limit": limit}
        )
        return value or 0.0


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def limits(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Limits]:
    kinds = ("hospital", "court", "police", "shelter", "prosecution")
    agencies = [agency(AgencyKind(kind)) for kind in kinds]
    directory: Path = tmp_path_factory.mktemp("limits")
    bucket = {"requests_per_second": RATE, "burst": BURST}
    settings = hub_settings(
        directory,
        agencies,
        kafka_bootstrap=kafka_bootstrap,
        limits={
            "agency": bucket,
            "address": bucket,
            "failed_auth": {"requests_per_second": RATE, "burst": FAILED_AUTH_BURST},
        },
    )
    async with started_hub(settings, agencies) as hub:
        yield Limits(hub, *agencies)


@contextlib.asynccontextmanager
async def client_from_own_address(limits: Limits) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests come from a loopback address no other test uses."""
    address = f"127.0.0.{next(_addresses)}"
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(
        base_url=limits.hub.hub.base_url, transport=transport, timeout=10.0, trust_env=False
    ) as client:
        yield client


def retry_after(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    seconds = int(response.headers["retry-after"])
    assert 1 <= seconds <= math.ceil(1 / RATE)
    return seconds


async def test_an_agency_over_its_rate_gets_429_and_others_do_not(limits: Limits) -> None:
    """Past its burst an agency is answered 429 problem+json with Retry-After; another is not."""
    before = limits.limited(limits.court.id, "agency")
    async with client_from_own_address(limits) as client:
        answers = [
            await client.get("/v1/inbox", headers=limits.court.auth) for _ in range(BURST + 2)
        ]
        other = await client.get("/v1/inbox", headers=limits.police.auth)

    assert [a.status_code for a in answers[:BURST]] == [200] * BURST
    refused = answers[BURST]
    retry_after(refused)
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 429
    assert other.status_code == 200, other.text
    assert limits.limited(limits.court.id, "agency") == before + 2


async def test_the_limit_follows_the_agency_across_addresses(limits: Limits) -> None:
    """An agency cannot escape its limit by changing address: the bucket is the agency's."""
    async with client_from_own_address(limits) as first:
        for _ in range(BURST):
            assert (await first.get("/v1/inbox", headers=limits.hospital.auth)).status_code == 200
    async with client_from_own_address(limits) as second:
        refused = await second.get("/v1/inbox", headers=limits.hospital.auth)
    retry_after(refused)


async def test_fhir_answers_429_as_an_operation_outcome(limits: Limits) -> None:
    """On /fhir the 429 is a FHIR OperationOutcome with issue code throttled and Retry-After."""
    async with client_from_own_address(limits) as client:
        for _ in range(BURST):
            await client.get("/fhir/r4/Task", headers=limits.shelter.auth)
        refused = await client.get("/fhir/r4/Task", headers=limits.shelter.auth)

    retry_after(refused)
    assert refused.headers["content-type"] == "application/fhir+json"
    body = refused.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "throttled"


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/openapi.json", "/asyncapi.yaml"])
async def test_unauthenticated_endpoints_are_limited_per_address(limits: Limits, path: str) -> None:
    """Probes and documents are limited per client address; another address is still served."""
    before = limits.limited("anonymous", "address")
    async with client_from_own_address(limits) as client:
        answers = [await client.get(path) for _ in range(BURST + 1)]
    async with client_from_own_address(limits) as elsewhere:
        served = await elsewhere.get(path)

    assert [a.status_code for a in answers[:BURST]] == [200] * BURST
    retry_after(answers[BURST])
    assert answers[BURST].headers["content-type"] == "application/problem+json"
    assert served.status_code == 200
    assert limits.limited("anonymous", "address") == before + 1


async def test_requests_without_a_token_are_limited_per_address(limits: Limits) -> None:
    """Requests to the API without credentials spend their address's bucket, then get 429."""
    async with client_from_own_address(limits) as client:
        answers = [await client.get("/v1/inbox") for _ in range(BURST + 1)]

    assert [a.status_code for a in answers[:BURST]] == [401] * BURST
    retry_after(answers[BURST])


async def test_refused_tokens_are_limited_per_address_whatever_the_next_token(
    limits: Limits,
) -> None:
    """After a few refused tokens an address gets 429 for any token, even a valid one."""
    before = limits.limited("anonymous", "failed_auth")
    guesses = [{"authorization": f"Bearer guess-{n}"} for n in range(FAILED_AUTH_BURST)]
    async with client_from_own_address(limits) as client:
        refused = [await client.get("/v1/inbox", headers=guess) for guess in guesses]
        next_guess = await client.get("/v1/inbox", headers={"authorization": "Bearer guess-x"})
        valid_token = await client.get("/fhir/r4/Task", headers=limits.prosecution.auth)

    assert [r.status_code for r in refused] == [401] * FAILED_AUTH_BURST
    retry_after(next_guess)
    retry_after(valid_token)
    assert valid_token.headers["content-type"] == "application/fhir+json"
    assert limits.limited("anonymous", "failed_auth") == before + 2


async def test_the_metrics_page_shows_limited_requests(limits: Limits) -> None:
    """``hub_requests_limited_total`` is exported with its agency and limit labels."""
    async with client_from_own_address(limits) as client:
        for _ in range(BURST + 1):
            await client.get("/readyz")
    async with client_from_own_address(limits) as client:
        page = (await client.get("/metrics")).text

    assert 'hub_requests_limited_total{agency="anonymous",limit="address"}' in page
