"""Which parts of the hub one process runs: ``hub run --role``.

One process runs everything by default. On PostgreSQL the parts can run apart,
in any number of each, so that operators scale them separately:

- ``api``: the HTTP API, intake included, and the refresher of the gauges it
  serves on ``/metrics``;
- ``relay``: the outbox relay (rows are leased, so relays never publish one
  row twice), the audit streamer, consent expiry, and at start the requeue of
  what was recorded but never consumed;
- ``router``: the ``hub.ingress`` consumer group (Kafka spreads its partitions
  over the routers);
- ``delivery``: the inbox consumer groups, and the court-files and social-db
  loops, which are the transports' other half.

SQLite admits one process only, so with it only ``all`` runs.
"""

from __future__ import annotations

import enum

from hub.errors import ConfigError

__all__ = ["Part", "Role", "parts_of", "refuse_unless_shared"]


class Part(enum.Enum):
    API = "api"
    RELAY = "relay"
    ROUTER = "router"
    DELIVERY = "delivery"


class Role(enum.StrEnum):
    """What ``hub run --role`` accepts."""

    ALL = "all"
    API = "api"
    RELAY = "relay"
    ROUTER = "router"
    DELIVERY = "delivery"


def parts_of(role: Role) -> frozenset[Part]:
    if role is Role.ALL:
        return frozenset(Part)
    return frozenset({Part(role.value)})


def refuse_unless_shared(role: Role, database_url: str, kafka_bootstrap: str | None) -> None:
    """ConfigError for a role other than ``all`` without a store and a broker to share.

    The parts of one hub meet only in PostgreSQL and Kafka: a SQLite file takes
    one process, and the embedded broker lives inside the process that starts it.
    """
    if role is Role.ALL:
        return
    if database_url.startswith("sqlite"):
        raise ConfigError(
            "database_url",
            f"--role {role.value} needs PostgreSQL; a SQLite store serves one process only,"
            " so run --role all",
        )
    if kafka_bootstrap is None:
        raise ConfigError(
            "kafka_bootstrap",
            f"--role {role.value} needs a shared Kafka; the embedded broker lives in one"
            " process, so set kafka_bootstrap or run --role all",
        )
