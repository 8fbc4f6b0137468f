"""``hub run --role``: the hub's parts run apart, on one PostgreSQL store and one Kafka."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.contracts import AgencyKind, DataCategory, Purpose
from hub.runtime.roles import Role
from hub.runtime.server import running_hub, running_workers
from hub.store import Store, outbox
from tests.support import (
    agency,
    consent_event,
    consent_payload,
    hub_settings,
    post_event,
    referral_event,
    scope,
    wait_for_inbox,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "casablanca-settat.toml"


@pytest.mark.parametrize("role", ["api", "relay", "router", "delivery"])
def test_a_part_apart_is_refused_on_sqlite_in_one_line(role: str) -> None:
    """On SQLite ``hub run --role`` other than all exits 1 with one line saying why."""
    result = CliRunner().invoke(
        app,
        ["run", "--config", str(EXAMPLE), "--role", role],
        env={"HUB_PSEUDONYM_KEY": "a-long-random-secret-of-this-deployment"},
    )

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert f"--role {role} needs PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_role_is_refused_naming_the_choices() -> None:
    """``--role`` takes only the parts the hub has."""
    result = CliRunner().invoke(app, ["run", "--config", str(EXAMPLE), "--role", "everything"])

    assert result.exit_code == 2
    assert "api" in result.stderr
    assert "delivery" in result.stderr


@pytest.mark.integration
@pytest.mark.postgres
async def test_parts_run_apart_deliver_once_every_part_runs(
    kafka_bootstrap: str, kafka_engine: str, tmp_path: Path, postgres_schema_url: str
) -> None:
    """An API alone only accepts; a relay, two routers and a delivery process then deliver it."""
    hospital, court = agency(AgencyKind.HOSPITAL), agency(AgencyKind.COURT)
    settings = hub_settings(
        tmp_path,
        [hospital, court],
        kafka_bootstrap=kafka_bootstrap,
        kafka_engine=kafka_engine,
        database_url=postgres_schema_url,
    )
    consent = consent_payload(hospital, [scope(court, (Purpose.JUSTICE,), (DataCategory.CONTACT,))])
    referral = referral_event(hospital, court, consent)
    Store.open(postgres_schema_url).close()  # `hub db upgrade`, as operators run it first
    async with (
        running_hub(settings, role=Role.API) as hub,
        httpx.AsyncClient(base_url=hub.base_url, timeout=10.0, trust_env=False) as client,
    ):
        for event in (consent_event(consent), referral):
            assert (await post_event(client, hospital, event)).status_code == 202
        await asyncio.sleep(1.0)
        with hub.services.store.transaction() as conn:
            assert outbox.count_pending(conn) == 2  # no relay in this process

        async with contextlib.AsyncExitStack() as parts:
            for role in (Role.RELAY, Role.ROUTER, Role.ROUTER, Role.DELIVERY):
                await parts.enter_async_context(running_workers(settings, role))
            (received,) = await wait_for_inbox(
                client, court, lambda e: e["id"] == referral.id, within_s=30.0
            )
    assert received["id"] == referral.id
    with Store.open(postgres_schema_url) as store, store.transaction() as conn:
        assert outbox.count_pending(conn) == 0
