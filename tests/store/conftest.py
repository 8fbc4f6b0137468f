"""Fixtures running every store test against SQLite and, when configured, PostgreSQL.

PostgreSQL tests need ``HUB_TEST_POSTGRES_DSN`` (for example
``postgresql://postgres@127.0.0.1:5432/test``). Each test gets a fresh schema
of its own, selected through the connection's ``search_path`` and dropped
afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection

from hub.store import Store
from tests.backends import store, store_url

__all__ = ["store", "store_url"]


@pytest.fixture
def conn(store: Store) -> Iterator[Connection]:
    """One transaction on the migrated store, committed after the test."""
    with store.transaction() as connection:
        yield connection


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)


@pytest.fixture
def closed_port() -> int:
    """A local TCP port with nothing listening on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
