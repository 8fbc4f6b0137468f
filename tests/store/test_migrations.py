"""Versioned migrations: applying, re-applying, concurrency and agreement with schema.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, select, text

from hub.errors import StoreError
from hub.store import MIGRATIONS, create_store_engine, current_version, migrate, referral_subjects
from hub.store.schema import metadata, schema_migrations

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    created = create_store_engine(store_url)
    yield created
    created.dispose()


def _index_shapes(engine: Engine, table: str) -> set[tuple[str, tuple[str, ...]]]:
    return {
        (str(ix["name"]), tuple(str(c) for c in ix["column_names"]))
        for ix in inspect(engine).get_indexes(table)
        if not ix.get("unique")
    }


def test_migration_versions_are_contiguous() -> None:
    """MIGRATIONS is numbered 1..n in order without gaps."""
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_migrate_applies_all_from_empty(engine: Engine) -> None:
    """On an empty database migrate applies every migration in order."""
    assert current_version(engine) == 0
    assert migrate(engine) == [m.version for m in MIGRATIONS]
    assert current_version(engine) == MIGRATIONS[-1].version
    with engine.connect() as conn:
        rows = conn.execute(
            select(schema_migrations.c.version, schema_migrations.c.applied_at).order_by(
                schema_migrations.c.version
            )
        ).all()
    assert [r.version for r in rows] == [m.version for m in MIGRATIONS]
    assert all(r.applied_at.tzinfo is UTC for r in rows)


def test_migrate_twice_is_a_no_op(engine: Engine) -> None:
    """A second migrate applies nothing and leaves the version unchanged."""
    migrate(engine)
    assert migrate(engine) == []
    assert current_version(engine) == MIGRATIONS[-1].version


def test_migrate_resumes_after_partial_history(engine: Engine) -> None:
    """A database at version 1 gets only the later migrations."""
    with engine.begin() as conn:
        schema_migrations.create(conn)
        MIGRATIONS[0].upgrade(conn)
        conn.execute(
            schema_migrations.insert().values(
                version=1, description=MIGRATIONS[0].description, applied_at=datetime.now(UTC)
            )
        )
    assert current_version(engine) == 1
    assert migrate(engine) == [m.version for m in MIGRATIONS[1:]]


def test_migrated_database_matches_schema_module(engine: Engine) -> None:
    """Reflecting a migrated database gives schema.py's tables, columns and indexes."""
    migrate(engine)
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) == set(metadata.tables)
    for name, table in metadata.tables.items():
        reflected = [c["name"] for c in inspector.get_columns(name)]
        assert reflected == [c.name for c in table.columns], name
        declared = {(str(ix.name), tuple(c.name for c in ix.columns)) for ix in table.indexes}
        assert _index_shapes(engine, name) == declared, name
        reflected_pk = inspector.get_pk_constraint(name)["constrained_columns"]
        assert reflected_pk == [c.name for c in table.primary_key.columns], name


def test_concurrent_migrate_is_safe(store_url: str) -> None:
    """Two engines migrating the same empty database at once apply each migration once."""
    engines = [create_store_engine(store_url) for _ in range(2)]
    barrier = threading.Barrier(len(engines))
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run(engine: Engine) -> None:
        try:
            barrier.wait()
            results.append(migrate(engine))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert sorted(v for applied in results for v in applied) == [m.version for m in MIGRATIONS]
        with engines[0].connect() as conn:
            versions = conn.execute(select(schema_migrations.c.version)).scalars().all()
        assert sorted(versions) == [m.version for m in MIGRATIONS]
    finally:
        for engine in engines:
            engine.dispose()


def test_database_newer_than_code_is_refused(engine: Engine) -> None:
    """migrate raises a non-retriable StoreError for a version it does not know."""
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(
            schema_migrations.insert().values(
                version=999, description="from the future", applied_at=datetime.now(UTC)
            )
        )
    with pytest.raises(StoreError) as caught:
        migrate(engine)
    assert caught.value.retriable is False


def test_referral_parties_are_filled_in_from_the_projection(engine: Engine) -> None:
    """A referral linked before its parties were recorded gets them from its projection."""
    with engine.begin() as conn:
        schema_migrations.create(conn)
        for step in MIGRATIONS[:5]:
            step.upgrade(conn)
            conn.execute(
                schema_migrations.insert().values(
                    version=step.version, description=step.description, applied_at=NOW
                )
            )
        conn.execute(
            text(
                "INSERT INTO referrals (referral_id, from_agency, to_agency, subject_id,"
                " consent_id, service, priority, status, created_at, updated_at, version)"
                " VALUES ('r1', 'hospital', 'court', 's1', 'c1', 'svc', 'routine', 'requested',"
                " :at, :at, 1)"
            ),
            {"at": NOW.replace(tzinfo=None)},
        )
        conn.execute(
            text(
                "INSERT INTO referral_subjects (referral_id, subject_id, created_at)"
                " VALUES ('r1', 's1', :at), ('r2', 's2', :at)"
            ),
            {"at": NOW.replace(tzinfo=None)},
        )

    assert migrate(engine) == [m.version for m in MIGRATIONS[5:]]

    with engine.connect() as conn:
        assert referral_subjects.parties_of(conn, ["r1", "r2", "r3"]) == {
            "r1": referral_subjects.Parties("hospital", "court"),
            "r2": None,
        }
