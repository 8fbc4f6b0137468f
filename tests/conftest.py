"""Fixtures shared by every test folder.

``kafka_bootstrap`` gives integration tests a real Kafka-protocol broker: one
in-memory Tansu process (see :class:`hub.broker.EmbeddedBroker`) for the whole
session. Tests that use it are marked ``integration`` and name their topics and
consumer groups randomly, since everything they create outlives them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hub.broker import EmbeddedBroker


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of an embedded broker shared by the session, stopped at its end."""
    with EmbeddedBroker() as broker:
        yield broker.bootstrap_servers
