"""The subject-keys repository: per-subject keys and their destruction."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection

from hub.store import subject_keys


def _key(conn: Connection, subject_id: str, new_key: bytes, at: datetime) -> bytes | None:
    return subject_keys.get_or_create_keys(conn, {subject_id: new_key}, at)[subject_id]


def test_first_call_stores_the_new_key(conn: Connection, now: datetime) -> None:
    """A subject without a key gets the new key offered, stored."""
    assert _key(conn, "s1", b"\x00key-1\xff", now) == b"\x00key-1\xff"
    assert subject_keys.get_key(conn, "s1") == b"\x00key-1\xff"


def test_existing_key_wins(conn: Connection, now: datetime) -> None:
    """A later call returns the stored key, not the new one offered."""
    _key(conn, "s1", b"key-1", now)
    assert _key(conn, "s1", b"key-2", now) == b"key-1"


def test_destroyed_key_is_gone_for_good(conn: Connection, now: datetime) -> None:
    """After destroy_key the subject has no key and none is created again."""
    _key(conn, "s1", b"key-1", now)
    assert subject_keys.destroy_key(conn, "s1", now + timedelta(days=1)) is True
    assert subject_keys.get_key(conn, "s1") is None
    assert _key(conn, "s1", b"key-2", now) is None


def test_destroy_twice_is_false(conn: Connection, now: datetime) -> None:
    """Destroying an already destroyed key returns False."""
    _key(conn, "s1", b"key-1", now)
    assert subject_keys.destroy_key(conn, "s1", now)
    assert subject_keys.destroy_key(conn, "s1", now) is False


def test_destroy_without_key_leaves_tombstone(conn: Connection, now: datetime) -> None:
    """Destroying a subject that has no key returns False and blocks future keys."""
    assert subject_keys.destroy_key(conn, "s1", now) is False
    assert _key(conn, "s1", b"key-1", now) is None


def test_get_key_unknown_is_none(conn: Connection) -> None:
    """get_key returns None for a subject never seen."""
    assert subject_keys.get_key(conn, "nobody") is None


def test_keys_for_a_batch_of_subjects(conn: Connection, now: datetime) -> None:
    """New subjects get the keys offered; existing keys win; erased subjects get none."""
    _key(conn, "kept", b"old", now)
    subject_keys.destroy_key(conn, "erased", now)
    found = subject_keys.get_or_create_keys(conn, {"new": b"n", "kept": b"k", "erased": b"e"}, now)
    assert found == {"new": b"n", "kept": b"old", "erased": None}
    assert subject_keys.get_keys(conn, ["new", "erased", "never"]) == {"new": b"n", "erased": None}
