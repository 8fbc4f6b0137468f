"""The schema's Alembic history: upgrading, taking over old stores, refusing, concurrency."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, text

from hub.errors import StoreError
from hub.store import Store, create_store_engine, current_version, migrate, referral_subjects
from hub.store.migrations import head_revision, history
from hub.store.schema import metadata
from tests.store import former_runner

NOW = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
REVISIONS = [step.revision for step in history()]
PREVIOUS = REVISIONS[-2]


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


def _alembic_revisions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_revisions_form_one_numbered_line() -> None:
    """The history is 0001, 0002, ... in order, one head, each step described."""
    assert [f"{n:04d}" for n in range(1, len(REVISIONS) + 1)] == REVISIONS
    assert head_revision() == REVISIONS[-1]
    assert all(step.description for step in history())


def test_upgrade_applies_every_revision_to_an_empty_database(engine: Engine) -> None:
    """On an empty database migrate applies every revision in order and records the head."""
    assert current_version(engine) is None
    assert migrate(engine) == REVISIONS
    assert current_version(engine) == head_revision()
    assert _alembic_revisions(engine) == [head_revision()]


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    """A second migrate applies nothing and leaves the revision unchanged."""
    migrate(engine)
    assert migrate(engine) == []
    assert current_version(engine) == head_revision()


def test_upgrade_from_the_previous_revision_keeps_the_data(engine: Engine) -> None:
    """A database at the previous revision gets only the last one, and keeps its rows."""
    assert migrate(engine, target=PREVIOUS) == REVISIONS[:-1]
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO agencies (agency_id, kind, region, display_name, delivery_mode,"
                " settings, created_at, updated_at)"
                " VALUES ('court', 'court', 'north', 'Court', 'pull', '{}', :at, :at)"
            ),
            {"at": NOW.replace(tzinfo=None)},
        )
    assert current_version(engine) == PREVIOUS

    assert migrate(engine) == [head_revision()]

    with engine.connect() as conn:
        agencies = conn.execute(text("SELECT agency_id FROM agencies")).scalars().all()
    assert agencies == ["court"]


def test_migrated_database_matches_schema_module(engine: Engine) -> None:
    """Reflecting a migrated database gives schema.py's tables, columns and indexes."""
    migrate(engine)
    inspector = inspect(engine)
    assert set(inspector.get_table_names()) == set(metadata.tables) | {"alembic_version"}
    for name, table in metadata.tables.items():
        reflected = [c["name"] for c in inspector.get_columns(name)]
        assert reflected == [c.name for c in table.columns], name
        declared = {(str(ix.name), tuple(c.name for c in ix.columns)) for ix in table.indexes}
        assert _index_shapes(engine, name) == declared, name
        reflected_pk = inspector.get_pk_constraint(name)["constrained_columns"]
        assert reflected_pk == [c.name for c in table.primary_key.columns], name


def test_concurrent_upgrades_are_serialised(store_url: str) -> None:
    """Two engines upgrading the same empty database at once apply each revision once."""
    engines = [create_store_engine(store_url) for _ in range(2)]
    barrier = threading.Barrier(len(engines))
    results: list[list[str]] = []
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
        assert sorted(results) == [[], REVISIONS]
        assert _alembic_revisions(engines[0]) == [head_revision()]
    finally:
        for engine in engines:
            engine.dispose()


def test_database_newer_than_code_is_refused(engine: Engine) -> None:
    """A revision this release does not know is refused, not retried, with a clear message."""
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError) as caught:
        migrate(engine)
    assert caught.value.retriable is False
    assert "9999" in str(caught.value)
    assert "does not know" in str(caught.value)


@pytest.mark.parametrize("version", [former_runner.MIGRATIONS[-1].version, 5])
def test_store_of_the_former_runner_is_taken_over(engine: Engine, version: int) -> None:
    """A store the hand-written runner left at version N is stamped N, upgraded, and keeps rows."""
    with engine.begin() as conn:
        former_runner._versions.create(conn)
        for step in former_runner.MIGRATIONS[:version]:
            step.upgrade(conn)
            conn.execute(
                former_runner._versions.insert().values(
                    version=step.version, description=step.description, applied_at=NOW
                )
            )
        conn.execute(
            text("INSERT INTO subject_keys (subject_id, key, created_at) VALUES ('s1', NULL, :at)"),
            {"at": NOW.replace(tzinfo=None)},
        )
    assert current_version(engine) == f"{version:04d}"

    assert migrate(engine) == REVISIONS[version:]

    assert _alembic_revisions(engine) == [head_revision()]
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT subject_id FROM subject_keys")).scalars().all()
    assert keys == ["s1"]


def test_former_runner_history_this_release_cannot_take_over_is_refused(engine: Engine) -> None:
    """A schema_migrations history beyond what the former runner shipped is refused."""
    with engine.begin() as conn:
        former_runner._versions.create(conn)
        for version in range(1, 10):
            conn.execute(
                former_runner._versions.insert().values(
                    version=version, description="step", applied_at=NOW
                )
            )
    with pytest.raises(StoreError) as caught:
        migrate(engine)
    assert caught.value.retriable is False


@pytest.mark.parametrize("at", [None, PREVIOUS])
def test_opening_an_older_schema_without_upgrading_is_refused(
    store_url: str, engine: Engine, at: str | None
) -> None:
    """Start-up on a schema older than the code refuses in one line naming `hub db upgrade`."""
    if at is not None:
        migrate(engine, target=at)
    with pytest.raises(StoreError) as caught:
        Store.open(store_url, apply_migrations=False, require_current_schema=True)
    message = str(caught.value)
    assert "run `hub db upgrade`" in message
    assert head_revision() in message
    assert "\n" not in message
    assert caught.value.retriable is False

    migrate(engine)
    Store.open(store_url, apply_migrations=False, require_current_schema=True).close()


def test_referral_parties_are_filled_in_from_the_projection(engine: Engine) -> None:
    """A referral linked before its parties were recorded gets them from its projection."""
    migrate(engine, target="0005")
    with engine.begin() as conn:
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

    assert migrate(engine) == REVISIONS[5:]

    with engine.connect() as conn:
        assert referral_subjects.parties_of(conn, ["r1", "r2", "r3"]) == {
            "r1": referral_subjects.Parties("hospital", "court"),
            "r2": None,
        }
