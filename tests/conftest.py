"""Fixtures shared by every test folder.

``kafka_bootstrap`` gives integration tests a real Kafka-protocol broker: one
in-memory Tansu process (see :class:`hub.broker.EmbeddedBroker`) for the whole
session. Tests that use it are marked ``integration`` and name their topics and
consumer groups randomly, since everything they create outlives them.

``postgres_schema_url`` gives a test a fresh PostgreSQL schema when
``HUB_TEST_POSTGRES_DSN`` is set, and skips the test otherwise.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from hub.broker import EmbeddedBroker
from hub.store import create_store_engine


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of an embedded broker shared by the session, stopped at its end."""
    with EmbeddedBroker() as broker:
        yield broker.bootstrap_servers


POSTGRES_DSN_ENV = "HUB_TEST_POSTGRES_DSN"


def postgres_dsn() -> str:
    dsn = os.environ.get(POSTGRES_DSN_ENV)
    if not dsn:
        pytest.skip(f"{POSTGRES_DSN_ENV} is not set, so there is no PostgreSQL to test against")
    return dsn


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections work in a fresh PostgreSQL schema, dropped afterwards."""
    dsn = postgres_dsn()
    schema = f"hub_test_{uuid.uuid4().hex[:16]}"
    admin = create_store_engine(dsn)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
