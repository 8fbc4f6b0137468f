"""The agencies repository: agency records and token hashes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Connection

from hub.errors import StoreError
from hub.store import AgencyRow, Store, agencies


def _agency(agency_id: str, at: datetime) -> AgencyRow:
    return AgencyRow(
        agency_id=agency_id,
        kind="shelter",
        region="north",
        display_name=f"Agency {agency_id}",
        delivery_mode="pull",
        settings={"languages": ["en", "fr"], "capacity": 12},
        created_at=at,
        updated_at=at,
    )


def test_upsert_then_get(conn: Connection, now: datetime) -> None:
    """An upserted agency reads back field for field."""
    row = _agency("a1", now)
    agencies.upsert_agency(conn, row)
    assert agencies.get_agency(conn, "a1") == row


def test_get_unknown_agency_is_none(conn: Connection) -> None:
    """get_agency returns None for an id never stored."""
    assert agencies.get_agency(conn, "nobody") is None


def test_upsert_updates_but_keeps_created_at(conn: Connection, now: datetime) -> None:
    """Upserting an existing agency changes its fields but not created_at."""
    agencies.upsert_agency(conn, _agency("a1", now))
    later = now + timedelta(hours=1)
    changed = replace(
        _agency("a1", later), display_name="Renamed", delivery_mode="push", settings={"x": 1}
    )
    agencies.upsert_agency(conn, changed)
    stored = agencies.get_agency(conn, "a1")
    assert stored == replace(changed, created_at=now)


def test_list_agencies_ordered_by_id(conn: Connection, now: datetime) -> None:
    """list_agencies returns every agency ordered by id."""
    for agency_id in ("b", "c", "a"):
        agencies.upsert_agency(conn, _agency(agency_id, now))
    assert [a.agency_id for a in agencies.list_agencies(conn)] == ["a", "b", "c"]


def test_token_hash_set_and_rotated(conn: Connection, now: datetime) -> None:
    """set_token_hash stores a hash and a later call replaces it."""
    agencies.upsert_agency(conn, _agency("a1", now))
    assert agencies.get_token_hash(conn, "a1") is None
    agencies.set_token_hash(conn, "a1", "hash-1", now)
    assert agencies.get_token_hash(conn, "a1") == "hash-1"
    agencies.set_token_hash(conn, "a1", "hash-2", now + timedelta(days=1))
    assert agencies.get_token_hash(conn, "a1") == "hash-2"


def test_token_hash_for_unknown_agency_is_refused(store: Store, now: datetime) -> None:
    """A token for an agency that does not exist violates the foreign key: StoreError."""
    with pytest.raises(StoreError), store.transaction() as conn:
        agencies.set_token_hash(conn, "nobody", "hash", now)
