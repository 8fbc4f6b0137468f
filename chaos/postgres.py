"""A fresh PostgreSQL database for one run, dropped afterwards."""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url

__all__ = ["fresh_database", "restart_postgres"]


@contextmanager
def fresh_database(admin_dsn: str) -> Iterator[str]:
    """Create ``chaos_<random>`` next to ``admin_dsn``'s database; yield its URL."""
    name = f"chaos_{secrets.token_hex(6)}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_dsn).set(database=name).render_as_string(hide_password=False)
    finally:
        _drop(admin_dsn, name)


def _drop(admin_dsn: str, name: str) -> None:
    for _ in range(30):  # PostgreSQL may still be coming back from a restart
        try:
            with psycopg.connect(admin_dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.OperationalError:
            time.sleep(1)


def restart_postgres(command: tuple[str, ...]) -> float:
    """Run the restart command; seconds it took."""
    started = time.monotonic()
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return time.monotonic() - started
