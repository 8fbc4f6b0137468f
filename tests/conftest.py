"""Fixtures shared by every test folder.

``kafka_bootstrap`` gives integration tests a real Kafka-protocol broker: one
in-memory Tansu process (see :class:`hub.broker.EmbeddedBroker`) for the whole
session. With ``HUB_TEST_KAFKA=apache`` every test that uses it runs twice, on
Tansu and on a single-node Apache Kafka started from ``deploy/kafka`` once per
run; ``kafka_engine`` says which. ``apache_kafka_cluster`` is a three-node
Apache Kafka for the tests that need replication. Tests that use a broker are
marked ``integration`` and name their topics and consumer groups randomly,
since everything they create outlives them.

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
from tests.apache_kafka import ApacheKafka

KAFKA_ENV = "HUB_TEST_KAFKA"


def kafka_engines() -> list[str]:
    """The brokers the broker tests run on: Tansu always, Apache Kafka when asked."""
    wanted = os.environ.get(KAFKA_ENV, "tansu").strip().lower() or "tansu"
    if wanted == "tansu":
        return ["tansu"]
    if wanted == "apache":
        return ["tansu", "apache"]
    raise pytest.UsageError(f"{KAFKA_ENV} must be 'tansu' or 'apache', not {wanted!r}")


def apache_wanted() -> bool:
    return "apache" in kafka_engines()


@pytest.fixture(scope="session", params=kafka_engines())
def kafka_engine(request: pytest.FixtureRequest) -> str:
    """``tansu`` or ``apache``: the broker behind ``kafka_bootstrap`` in this test."""
    return str(request.param)


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_engine: str, request: pytest.FixtureRequest) -> str:
    """``host:port`` of the session's broker of ``kafka_engine``."""
    if kafka_engine == "apache":
        kafka: ApacheKafka = request.getfixturevalue("apache_kafka")
        return kafka.bootstrap_servers
    return str(request.getfixturevalue("tansu_bootstrap"))


@pytest.fixture(scope="session")
def tansu_bootstrap() -> Iterator[str]:
    """``host:port`` of an embedded broker shared by the session, stopped at its end."""
    with EmbeddedBroker() as broker:
        yield broker.bootstrap_servers


@pytest.fixture(scope="session")
def apache_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    """A single-node Apache Kafka for the session, stopped and deleted at its end."""
    if not apache_wanted():
        pytest.skip(f"{KAFKA_ENV}=apache is not set, so Apache Kafka is not started")
    kafka = ApacheKafka(tmp_path_factory.mktemp("apache-kafka"), nodes=1)
    try:
        yield kafka.start()
    finally:
        kafka.stop()


@pytest.fixture(scope="session")
def apache_kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    """A three-node Apache Kafka cluster for the session, stopped at its end."""
    if not apache_wanted():
        pytest.skip(f"{KAFKA_ENV}=apache is not set, so Apache Kafka is not started")
    kafka = ApacheKafka(tmp_path_factory.mktemp("apache-kafka-cluster"), nodes=3)
    try:
        yield kafka.start()
    finally:
        kafka.stop()


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
