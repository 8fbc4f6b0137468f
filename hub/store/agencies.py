"""Registered agencies and the hashes of their API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, func, select

from hub.store._errors import translating
from hub.store._sql import upsert
from hub.store.schema import agencies, agency_tokens

__all__ = [
    "AgencyRow",
    "get_agency",
    "get_token_hash",
    "list_agencies",
    "lock_register",
    "set_token_hash",
    "upsert_agency",
]


@dataclass(frozen=True, slots=True)
class AgencyRow:
    """One agency taking part in the exchange."""

    agency_id: str
    kind: str
    region: str
    display_name: str
    delivery_mode: str
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def _row(m: RowMapping) -> AgencyRow:
    return AgencyRow(
        agency_id=m["agency_id"],
        kind=m["kind"],
        region=m["region"],
        display_name=m["display_name"],
        delivery_mode=m["delivery_mode"],
        settings=m["settings"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


#: The advisory lock that orders hub processes bringing the register up to date.
_REGISTER_LOCK_KEY = 0x6875_622D_6167_656E  # "hub-agen"


@translating
def lock_register(conn: Connection) -> None:
    """Hold the register for this transaction against other processes doing the same.

    Several hub processes start together; each compares the register with its
    configuration, and without this two would both find an agency new and
    both audit its addition. SQLite runs one process, one writer at a time.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_REGISTER_LOCK_KEY)))


@translating
def upsert_agency(conn: Connection, row: AgencyRow) -> None:
    """Insert the agency, or update every field of it but ``created_at``."""
    upsert(
        conn,
        agencies,
        {
            "agency_id": row.agency_id,
            "kind": row.kind,
            "region": row.region,
            "display_name": row.display_name,
            "delivery_mode": row.delivery_mode,
            "settings": row.settings,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        },
        conflict_on=["agency_id"],
        update=["kind", "region", "display_name", "delivery_mode", "settings", "updated_at"],
    )


@translating
def get_agency(conn: Connection, agency_id: str) -> AgencyRow | None:
    m = conn.execute(select(agencies).where(agencies.c.agency_id == agency_id)).mappings().first()
    return _row(m) if m is not None else None


@translating
def list_agencies(conn: Connection) -> list[AgencyRow]:
    """All agencies, ordered by id."""
    result = conn.execute(select(agencies).order_by(agencies.c.agency_id)).mappings()
    return [_row(m) for m in result]


@translating
def set_token_hash(conn: Connection, agency_id: str, token_hash: str, at: datetime) -> None:
    """Store the hash of the agency's current token, replacing any previous one."""
    upsert(
        conn,
        agency_tokens,
        {"agency_id": agency_id, "token_hash": token_hash, "rotated_at": at},
        conflict_on=["agency_id"],
        update=["token_hash", "rotated_at"],
    )


@translating
def get_token_hash(conn: Connection, agency_id: str) -> str | None:
    value = conn.execute(
        select(agency_tokens.c.token_hash).where(agency_tokens.c.agency_id == agency_id)
    ).scalar_one_or_none()
    return str(value) if value is not None else None
