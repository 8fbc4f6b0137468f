"""Kafka client settings, client factories and readiness checks.

The factories only build clients; the caller starts and stops them. aiokafka
binds a client to the running event loop when it is constructed, so call them
from inside a coroutine. Nothing here connects at import time.

Two broker facts shape the defaults. Consumers never auto-commit: offsets are
committed only after a batch's effects are stored. The idempotent producer is a
setting because Tansu cannot serve it: aiokafka asks for a producer id with
InitProducerId v0, which Tansu answers with UNKNOWN_SERVER_ERROR.

Every client, the readiness probe included, is built with the same
:class:`~hub.broker.security.KafkaSecurity` (TLS and SCRAM login, or neither).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from aiokafka.errors import KafkaError

from hub.broker.security import PLAINTEXT, KafkaSecurity
from hub.errors import BrokerError

__all__ = ["KafkaSettings", "make_consumer", "make_producer", "ping", "wait_until_ready"]


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    #: Must be False against Tansu (see the module docstring).
    idempotent_producer: bool
    client_id: str = "referral-hub"
    linger_ms: int = 5
    max_batch_size: int = 1_048_576
    request_timeout_ms: int = 30_000
    security: KafkaSecurity = field(default=PLAINTEXT)


def make_producer(settings: KafkaSettings) -> AIOKafkaProducer:
    """A producer that waits for all in-sync replicas; not started."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id=settings.client_id,
        acks="all",
        enable_idempotence=settings.idempotent_producer,
        linger_ms=settings.linger_ms,
        max_batch_size=settings.max_batch_size,
        request_timeout_ms=settings.request_timeout_ms,
        **settings.security.client_options(),
    )


def make_consumer(
    settings: KafkaSettings, *topics: str, group_id: str, **overrides: Any
) -> AIOKafkaConsumer:
    """A group consumer that commits only when told to; not started.

    A group nobody has committed for starts at the earliest offset, so nothing
    produced before the first deployment is skipped. ``overrides`` go to
    :class:`aiokafka.AIOKafkaConsumer` as they are and win over these defaults.
    """
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "request_timeout_ms": settings.request_timeout_ms,
        **settings.security.client_options(),
    }
    options.update(overrides)
    return AIOKafkaConsumer(*topics, **options)


async def wait_until_ready(
    bootstrap_servers: str, timeout_s: float, *, security: KafkaSecurity = PLAINTEXT
) -> None:
    """Return once the cluster answers a Metadata request; BrokerError on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    last_error = "no attempt made"
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise BrokerError(
                f"Kafka at {bootstrap_servers} not ready after {timeout_s:g}s: {last_error}"
            )
        try:
            await _metadata_round_trip(bootstrap_servers, remaining, security)
            return
        except (KafkaError, OSError, TimeoutError) as exc:
            last_error = str(exc) or type(exc).__name__
        await asyncio.sleep(min(0.2, max(0.0, deadline - loop.time())))


async def ping(
    bootstrap_servers: str, timeout_s: float = 2.0, *, security: KafkaSecurity = PLAINTEXT
) -> bool:
    """Whether the cluster answers a Metadata request within ``timeout_s``.

    With SASL_SSL the request is only answered after the hub's login succeeded, so a wrong
    password or an untrusted broker certificate reads as not ready.
    """
    try:
        await _metadata_round_trip(bootstrap_servers, timeout_s, security)
    except (KafkaError, OSError, TimeoutError):
        return False
    return True


async def _metadata_round_trip(
    bootstrap_servers: str, timeout_s: float, security: KafkaSecurity
) -> None:
    async with asyncio.timeout(timeout_s):
        # A plain TCP connect first: it fails quietly, whereas aiokafka logs an
        # ERROR for every refused bootstrap attempt.
        await _any_port_open(bootstrap_servers)
        client = AIOKafkaClient(
            bootstrap_servers=bootstrap_servers,
            client_id="referral-hub-probe",
            request_timeout_ms=max(1, int(timeout_s * 1000)),
            **security.client_options(),
        )
        try:
            await client.bootstrap()
        finally:
            with contextlib.suppress(KafkaError, OSError):
                await client.close()


async def _any_port_open(bootstrap_servers: str) -> None:
    errors: list[str] = []
    for server in bootstrap_servers.split(","):
        host, sep, port = server.strip().rpartition(":")
        if not sep:  # aiokafka's default port applies to a bare host
            host, port = port, "9092"
        try:
            _reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except (OSError, ValueError) as exc:
            errors.append(f"{server.strip()}: {exc}")
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return
    raise OSError("; ".join(errors) or "no bootstrap servers given")
