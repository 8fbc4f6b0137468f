"""How the hub reads and writes a social-service agency's own database.

An agency that runs a case-management application on a relational database
names, in configuration, the tables (or views) where its application records
what it sends, the table where the hub writes what it receives, and which
column holds which canonical field. The database URL itself is read from an
environment variable the configuration names, so credentials never sit in the
TOML file.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = [
    "INBOUND_FIELDS",
    "OUTGOING_FIELDS",
    "REQUIRED_OUTGOING_FIELDS",
    "InboundTable",
    "OutgoingKind",
    "OutgoingSource",
    "SocialDbDelivery",
]

#: A table, view or column name as the agency's database spells it; quoted by
#: SQLAlchemy, never pasted into SQL text.
SqlName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_$.]{0,127}$")]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]

OutgoingKind = Literal["referral", "status", "outcome"]

#: Canonical fields a source of each kind may map, beside ``key`` (its row key).
OUTGOING_FIELDS: dict[str, frozenset[str]] = {
    "referral": frozenset(
        {
            "referral_id",
            "to_agency",
            "subject_ref",
            "service",
            "priority",
            "consent_id",
            "due_by",
            "reason",
            "narrative",
            "risk_level",
            "phone",
            "do_not_contact",
        }
    ),
    "status": frozenset({"referral_id", "status", "status_reason", "note"}),
    "outcome": frozenset({"referral_id", "outcome", "occurred_at", "note"}),
}

REQUIRED_OUTGOING_FIELDS: dict[str, frozenset[str]] = {
    "referral": frozenset(
        {"referral_id", "to_agency", "subject_ref", "service", "priority", "consent_id"}
    ),
    "status": frozenset({"referral_id", "status"}),
    "outcome": frozenset({"referral_id", "outcome", "occurred_at"}),
}

#: What the hub can write into the agency's inbound table: envelope attributes
#: and ``data`` fields of the delivered event, after redaction.
INBOUND_FIELDS: frozenset[str] = frozenset(
    {
        "event_id",
        "event_type",
        "source",
        "time",
        "referral_id",
        "from_agency",
        "to_agency",
        "service",
        "priority",
        "consent_id",
        "status",
        "status_reason",
        "outcome",
        "reason",
        "narrative",
        "note",
        "payload",
    }
)


class _Closed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OutgoingSource(_Closed):
    """A table or view whose rows are events the agency sends, all of one kind."""

    kind: OutgoingKind
    table: SqlName
    key: SqlName = Field(description="The column that identifies a row; never reused.")
    columns: dict[str, SqlName] = Field(description="Canonical field -> column.")

    @model_validator(mode="after")
    def _fields_known_and_complete(self) -> OutgoingSource:
        unknown = sorted(set(self.columns) - OUTGOING_FIELDS[self.kind])
        if unknown:
            raise ValueError(f"columns: {self.kind} rows have no field {unknown}")
        missing = sorted(REQUIRED_OUTGOING_FIELDS[self.kind] - set(self.columns))
        if missing:
            raise ValueError(f"columns: {self.kind} rows need a column for {missing}")
        return self


class InboundTable(_Closed):
    """The table the hub writes deliveries into, one row per event, keyed by event id."""

    table: SqlName
    columns: dict[str, SqlName] = Field(description="Canonical field -> column.")

    @model_validator(mode="after")
    def _fields_known(self) -> InboundTable:
        unknown = sorted(set(self.columns) - INBOUND_FIELDS)
        if unknown:
            raise ValueError(f"columns: no inbound field {unknown}")
        if "event_id" not in self.columns:
            raise ValueError("columns: event_id needs a column: it keys every delivery")
        return self


class SocialDbDelivery(_Closed):
    """The agency's own relational database: the hub polls what it sends, writes what it gets."""

    mode: Literal["social-db"]
    url_env: EnvName = Field(
        description="Environment variable holding the SQLAlchemy URL, credentials included."
    )
    poll_interval_s: float = Field(default=2.0, gt=0, le=3600)
    batch_size: int = Field(default=100, ge=1, le=10_000)
    ledger_table: SqlName = Field(
        default="hub_capture",
        description="Hub-owned table in the agency database recording every row taken in.",
    )
    outgoing: tuple[OutgoingSource, ...] = ()
    inbound: InboundTable | None = None
    value_maps: dict[str, dict[str, str]] = Field(
        default_factory=dict,
        description="Per canonical field, the agency's code -> the hub's code.",
    )

    @model_validator(mode="after")
    def _sources_distinct(self) -> SocialDbDelivery:
        tables = [source.table for source in self.outgoing]
        if len(tables) != len(set(tables)):
            raise ValueError("outgoing: each table or view may be listed once")
        return self
