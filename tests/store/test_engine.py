"""Engine construction, transactions, error translation and timestamps."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text

from hub.errors import ConfigError, StoreError
from hub.store import Store, create_store_engine, inbox, outbox, processed
from hub.store.schema import inbox as inbox_table
from hub.store.schema import processed_events


def test_postgresql_url_uses_psycopg3() -> None:
    """postgresql:// and postgres:// URLs are normalised to the psycopg 3 driver."""
    for url in ("postgresql://u@db.example/hub", "postgres://u@db.example/hub"):
        engine = create_store_engine(url)
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.url.host == "db.example"
        engine.dispose()


def test_explicit_driver_is_kept() -> None:
    """A URL that already names the psycopg driver is left as it is."""
    engine = create_store_engine("postgresql+psycopg://u@db.example/hub")
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


def test_creating_an_engine_does_not_connect(closed_port: int) -> None:
    """Building an engine for an unreachable server succeeds; only use fails."""
    engine = create_store_engine(f"postgresql://postgres@127.0.0.1:{closed_port}/test")
    engine.dispose()


def test_unsupported_database_is_a_config_error() -> None:
    """A URL for a database the hub does not support raises ConfigError."""
    with pytest.raises(ConfigError):
        create_store_engine("mysql://u@db.example/hub")


def test_malformed_url_is_a_config_error() -> None:
    """A string that is not a database URL raises ConfigError."""
    with pytest.raises(ConfigError):
        create_store_engine("not a url://")


def test_sqlite_file_parent_directory_is_created(tmp_path: Path) -> None:
    """Opening a SQLite file creates its missing parent directories."""
    path = tmp_path / "a" / "b" / "hub.db"
    store = Store.open(f"sqlite:///{path}")
    store.close()
    assert path.is_file()


def test_bare_path_means_sqlite_file(tmp_path: Path) -> None:
    """A URL without a scheme is taken to be a SQLite file path."""
    path = tmp_path / "hub.db"
    store = Store.open(str(path))
    assert store.dialect_name == "sqlite"
    store.close()
    assert path.is_file()


def test_sqlite_directory_that_cannot_be_created_is_a_store_error(tmp_path: Path) -> None:
    """A SQLite path below a regular file raises StoreError."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError):
        create_store_engine(f"sqlite:///{blocker / 'hub.db'}")


def test_sqlite_connection_pragmas(tmp_path: Path) -> None:
    """SQLite connections run in WAL mode with foreign keys and a busy timeout."""
    store = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    with store.transaction() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() >= 1000
    store.close()


def test_in_memory_store_is_shared_across_transactions_and_threads(now: datetime) -> None:
    """sqlite:// keeps one database that every transaction and thread sees."""
    store = Store.open("sqlite://")
    with store.transaction() as conn:
        assert processed.claim(conn, "c", ("agency-a", "e1"), now)

    seen: list[bool] = []

    def worker() -> None:
        with store.transaction() as conn:
            seen.append(processed.is_processed(conn, "c", ("agency-a", "e1")))
            processed.claim(conn, "c", ("agency-a", "e2"), now)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    with store.transaction() as conn:
        assert processed.is_processed(conn, "c", ("agency-a", "e2"))
    assert seen == [True]
    store.close()


def test_dialect_name(store: Store) -> None:
    """dialect_name names the backend in SQLAlchemy's terms."""
    assert store.dialect_name in {"sqlite", "postgresql"}


def test_ping_succeeds(store: Store) -> None:
    """ping returns quietly when the database answers."""
    store.ping()


def test_transaction_commits_on_success(store: Store, now: datetime) -> None:
    """Work done in a transaction block that ends normally is committed."""
    with store.transaction() as conn:
        processed.claim(conn, "c", ("agency-a", "e1"), now)
    with store.transaction() as conn:
        assert processed.is_processed(conn, "c", ("agency-a", "e1"))


def test_transaction_that_raises_rolls_back_everything(store: Store, now: datetime) -> None:
    """An exception in a transaction block undoes every write made in it."""

    class Boom(Exception):
        pass

    def failing_work() -> None:
        with store.transaction() as conn:
            processed.claim(conn, "c", ("agency-a", "e1"), now)
            outbox.add(
                conn, source="agency-a", event_id="e1", topic="t", key="k", envelope={}, at=now
            )
            raise Boom

    with pytest.raises(Boom):
        failing_work()
    with store.transaction() as conn:
        assert not processed.is_processed(conn, "c", ("agency-a", "e1"))
        assert outbox.get(conn, "agency-a", "e1") is None
        assert outbox.count_pending(conn) == 0


def test_driver_error_becomes_store_error_and_rolls_back(store: Store, now: datetime) -> None:
    """A database error inside a transaction surfaces as StoreError and undoes the block."""

    def failing_work() -> None:
        with store.transaction() as conn:
            processed.claim(conn, "c", ("agency-a", "e1"), now)
            conn.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(StoreError) as caught:
        failing_work()
    assert caught.value.__cause__ is not None
    with store.transaction() as conn:
        assert not processed.is_processed(conn, "c", ("agency-a", "e1"))


def test_naive_datetime_is_rejected(store: Store) -> None:
    """Writing a naive datetime fails with a non-retriable StoreError."""
    with pytest.raises(StoreError) as caught, store.transaction() as conn:
        processed.claim(conn, "c", ("agency-a", "e1"), datetime(2026, 1, 1, 12, 0))
    assert "naive" in str(caught.value)
    assert caught.value.retriable is False


def test_timestamps_come_back_aware_utc(store: Store) -> None:
    """A timestamp written in any zone is read back as the same instant in UTC."""
    cet = timezone(timedelta(hours=1))
    written = datetime(2026, 1, 1, 13, 30, 15, 123456, tzinfo=cet)
    with store.transaction() as conn:
        processed.claim(conn, "c", ("agency-a", "e1"), written)
    with store.transaction() as conn:
        if store.dialect_name == "postgresql":
            # PostgreSQL answers in the session's zone; the store must undo that.
            conn.execute(text("SET LOCAL TIME ZONE 'America/New_York'"))
        read = conn.execute(select(processed_events.c.processed_at)).scalar_one()
    assert read.tzinfo is UTC
    assert read == written
    assert read.hour == 12


def test_ping_unreachable_postgres_is_store_error(closed_port: int) -> None:
    """ping against a PostgreSQL port nobody listens on raises StoreError."""
    store = Store.open(
        f"postgresql://postgres@127.0.0.1:{closed_port}/test", apply_migrations=False
    )
    with pytest.raises(StoreError):
        store.ping()
    store.close()


def test_open_unreachable_postgres_is_store_error(closed_port: int) -> None:
    """Opening (and so migrating) an unreachable PostgreSQL raises StoreError."""
    with pytest.raises(StoreError):
        Store.open(f"postgresql://postgres@127.0.0.1:{closed_port}/test")


def test_unreachable_postgres_transaction_is_store_error(closed_port: int) -> None:
    """Starting a transaction on an unreachable PostgreSQL raises StoreError."""
    store = Store.open(
        f"postgresql://postgres@127.0.0.1:{closed_port}/test", apply_migrations=False
    )
    with pytest.raises(StoreError), store.transaction():
        pass
    store.close()


def test_closed_store_is_store_error(store: Store) -> None:
    """Using a store after close() raises StoreError rather than reconnecting."""
    store.close()
    with pytest.raises(StoreError):
        store.ping()
    with pytest.raises(StoreError), store.transaction():
        pass


def test_store_is_safe_to_share_between_threads(store: Store, now: datetime) -> None:
    """Many threads writing through one store concurrently all succeed and nothing is lost."""
    workers, per_worker = 8, 15
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(per_worker):
                event_id = f"w{worker}-e{i}"
                with store.transaction() as conn:
                    assert processed.claim(conn, "router", ("agency-a", event_id), now)
                    assert outbox.add(
                        conn,
                        source="agency-a",
                        event_id=event_id,
                        topic="t",
                        key=str(worker),
                        envelope={},
                        at=now,
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with store.transaction() as conn:
        assert outbox.count_pending(conn) == workers * per_worker


def test_errors_do_not_reveal_parameters(store: Store, now: datetime) -> None:
    """Neither the StoreError nor its cause quote the statement's parameter values."""
    with store.transaction() as conn:
        inbox.add_many(conn, "a1", [(("agency-a", "e1"), {})], now)
    secret = "Jane Survivor, 12 Hidden Lane"

    def violate() -> None:
        with store.transaction() as conn:
            conn.execute(
                inbox_table.insert().values(
                    agency_id="a1",
                    source="agency-a",
                    event_id="e1",
                    envelope={"name": secret},
                    delivered_at=now,
                )
            )

    with pytest.raises(StoreError) as caught:
        violate()
    assert secret not in str(caught.value)
    assert secret not in str(caught.value.__cause__)
