"""Fixtures for the audit tests: a migrated store on SQLite and, when configured, PostgreSQL.

PostgreSQL runs need ``HUB_TEST_POSTGRES_DSN``; as in the store tests, each test
gets a fresh schema of its own, selected through ``search_path`` and dropped
afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.audit import AuditRecorder, Signer, generate_seed
from hub.store import Store, create_store_engine

POSTGRES_DSN_ENV = "HUB_TEST_POSTGRES_DSN"

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections work in a fresh PostgreSQL schema, dropped afterwards."""
    dsn = os.environ.get(POSTGRES_DSN_ENV)
    if not dsn:
        pytest.skip(f"{POSTGRES_DSN_ENV} is not set, so there is no PostgreSQL to test against")
    schema = f"hub_audit_{uuid.uuid4().hex[:16]}"
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


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend: a temp SQLite file or a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/a.db"
    url: str = request.getfixturevalue("postgres_schema_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """A migrated store on each backend."""
    opened = Store.open(store_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store, for tests about the file itself."""
    opened = Store.open(f"sqlite:///{tmp_path}/a.db")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def signer() -> Signer:
    return Signer.from_seed(generate_seed())


@pytest.fixture
def recorder(signer: Signer) -> AuditRecorder:
    """A recorder that signs and never checkpoints on its own; tests checkpoint explicitly."""
    return AuditRecorder(signer=signer, checkpoint_every=10**9)
