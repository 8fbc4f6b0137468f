"""Fixtures for the audit tests: a migrated store on SQLite and, when configured, PostgreSQL.

PostgreSQL runs need ``HUB_TEST_POSTGRES_DSN``; each test gets a fresh schema of
its own from the shared ``postgres_schema_url`` fixture (``tests/conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.audit import AuditRecorder, Signer, generate_seed
from hub.store import Store
from tests.backends import store, store_url

__all__ = ["store", "store_url"]


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
