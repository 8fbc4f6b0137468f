"""Request rate limits: per agency on authenticated paths, per address elsewhere.

Token buckets held in this process: with several API processes behind a load
balancer, each enforces the limits on its own share of the traffic.

A request carrying a bearer token on ``/v1`` or ``/fhir`` is charged to its
agency; one whose token is refused is charged to its address's failed-auth
bucket, and once that is spent every token from the address is answered 429
without being checked, so a 429 tells a guesser nothing about the token it
tried. Everything else (probes, metrics, documents, requests without
credentials) is charged to its address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.adapters.fhir.responses import operation_outcome
from hub.api.auth import TokenDirectory
from hub.api.problems import problem
from hub.config.settings import LimitSettings, RateLimit
from hub.observability import HubMetrics

__all__ = [
    "ANONYMOUS",
    "Limited",
    "RateLimitMiddleware",
    "RequestLimiter",
    "TokenBuckets",
    "address_key",
]

#: The metrics label of requests no agency is known for.
ANONYMOUS = "anonymous"
_AUTHENTICATED_PREFIXES = ("/v1/", "/fhir/")
_FHIR_JSON = "application/fhir+json"

Clock = Callable[[], float]


class TokenBuckets:
    """One token bucket per key; at most ``max_keys`` kept, the least recent dropped.

    A dropped key starts again with a full bucket, as an idle one would have.
    """

    def __init__(self, limit: RateLimit, max_keys: int, clock: Clock = time.monotonic) -> None:
        self._rate = limit.requests_per_second
        self._burst = float(limit.burst)
        self._max_keys = max_keys
        self._clock = clock
        self._levels: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _level(self, key: str, now: float) -> float:
        level, at = self._levels.get(key, (self._burst, now))
        return min(self._burst, level + (now - at) * self._rate)

    def _store(self, key: str, level: float, now: float) -> None:
        self._levels[key] = (level, now)
        self._levels.move_to_end(key)
        while len(self._levels) > self._max_keys:
            self._levels.popitem(last=False)

    def wait_s(self, key: str) -> float:
        """Seconds until ``key`` may spend a token; 0 when it may now."""
        level = self._level(key, self._clock())
        return 0.0 if level >= 1 else (1 - level) / self._rate

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s: 0 when spent, else the seconds to wait for one."""
        now = self._clock()
        level = self._level(key, now)
        if level < 1:
            return (1 - level) / self._rate
        self._store(key, level - 1, now)
        return 0.0


@dataclass(frozen=True, slots=True)
class Limited:
    """A request refused for its rate: whom it was charged to, and when to come back."""

    retry_after_s: int
    agency: str
    limit: str


class RequestLimiter:
    """Decides, before routing, whether a request is within its limits."""

    def __init__(
        self,
        settings: LimitSettings,
        tokens: TokenDirectory,
        metrics: HubMetrics,
        clock: Clock = time.monotonic,
    ) -> None:
        self._enabled = settings.enabled
        self._tokens = tokens
        self._metrics = metrics
        # Agencies are few and configured; the bound only matters for addresses.
        self._agency = TokenBuckets(settings.agency, settings.tracked_addresses, clock)
        self._address = TokenBuckets(settings.address, settings.tracked_addresses, clock)
        self._failed_auth = TokenBuckets(settings.failed_auth, settings.tracked_addresses, clock)

    async def check(self, path: str, headers: Headers, address: str) -> Limited | None:
        """None when the request may go on; the refusal (counted) when it may not."""
        if not self._enabled:
            return None
        limited = await self._decide(path, headers, address)
        if limited is not None:
            self._metrics.requests_limited.labels(limited.agency, limited.limit).inc()
        return limited

    async def _decide(self, path: str, headers: Headers, address: str) -> Limited | None:
        token = _bearer(headers)
        if token is None or not path.startswith(_AUTHENTICATED_PREFIXES):
            return _refusal(self._address.take(address), ANONYMOUS, "address")
        if (wait := self._failed_auth.wait_s(address)) > 0:
            return _refusal(wait, ANONYMOUS, "failed_auth")
        agency = await self._agency_for(token)
        if agency is None:
            # Charged here; the route itself answers the 401.
            self._failed_auth.take(address)
            return None
        return _refusal(self._agency.take(agency), agency, "agency")

    async def _agency_for(self, token: str) -> str | None:
        if self._tokens.is_fresh():
            return self._tokens.agency_for(token)
        # A reload reads the store: off the event loop.
        return await asyncio.to_thread(self._tokens.agency_for, token)


def address_key(host: str) -> str:
    """The bucket of a client address: the address itself, or its /64 for IPv6.

    One IPv6 host commonly holds a whole /64, so keying single addresses would
    give it billions of fresh buckets.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP (a test client's name, a Unix socket): taken as it is
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _bearer(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _refusal(wait_s: float, agency: str, limit: str) -> Limited | None:
    if wait_s <= 0:
        return None
    return Limited(retry_after_s=max(1, math.ceil(wait_s)), agency=agency, limit=limit)


def _too_many(path: str, limited: Limited) -> Response:
    """429 in the dialect of the path: an OperationOutcome on /fhir, problem+json elsewhere."""
    headers = {"Retry-After": str(limited.retry_after_s)}
    detail = f"too many requests; retry after {limited.retry_after_s} s"
    if path.startswith("/fhir/"):
        outcome = operation_outcome("throttled", detail)
        return JSONResponse(outcome, status_code=429, headers=headers, media_type=_FHIR_JSON)
    return problem(429, "Too many requests", detail, headers=headers)


class RateLimitMiddleware:
    """ASGI middleware answering 429 with Retry-After before a request reaches a route."""

    def __init__(self, app: ASGIApp, limiter: RequestLimiter) -> None:
        self._app = app
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        client = scope.get("client")
        address = address_key(str(client[0])) if client else "unknown"
        path = str(scope.get("path", ""))
        limited = await self._limiter.check(path, Headers(scope=scope), address)
        if limited is None:
            await self._app(scope, receive, send)
            return
        await _too_many(path, limited)(scope, receive, send)
