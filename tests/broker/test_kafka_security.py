"""The hub's link to Apache Kafka secured: TLS, a SCRAM-SHA-512 login, ACLs for the hub alone.

One single-node Apache Kafka runs for the module with ``deploy/kafka/start.sh --sasl-ssl`` on
a CA and broker certificate made here, and ``grant-hub.sh`` grants the hub's user its topics.
Runs only with ``HUB_TEST_KAFKA=apache``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiokafka.errors import KafkaError
from pydantic import SecretStr

from hub.broker import make_consumer, make_producer, ping
from hub.broker.kafka import KafkaSettings
from hub.broker.security import KafkaSecurity
from hub.broker.topics import INGRESS, TopicSpec, ensure_topics
from hub.contracts import AgencyKind, DataCategory, Purpose
from hub.errors import BrokerError
from hub.runtime.bootstrap import topic_specs
from tests.apache_kafka import ApacheKafka
from tests.kafka_tls import new_password, write_broker_tls
from tests.support import (
    agency,
    consent_event,
    consent_payload,
    hub_settings,
    post_event,
    referral_event,
    scope,
    started_hub,
    wait_for_inbox,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

HUB_USER = "hub"
#: Authenticated, but granted nothing: an agency's or another service's principal.
OTHER_USER = "intruder"


@dataclass(frozen=True)
class SecuredKafka:
    kafka: ApacheKafka
    ca_file: Path
    passwords: dict[str, str]

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap_servers

    def login(self, user: str, password: str | None = None) -> KafkaSecurity:
        return KafkaSecurity(
            protocol="SASL_SSL",
            username=user,
            password=SecretStr(password if password is not None else self.passwords[user]),
            ca_file=self.ca_file,
        )

    def client(self, security: KafkaSecurity) -> KafkaSettings:
        return KafkaSettings(self.bootstrap, idempotent_producer=False, security=security)


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    if os.environ.get("HUB_TEST_KAFKA", "").strip().lower() != "apache":
        pytest.skip("HUB_TEST_KAFKA=apache is not set, so Apache Kafka is not started")
    root = tmp_path_factory.mktemp("secured-kafka")
    passwords = {HUB_USER: new_password(), OTHER_USER: new_password()}
    tls = write_broker_tls(root / "tls", passwords)
    kafka = ApacheKafka(root / "data", nodes=1, sasl_ssl=tls)
    try:
        kafka.start()
        kafka.grant_hub(HUB_USER)
        yield SecuredKafka(kafka, tls / "ca.pem", passwords)
    finally:
        kafka.stop()


async def test_the_hub_runs_its_pipeline_over_sasl_ssl(
    secured: SecuredKafka,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """With SASL_SSL settings and its password from the environment, the hub creates its
    topics, reports the broker ready and routes a referral, and never prints the password."""
    password = secured.passwords[HUB_USER]
    monkeypatch.setenv("HUB_KAFKA_SASL_PASSWORD", password)
    hospital, court = agency(AgencyKind.HOSPITAL), agency(AgencyKind.COURT)
    settings = hub_settings(
        tmp_path,
        [hospital, court],
        kafka_bootstrap=secured.bootstrap,
        kafka_engine="apache",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username=HUB_USER,
        kafka_ssl_cafile=str(secured.ca_file),
    )
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == password
    async with started_hub(settings, [hospital, court]) as hub:
        ready = await hub.client.get("/readyz")
        assert ready.status_code == 200, ready.text
        consent = consent_payload(
            hospital, [scope(court, (Purpose.JUSTICE,), (DataCategory.CONTACT,))]
        )
        assert (await post_event(hub.client, hospital, consent_event(consent))).status_code == 202
        referral = referral_event(hospital, court, consent)
        assert (await post_event(hub.client, hospital, referral)).status_code == 202
        await wait_for_inbox(
            hub.client, court, lambda event: event["id"] == referral.id, within_s=60
        )
    printed = capfd.readouterr()
    assert password not in printed.out + printed.err
    assert password not in repr(settings) + repr(settings.kafka_security)


async def test_a_client_without_the_right_login_is_refused(secured: SecuredKafka) -> None:
    """No TLS, TLS without a login, or the hub's user with a wrong password: the cluster
    answers none of them; the hub's own login is answered."""
    assert await ping(secured.bootstrap, 10, security=secured.login(HUB_USER))
    refused = {
        "plaintext": KafkaSecurity(),
        "tls only": KafkaSecurity(protocol="SSL", ca_file=secured.ca_file),
        "wrong password": secured.login(HUB_USER, password=new_password()),
    }
    for name, security in refused.items():
        assert not await ping(secured.bootstrap, 5, security=security), name
    producer = make_producer(secured.client(refused["wrong password"]))
    with pytest.raises(KafkaError):
        await producer.start()
    await producer.stop()


async def test_another_principal_is_denied_the_hubs_topics(
    secured: SecuredKafka, tmp_path: Path
) -> None:
    """A user who logs in but is not the hub's can neither create, write nor read the hub's
    topics, nor join its consumer groups; the hub's user can, on the same topics."""
    hub_login, other = secured.login(HUB_USER), secured.login(OTHER_USER)
    settings = hub_settings(tmp_path, [agency(AgencyKind.COURT)])
    await ensure_topics(secured.bootstrap, topic_specs(settings), security=hub_login)
    assert await ping(secured.bootstrap, 10, security=other)  # the login itself succeeds

    with pytest.raises(BrokerError, match="could not create topics"):
        await ensure_topics(secured.bootstrap, [TopicSpec("hub.intruder", 1)], security=other)
    assert not await _produced(secured.client(other), b"from the intruder")
    assert await _consumed(secured.client(other)) is None

    assert await _produced(secured.client(hub_login), b"from the hub")
    seen = await _consumed(secured.client(hub_login))
    assert seen is not None
    assert b"from the hub" in seen
    assert b"from the intruder" not in seen


async def _produced(client: KafkaSettings, value: bytes) -> bool:
    """Whether a record sent to hub.ingress was acknowledged."""
    producer = make_producer(client)
    try:
        await producer.start()
        await producer.send_and_wait(INGRESS, value, key=b"security-test")
    except KafkaError:
        return False
    finally:
        await producer.stop()
    return True


async def _consumed(client: KafkaSettings) -> list[bytes] | None:
    """The values on hub.ingress read as the router's group, or None when refused."""
    consumer = make_consumer(client, INGRESS, group_id="hub-router", **_quick_group())
    values: list[bytes] = []
    try:
        await consumer.start()
        batches = await consumer.getmany(timeout_ms=8000)
        values = [record.value for records in batches.values() for record in records]
    except KafkaError:
        return None
    finally:
        await consumer.stop()
    return values


def _quick_group() -> dict[str, Any]:
    return {"session_timeout_ms": 6000, "heartbeat_interval_ms": 1500}
