"""The agency's own database: the rows it sends, the ledger of what the hub took, its inbox.

Change capture cannot skip a committed row because it keeps no watermark: a
row is new while the hub-owned ledger table holds no entry for its key, so a
row whose transaction commits after a later row's is found by the next poll
all the same. Taking a row in is three steps, each safe to repeat:

1. *claim*: one transaction writes a ``pending`` ledger entry for each new row,
   with the moment it was taken (the event's time, so a retry makes the same
   event); an entry another hub process wrote first wins, unchanged;
2. the hub submits the events to its intake, which de-duplicates on event id;
3. *settle*: one transaction marks each entry ``accepted`` or ``refused`` with
   the reason. Entries left ``pending`` by a crash are submitted again.

Deliveries go into the agency's inbound table with an insert that does
nothing when the event id is there already, one transaction per batch: a
redelivery writes nothing, and the commit is the acknowledgement.

Every failure to reach or use the database is :class:`AgencyDatabaseError`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    and_,
    cast,
    create_engine,
    exists,
    select,
    update,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchTableError, SQLAlchemyError

from hub.config.social_db import OutgoingSource, SocialDbDelivery
from hub.errors import DeliveryError

__all__ = [
    "AgencyDatabase",
    "AgencyDatabaseError",
    "Claimed",
    "Settlement",
    "ledger_table",
]

PENDING = "pending"
ACCEPTED = "accepted"
REFUSED = "refused"


class AgencyDatabaseError(DeliveryError):
    """The agency's database cannot be reached or used; another attempt may succeed."""


@dataclass(frozen=True)
class Claimed:
    """A row the hub has taken in and not yet settled."""

    source: OutgoingSource
    key: str
    row: Mapping[str, Any]
    taken_at: datetime


@dataclass(frozen=True)
class Settlement:
    """What became of a claimed row at the hub."""

    source: str
    key: str
    event_id: str | None
    state: str
    reason: str | None = None


def ledger_table(name: str, metadata: MetaData) -> Table:
    """The hub-owned ledger: one entry per row of the agency's tables the hub took in."""
    return Table(
        name,
        metadata,
        Column("source", String(128), nullable=False),
        Column("row_key", String(255), nullable=False),
        Column("event_id", String(64)),
        Column("state", String(16), nullable=False),
        Column("reason", Text),
        # Text, not a timestamp type: MariaDB's DATETIME drops microseconds by
        # default, and a retry must rebuild the event to the microsecond.
        Column("taken_at", String(40), nullable=False),
        Column("settled_at", String(40)),
        PrimaryKeyConstraint("source", "row_key"),
    )


def database_url(settings: SocialDbDelivery, agency_id: str) -> str:
    """The URL from the environment variable the configuration names."""
    url = os.environ.get(settings.url_env)
    if not url:
        raise AgencyDatabaseError(
            f"{agency_id}: the environment variable {settings.url_env} is not set",
            retriable=False,
        )
    return url


class AgencyDatabase:
    """One agency's database, as its mapping describes it."""

    def __init__(self, agency_id: str, settings: SocialDbDelivery, engine: Engine) -> None:
        self.agency_id = agency_id
        self.settings = settings
        self.engine = engine
        self._metadata = MetaData()
        self._ledger = ledger_table(settings.ledger_table, self._metadata)
        self._tables: dict[str, Table] = {}

    @classmethod
    def connect(cls, agency_id: str, settings: SocialDbDelivery) -> AgencyDatabase:
        """An engine on the configured URL; nothing is opened until first use."""
        url = database_url(settings, agency_id)
        try:
            parsed = make_url(url)
            options: dict[str, Any] = {"pool_pre_ping": True}
            if parsed.get_backend_name() != "sqlite":
                options["pool_recycle"] = 300
                options["connect_args"] = _connect_timeout(parsed.get_backend_name())
            engine = create_engine(parsed, **options)
        except (ArgumentError, ImportError, ValueError) as exc:
            raise AgencyDatabaseError(
                f"{agency_id}: {settings.url_env} is not a usable database URL: {exc}",
                retriable=False,
            ) from exc
        return cls(agency_id, settings, engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise AgencyDatabaseError(
                f"{self.agency_id}: database unavailable while {doing}: {type(exc).__name__}"
            ) from exc

    def ensure_ledger(self) -> None:
        """Create the ledger table if the hub's account may and it is absent."""
        with self._transaction("creating the ledger table") as conn:
            self._ledger.create(conn, checkfirst=True)

    def table(self, name: str) -> Table:
        """The agency's table as its database describes it (reflected once)."""
        found = self._tables.get(name)
        if found is None:
            try:
                found = Table(name, MetaData(), autoload_with=self.engine)
            except NoSuchTableError:
                raise AgencyDatabaseError(
                    f"{self.agency_id}: no table or view {name!r}", retriable=False
                ) from None
            except SQLAlchemyError as exc:
                raise AgencyDatabaseError(
                    f"{self.agency_id}: database unavailable while reading {name!r}: "
                    f"{type(exc).__name__}"
                ) from exc
            self._tables[name] = found
        return found

    # --- change capture ---

    def claim(self, now: datetime) -> list[Claimed]:
        """New rows of every outgoing source and entries left pending, claimed in one go."""
        claimed: list[Claimed] = []
        limit = self.settings.batch_size
        sources = [(source, self.table(source.table)) for source in self.settings.outgoing]
        with self._transaction("claiming new rows") as conn:
            for source, table in sources:
                key = table.c[source.key]
                taken = exists().where(
                    and_(
                        self._ledger.c.source == source.table,
                        self._ledger.c.row_key == cast(key, String(255)),
                    )
                )
                fresh = conn.execute(select(key).where(~taken).order_by(key).limit(limit)).all()
                if fresh:
                    stamp = now.astimezone(UTC).isoformat()
                    values = [
                        {
                            "source": source.table,
                            "row_key": str(row[0]),
                            "state": PENDING,
                            "taken_at": stamp,
                        }
                        for row in fresh
                    ]
                    conn.execute(_insert_ignoring_duplicates(conn, self._ledger), values)
            for source, table in sources:
                claimed.extend(self._pending(conn, source, table, limit))
        return claimed

    def _pending(
        self, conn: Connection, source: OutgoingSource, table: Table, limit: int
    ) -> list[Claimed]:
        ledger = self._ledger
        key = table.c[source.key]
        query = (
            select(table, ledger.c.taken_at)
            .join(
                ledger,
                and_(ledger.c.source == source.table, ledger.c.row_key == cast(key, String(255))),
            )
            .where(ledger.c.state == PENDING)
            .order_by(key)
            .limit(limit)
        )
        found = []
        for row in conn.execute(query).mappings():
            values = {name: value for name, value in row.items() if name != "taken_at"}
            found.append(
                Claimed(
                    source,
                    str(values[source.key]),
                    values,
                    datetime.fromisoformat(row["taken_at"]),
                )
            )
        return found

    def settle(self, settlements: Sequence[Settlement], now: datetime) -> None:
        """Record, in one transaction, what became of each claimed row."""
        if not settlements:
            return
        ledger = self._ledger
        stamp = now.astimezone(UTC).isoformat()
        with self._transaction("recording what the hub took in") as conn:
            for item in settlements:
                conn.execute(
                    update(ledger)
                    .where(
                        ledger.c.source == item.source,
                        ledger.c.row_key == item.key,
                        ledger.c.state == PENDING,
                    )
                    .values(
                        state=item.state,
                        event_id=item.event_id,
                        reason=item.reason,
                        settled_at=stamp,
                    )
                )

    def ledger_entries(self) -> list[dict[str, Any]]:
        """Every ledger entry, for checks and operators."""
        with self._transaction("reading the ledger") as conn:
            query = select(self._ledger).order_by(self._ledger.c.source, self._ledger.c.row_key)
            return [dict(row) for row in conn.execute(query).mappings()]

    # --- deliveries ---

    def write_inbound(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert deliveries, one transaction, skipping event ids already there; rows written."""
        inbound = self.settings.inbound
        if inbound is None or not rows:
            return 0
        table = self.table(inbound.table)
        key = inbound.columns["event_id"]
        prepared = [_coerce(table, row) for row in rows]
        with self._transaction("writing deliveries") as conn:
            result = conn.execute(_insert_ignoring_duplicates(conn, table, key), prepared)
            return max(result.rowcount or 0, 0)

    def inbound_event_ids(self) -> set[str]:
        inbound = self.settings.inbound
        if inbound is None:
            return set()
        table = self.table(inbound.table)
        column = table.c[inbound.columns["event_id"]]
        with self._transaction("reading deliveries") as conn:
            return {str(value) for value in conn.execute(select(column)).scalars()}

    def ping(self) -> None:
        with self._transaction("checking the connection") as conn:
            conn.execute(select(1))


def _insert_ignoring_duplicates(conn: Connection, table: Table, key: str | None = None) -> Any:
    """An INSERT that leaves an existing row with the same key as it is."""
    name = conn.dialect.name
    if name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if name == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if name in ("mysql", "mariadb"):
        # Not INSERT IGNORE, which also turns truncation and type errors into
        # warnings: only a duplicate key is meant to be a no-op here.
        column = key or next(iter(table.primary_key.columns)).name
        statement = mysql.insert(table)
        return statement.on_duplicate_key_update({column: statement.inserted[column]})
    raise AgencyDatabaseError(f"no idempotent insert for {name} databases", retriable=False)


def _coerce(table: Table, row: Mapping[str, Any]) -> dict[str, Any]:
    """Values as the column types want them: date-times aware or naive UTC, or text."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        column = table.c.get(name)
        if isinstance(value, datetime) and column is not None:
            utc = value.astimezone(UTC)
            if isinstance(column.type, DateTime):
                value = utc if column.type.timezone else utc.replace(tzinfo=None)
            else:
                value = utc.isoformat()
        out[name] = value
    return out


def _connect_timeout(backend: str) -> dict[str, Any]:
    # A database that does not answer must not hold a delivery worker for
    # minutes: fail fast and let the retry policy decide.
    if backend == "postgresql":
        return {"connect_timeout": 5}
    if backend in ("mysql", "mariadb"):
        return {"connect_timeout": 5, "read_timeout": 30, "write_timeout": 30}
    return {}
