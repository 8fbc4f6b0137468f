"""How the hub's Kafka clients prove who they are and protect the link: one object, every client.

``PLAINTEXT`` (the default, and the only choice for the embedded broker) sends records in the
clear and unauthenticated. ``SASL_SSL`` encrypts with TLS, checks the broker's certificate and
host name against ``ca_file``, and logs in with SCRAM-SHA-512 as ``username``, so the cluster's
ACLs can grant the hub's principal its topics and refuse everyone else. ``SSL`` is TLS alone,
with a client certificate as the principal when ``cert_file`` is given. SASL over a plain
connection is not offered: it would send the login where anyone on the path can read it.

The password is a :class:`pydantic.SecretStr` and leaves it only in the options handed to a
client, so it never shows in a log line, a repr or an error message.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from faststream.security import BaseSecurity, SASLScram512
from pydantic import SecretStr

from hub.errors import ConfigError

__all__ = ["PLAINTEXT", "KafkaSecurity", "SaslMechanism", "SecurityProtocol"]

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_SSL"]
SaslMechanism = Literal["SCRAM-SHA-512"]


@dataclass(frozen=True)
class KafkaSecurity:
    """Security settings every Kafka client of the hub is built with.

    Errors name the hub setting at fault (``kafka_sasl_username``), since that is what an
    operator has to change.
    """

    protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = None
    #: CA certificates (PEM) the broker's certificate must chain to; unset: the system's.
    ca_file: Path | None = None
    #: A client certificate (PEM) and its key, for clusters that also ask for one.
    cert_file: Path | None = None
    key_file: Path | None = None

    def __post_init__(self) -> None:
        problem = self.problem()
        if problem is not None:
            raise ConfigError(*problem)

    def problem(self) -> tuple[str, str] | None:
        """The setting at fault and why, or None when the settings fit together."""
        tls = self.protocol != "PLAINTEXT"
        if not tls:
            given = [
                name
                for name, value in (
                    ("kafka_sasl_username", self.username),
                    ("kafka_sasl_password", self.password),
                    ("kafka_ssl_cafile", self.ca_file),
                    ("kafka_ssl_certfile", self.cert_file),
                    ("kafka_ssl_keyfile", self.key_file),
                )
                if value is not None
            ]
            if given:
                # Someone who set a password believes the link is protected; it would not be.
                return given[0], "is set but kafka_security_protocol is PLAINTEXT"
        if self.protocol == "SASL_SSL":
            if not self.username:
                return "kafka_sasl_username", "is required with kafka_security_protocol SASL_SSL"
            if self.password is None or not self.password.get_secret_value():
                return (
                    "kafka_sasl_password",
                    "is required with kafka_security_protocol SASL_SSL "
                    "(set HUB_KAFKA_SASL_PASSWORD)",
                )
        elif self.username is not None or self.password is not None:
            return (
                "kafka_sasl_username",
                f"needs kafka_security_protocol SASL_SSL, not {self.protocol}",
            )
        if (self.cert_file is None) != (self.key_file is None):
            return "kafka_ssl_keyfile", "kafka_ssl_certfile and kafka_ssl_keyfile go together"
        return None

    @property
    def uses_tls(self) -> bool:
        return self.protocol != "PLAINTEXT"

    def ssl_context(self) -> ssl.SSLContext | None:
        """A context that checks the broker's certificate and host name; None without TLS."""
        if not self.uses_tls:
            return None
        try:
            context = ssl.create_default_context(
                cafile=str(self.ca_file) if self.ca_file is not None else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError("kafka_ssl_cafile", _file_problem(self.ca_file, exc)) from exc
        if self.cert_file is not None and self.key_file is not None:
            try:
                context.load_cert_chain(str(self.cert_file), str(self.key_file))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError("kafka_ssl_certfile", _file_problem(self.cert_file, exc)) from exc
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin, probe)."""
        if not self.uses_tls:
            return {}
        options: dict[str, Any] = {
            "security_protocol": self.protocol,
            "ssl_context": self.ssl_context(),
        }
        if self.protocol == "SASL_SSL":
            assert self.password is not None  # checked in __post_init__
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password.get_secret_value(),
            }
        return options

    def faststream(self) -> BaseSecurity | None:
        """The same settings as FastStream's ``KafkaBroker(security=...)`` takes them."""
        if not self.uses_tls:
            return None
        context = self.ssl_context()
        if self.protocol == "SSL":
            return BaseSecurity(ssl_context=context, use_ssl=True)
        assert self.username is not None  # checked in __post_init__
        assert self.password is not None
        return SASLScram512(
            self.username, self.password.get_secret_value(), ssl_context=context, use_ssl=True
        )


PLAINTEXT = KafkaSecurity()


def _file_problem(path: Path | None, exc: OSError | ssl.SSLError) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {path}"
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"cannot be used ({path}): {reason}"
