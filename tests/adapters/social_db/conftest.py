"""An agency database on each backend the social-db adapter supports, with the example schema.

SQLite always; PostgreSQL with ``HUB_TEST_POSTGRES_DSN`` (a fresh schema) and
MariaDB with ``HUB_TEST_MARIADB_DSN`` (a fresh database), skipped otherwise.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from hub.adapters.social_db import AgencyDatabase
from hub.adapters.social_db.example import example_mapping, example_tables
from hub.config.social_db import SocialDbDelivery
from hub.store import Store

MARIADB_DSN_ENV = "HUB_TEST_MARIADB_DSN"
AGENCY = "entraide-nationale-casablanca"
URL_ENV = "HUB_TEST_AGENCY_DB_URL"

BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]
SERVER_BACKENDS = [
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]


@pytest.fixture
def mariadb_database_url() -> Iterator[str]:
    """A URL on a fresh MariaDB database, dropped afterwards."""
    dsn = os.environ.get(MARIADB_DSN_ENV)
    if not dsn:
        pytest.skip(f"{MARIADB_DSN_ENV} is not set, so there is no MariaDB to test against")
    name = f"hub_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(dsn)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        yield make_url(dsn).set(database=name).render_as_string(hide_password=False)
        with admin.begin() as conn:
            conn.execute(text(f"DROP DATABASE `{name}`"))
    finally:
        admin.dispose()


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'agency.db'}"
    if backend == "postgres":
        url: str = request.getfixturevalue("postgres_schema_url")
        return url
    url = request.getfixturevalue("mariadb_database_url")
    return url


@pytest.fixture(params=BACKENDS)
def agency_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty agency database on each backend."""
    return _url(request.param, request, tmp_path)


@pytest.fixture(params=SERVER_BACKENDS)
def server_agency_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty agency database on each server backend (several writers at once)."""
    return _url(request.param, request, tmp_path)


def make_agency_database(
    url: str, monkeypatch: pytest.MonkeyPatch, mapping: SocialDbDelivery | None = None
) -> tuple[AgencyDatabase, Engine]:
    """The example tables created at ``url``, the adapter's view of them, and an app engine."""
    app = create_engine(url)
    example_tables().create_all(app)
    monkeypatch.setenv(URL_ENV, url)
    database = AgencyDatabase.connect(AGENCY, mapping or example_mapping(URL_ENV))
    database.ensure_ledger()
    return database, app


@pytest.fixture
def hub_store(tmp_path: Path) -> Iterator[Store]:
    """The hub's own store, where submissions land."""
    store = Store.open(f"sqlite:///{tmp_path / 'hub' / 'hub.db'}")
    try:
        yield store
    finally:
        store.close()
