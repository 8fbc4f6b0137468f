"""The one settings object: a TOML file plus ``HUB_*`` environment variables.

Built once at the entry point and passed down; nothing here runs at import time.
Environment variables override the file (``HUB_DATABASE_URL``,
``HUB_KAFKA_BOOTSTRAP``, ``HUB_DELIVERY__MAX_ATTEMPTS`` for nested keys).
Secrets (``HUB_KAFKA_SASL_PASSWORD``, ``HUB_PSEUDONYM_KEY``) are best given in the
environment, not the file, and are held as ``SecretStr`` so they never print.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from hub.broker.security import KafkaSecurity, SaslMechanism, SecurityProtocol
from hub.config.agencies import AgencyConfig
from hub.config.code_maps import CodeMapEntry
from hub.config.pathways import PathwayConfig
from hub.contracts import AgencyKind
from hub.errors import ConfigError

__all__ = [
    "BUILT_IN_PSEUDONYM_KEY",
    "AuditSettings",
    "DeliverySettings",
    "DisclosureSettings",
    "HubSettings",
    "LimitSettings",
    "RateLimit",
    "load_settings",
]

#: The pseudonym key's public placeholder: ``hub run`` refuses to start with it,
#: since anyone could recompute subject ids from national ids and record numbers.
BUILT_IN_PSEUDONYM_KEY = "change-me-pseudonym-key"
#: Shorter keys are refused too: the hashed identifiers are guessable, the key must not be.
MIN_PSEUDONYM_KEY_CHARS = 16


class DeliverySettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=5, ge=1, le=50)
    backoff_initial_s: float = Field(default=0.2, gt=0)
    backoff_max_s: float = Field(default=5.0, gt=0)
    timeout_s: float = Field(default=5.0, gt=0)


class AuditSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    signing_key: SecretStr | None = Field(
        default=None, description="Ed25519 private key, 32 bytes base64; signs checkpoints."
    )
    checkpoint_every: int = Field(default=200, ge=1, description="Entries between checkpoints.")
    checkpoint_interval_s: float = Field(
        default=5.0, ge=0, description="Least time between two checkpoints written under load."
    )


class RateLimit(BaseModel):
    """A token bucket: ``requests_per_second`` on average, ``burst`` at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests_per_second: float = Field(gt=0, le=1_000_000)
    burst: int = Field(ge=1, le=1_000_000)


class LimitSettings(BaseModel):
    """Request rate limits, kept in each API process (with several, each has its own)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(
        default=True, description="Off only to measure capacity (the bench); never in service."
    )
    agency: RateLimit = Field(
        default=RateLimit(requests_per_second=100, burst=400),
        description="Per agency, on every authenticated endpoint (/v1, /fhir).",
    )
    address: RateLimit = Field(
        default=RateLimit(requests_per_second=20, burst=100),
        description="Per client address, on every unauthenticated endpoint and request.",
    )
    failed_auth: RateLimit = Field(
        default=RateLimit(requests_per_second=0.2, burst=20),
        description="Per client address, bearer tokens refused; once spent, every token "
        "from that address is answered 429 unchecked, so tokens cannot be guessed.",
    )
    tracked_addresses: int = Field(
        default=10_000, ge=1, description="Addresses remembered; the least recent are dropped."
    )


class DisclosureSettings(BaseModel):
    """Who takes part in disclosures without consent, by agency kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    compelled_recipient_kinds: frozenset[AgencyKind] = Field(
        default=frozenset({AgencyKind.PROSECUTION, AgencyKind.COURT, AgencyKind.POLICE}),
        description="Kinds of agency a compelled disclosure may go to; any other is refused.",
    )
    order_issuer_kinds: frozenset[AgencyKind] = Field(
        default=frozenset({AgencyKind.COURT, AgencyKind.PROSECUTION}),
        description="Kinds of agency that may issue a legal order to the holder of a referral.",
    )


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="HUB_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    hub_id: str = Field(default="referral-hub", description="The hub's own CloudEvents source.")
    database_url: str = "sqlite:///var/hub.db"
    kafka_bootstrap: str | None = Field(
        default=None,
        description="Apache Kafka bootstrap servers; unset starts the embedded broker.",
    )
    kafka_idempotent_producer: bool | None = Field(
        default=None, description="Unset: on for an external Kafka, off for the embedded broker."
    )
    kafka_replication_factor: int = Field(
        default=1, ge=1, le=16, description="Replicas of every hub topic; 3 on a cluster."
    )
    kafka_min_insync_replicas: int = Field(
        default=1,
        ge=1,
        le=16,
        description="Copies a write needs before it is acknowledged; 2 on a 3-node cluster.",
    )
    kafka_dead_letter_retention_days: int = Field(
        default=400, ge=1, description="How long dead-letter topics keep messages."
    )
    kafka_audit_retention_days: int = Field(
        default=400, ge=1, description="How long hub.audit keeps entries (deleted, not compacted)."
    )
    kafka_security_protocol: SecurityProtocol = Field(
        default="PLAINTEXT",
        description="SASL_SSL: TLS and a SCRAM login (set the kafka_sasl_* and "
        "kafka_ssl_cafile); SSL: TLS alone; PLAINTEXT: neither (the embedded broker).",
    )
    kafka_sasl_mechanism: SaslMechanism = Field(
        default="SCRAM-SHA-512", description="The SASL mechanism of the hub's login."
    )
    kafka_sasl_username: str | None = Field(
        default=None, description="The hub's SCRAM user; the cluster's ACLs grant it the topics."
    )
    kafka_sasl_password: SecretStr | None = Field(
        default=None, description="The SCRAM user's password; give it as HUB_KAFKA_SASL_PASSWORD."
    )
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        description="CA certificates (PEM) the brokers' certificates must chain to; "
        "unset: the system's.",
    )
    kafka_ssl_certfile: Path | None = Field(
        default=None, description="A client certificate (PEM), for clusters that ask for one."
    )
    kafka_ssl_keyfile: Path | None = Field(
        default=None, description="The client certificate's private key (PEM)."
    )
    tansu_bin: str | None = None
    broker_port: int | None = Field(default=None, ge=1, le=65535)
    consumer_session_timeout_ms: int | None = Field(
        default=None,
        ge=1000,
        description="Unset: 10 s for an external Kafka, 2 s for the embedded broker, which "
        "holds every group join for half of it.",
    )
    consumer_max_attempts: int = Field(
        default=3,
        ge=1,
        le=50,
        description="Attempts at a record that fails in a consumer (not for want of the "
        "store or broker) before it goes to its dead-letter topic with the reason.",
    )
    ingress_partitions: int = Field(default=6, ge=1, le=256)
    inbox_partitions: int = Field(default=2, ge=1, le=64)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    pseudonym_key: SecretStr = Field(
        default=SecretStr(BUILT_IN_PSEUDONYM_KEY),
        description="Key of the hash that turns agency-local identifiers into subject ids; "
        "`hub run` refuses the built-in one.",
    )
    log_format: Literal["json", "console"] = "json"
    limits: LimitSettings = LimitSettings()
    metrics_refresh_s: float = Field(
        default=5.0, gt=0, description="How often the store-backed gauges are recomputed."
    )
    delivery: DeliverySettings = DeliverySettings()
    audit: AuditSettings = AuditSettings()
    disclosure: DisclosureSettings = DisclosureSettings()
    agencies: tuple[AgencyConfig, ...] = ()
    pathways: tuple[PathwayConfig, ...] = ()
    code_maps: tuple[CodeMapEntry, ...] = ()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Values passed in win over the environment; ``load_settings`` puts the
        # environment over the TOML file itself before passing both in.
        return (init_settings, env_settings)

    @model_validator(mode="after")
    def _agencies_unique(self) -> HubSettings:
        seen: set[str] = set()
        for index, agency in enumerate(self.agencies):
            if agency.id in seen:
                raise ValueError(f"agencies[{index}].id: {agency.id!r} is configured twice")
            if agency.id == self.hub_id:
                raise ValueError(f"agencies[{index}].id: {agency.id!r} is the hub's own id")
            seen.add(agency.id)
        # Every adapter resolves a name to one agency: a name may not mean two.
        names = {agency_id: agency_id for agency_id in seen}
        for index, agency in enumerate(self.agencies):
            for alias in agency.aliases:
                other = names.setdefault(alias, agency.id)
                if other != agency.id:
                    raise ValueError(f"agencies[{index}].aliases: {alias!r} already names {other}")
        mapped: dict[tuple[str, str], str] = {}
        for index, entry in enumerate(self.code_maps):
            known = mapped.setdefault((entry.system, entry.code), f"{entry.kind} {entry.target}")
            if known != f"{entry.kind} {entry.target}":
                raise ValueError(
                    f"code_maps[{index}]: {entry.system}|{entry.code} already maps to {known}"
                )
        return self

    @model_validator(mode="after")
    def _insync_within_replicas(self) -> HubSettings:
        if self.kafka_min_insync_replicas > self.kafka_replication_factor:
            raise ValueError(
                f"kafka_min_insync_replicas: {self.kafka_min_insync_replicas} is more than "
                f"kafka_replication_factor ({self.kafka_replication_factor})"
            )
        return self

    @model_validator(mode="after")
    def _kafka_security_consistent(self) -> HubSettings:
        try:
            self.kafka_security  # noqa: B018 -- built for its checks
        except ConfigError as exc:
            # "configuration <key>: <why>" back to "<key>: <why>", which load_settings reports.
            raise ValueError(str(exc).removeprefix("configuration ")) from exc
        if self.embedded_broker and self.kafka_security_protocol != "PLAINTEXT":
            raise ValueError(
                f"kafka_security_protocol: {self.kafka_security_protocol} needs an external "
                "Kafka (kafka_bootstrap); the embedded broker speaks PLAINTEXT only"
            )
        return self

    @property
    def kafka_security(self) -> KafkaSecurity:
        """TLS and login settings for every Kafka client the hub makes."""
        return KafkaSecurity(
            protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username,
            password=self.kafka_sasl_password,
            ca_file=self.kafka_ssl_cafile,
            cert_file=self.kafka_ssl_certfile,
            key_file=self.kafka_ssl_keyfile,
        )

    @property
    def embedded_broker(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def idempotent_producer(self) -> bool:
        if self.kafka_idempotent_producer is not None:
            return self.kafka_idempotent_producer
        return not self.embedded_broker

    @property
    def session_timeout_ms(self) -> int:
        if self.consumer_session_timeout_ms is not None:
            return self.consumer_session_timeout_ms
        return 2_000 if self.embedded_broker else 10_000

    def pseudonym_key_problem(self) -> str | None:
        """Why the pseudonym key cannot protect subject ids, or None when it can."""
        key = self.pseudonym_key.get_secret_value()
        if key == BUILT_IN_PSEUDONYM_KEY:
            return "is the built-in public default"
        if len(key.strip()) < MIN_PSEUDONYM_KEY_CHARS:
            return f"is missing or shorter than {MIN_PSEUDONYM_KEY_CHARS} characters"
        return None

    def check_pseudonym_key(self) -> None:
        """Raise ConfigError, naming the setting, unless the key keeps subject ids secret."""
        problem = self.pseudonym_key_problem()
        if problem is not None:
            raise ConfigError(
                "pseudonym_key",
                f"{problem}; set HUB_PSEUDONYM_KEY (or pseudonym_key in the TOML file) "
                "to a long random secret",
            )

    def agency(self, agency_id: str) -> AgencyConfig | None:
        return next((agency for agency in self.agencies if agency.id == agency_id), None)


def load_settings(path: Path | None = None, **overrides: Any) -> HubSettings:
    """Settings from ``path`` (TOML), the environment and ``overrides``, in rising priority.

    A broken file or value raises ConfigError naming the key at fault.
    """
    values: dict[str, Any] = {}
    if path is not None:
        values = _read_toml(path)
    values = _merged(values, EnvSettingsSource(HubSettings)())
    values.update(overrides)
    try:
        return HubSettings(**values)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        key = _key_path(error["loc"])
        message = str(error["msg"])
        if key == "(root)" and ": " in message and message.startswith("Value error, "):
            key, _, message = message.removeprefix("Value error, ").partition(": ")
        message = message.removeprefix("Value error, ")
        raise ConfigError(key, message) from exc


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` on top, tables merged key by key."""
    merged = dict(base)
    for key, value in over.items():
        current = merged.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged[key] = _merged(current, value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(str(path), exc.strerror or str(exc)) from exc


def _key_path(location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in {"pull", "webhook", "fhir"}:
            continue  # the discriminator tag pydantic inserts, not a key in the file
        else:
            parts.append(f".{part}" if parts else str(part))
    return "".join(parts) or "(root)"
