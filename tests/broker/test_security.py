"""Kafka security settings: checked when loaded, carried into every client, the password hidden.

No broker here; ``test_kafka_security.py`` runs the same settings against a secured cluster.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any, cast

import pytest
from pydantic import SecretStr

from hub.broker.security import KafkaSecurity
from hub.config import load_settings
from hub.errors import ConfigError
from hub.runtime.bootstrap import HubServices
from hub.store import Store
from tests.kafka_tls import write_broker_tls

PASSWORD = "s3cret-Password-for-the-hub"
SECURED = {
    "kafka_bootstrap": "kafka-1.example:9093",
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_username": "hub",
}


@pytest.fixture(autouse=True)
def _no_hub_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)


@pytest.fixture
def ca_file(tmp_path: Path) -> Path:
    return write_broker_tls(tmp_path / "tls", {}) / "ca.pem"


def refused(**values: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, **values)
    return caught.value


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({**SECURED}, "kafka_sasl_password"),
        (
            {**SECURED, "kafka_sasl_username": None, "kafka_sasl_password": PASSWORD},
            "kafka_sasl_username",
        ),
        ({"kafka_bootstrap": "k:9092", "kafka_sasl_password": PASSWORD}, "kafka_sasl_password"),
        ({"kafka_bootstrap": "k:9092", "kafka_ssl_cafile": "ca.pem"}, "kafka_ssl_cafile"),
        (
            {**SECURED, "kafka_sasl_password": PASSWORD, "kafka_ssl_certfile": "c.pem"},
            "kafka_ssl_keyfile",
        ),
        (
            {
                "kafka_security_protocol": "SASL_SSL",
                "kafka_sasl_username": "hub",
                "kafka_sasl_password": PASSWORD,
            },
            "kafka_security_protocol",
        ),
        ({**SECURED, "kafka_security_protocol": "SASL_PLAINTEXT"}, "kafka_security_protocol"),
    ],
    ids=[
        "login without password",
        "password without user",
        "password on a plaintext link",
        "CA on a plaintext link",
        "certificate without key",
        "TLS to the embedded broker",
        "SASL in the clear",
    ],
)
def test_inconsistent_security_settings_are_refused_naming_the_key(
    values: dict[str, Any], key: str
) -> None:
    """A Kafka security setting that cannot work, or would leave the link unprotected while
    the operator believes otherwise, stops the hub at start naming the setting."""
    assert refused(**values).key == key


def test_the_password_comes_from_the_environment_and_never_prints(
    monkeypatch: pytest.MonkeyPatch, ca_file: Path
) -> None:
    """HUB_KAFKA_SASL_PASSWORD gives the hub's password; no repr or settings dump shows it."""
    monkeypatch.setenv("HUB_KAFKA_SASL_PASSWORD", PASSWORD)
    settings = load_settings(None, **SECURED, kafka_ssl_cafile=str(ca_file))
    security = settings.kafka_security
    assert security.password is not None
    assert security.password.get_secret_value() == PASSWORD
    shown = repr(settings) + str(settings) + repr(security) + settings.model_dump_json()
    assert PASSWORD not in shown


def test_every_client_the_hub_builds_logs_in_over_tls(ca_file: Path) -> None:
    """The producer, consumers, admin and probe options, and FastStream's broker, all carry
    SASL_SSL, SCRAM-SHA-512, the hub's user and a context that checks the broker's name."""
    settings = load_settings(
        None, **SECURED, kafka_sasl_password=PASSWORD, kafka_ssl_cafile=str(ca_file)
    )
    # The store plays no part in building Kafka clients.
    services = HubServices(settings, cast(Store, None), settings.kafka_bootstrap or "")
    client = services.kafka
    options = client.security.client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("hub", PASSWORD)
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.get_ca_certs(), "the configured CA is loaded"
    faststream = client.security.faststream()
    assert faststream is not None
    assert faststream.use_ssl
    assert faststream.get_requirement() == [{"scram512": []}]


def test_a_missing_ca_file_is_named(tmp_path: Path) -> None:
    """A CA file that is not there fails with the setting's name and the path, not a traceback."""
    security = KafkaSecurity(
        protocol="SASL_SSL",
        username="hub",
        password=SecretStr(PASSWORD),
        ca_file=tmp_path / "missing.pem",
    )
    with pytest.raises(ConfigError) as caught:
        security.client_options()
    assert caught.value.key == "kafka_ssl_cafile"
    assert "missing.pem" in str(caught.value)
