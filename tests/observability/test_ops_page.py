"""The operations page, /ops, and ``hub top`` on a real running hub after a demo-sized run.

One hub runs for the module: a hospital refers survivors to a court (pulling its
inbox), to an NGO the consent does not name (blocked), and to a psychosocial
centre whose webhook always answers 500 (dead-lettered). An operator watches.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select
from typer.testing import CliRunner

from hub.cli import app as cli
from hub.contracts import AgencyKind, DataCategory, Purpose, ServiceCode
from hub.observability.ops_view import read_families
from hub.store import schema
from tests.support import (
    Agency,
    HubUnderTest,
    WebhookReceiver,
    agency,
    consent_event,
    consent_payload,
    eventually,
    hub_settings,
    post_event,
    referral_event,
    scope,
    started_hub,
    token_hash,
    uid,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "ops-page.png"
TO_COURT, TO_NGO, TO_PSY = 30, 4, 2


@dataclass(frozen=True)
class Watched:
    hub: HubUnderTest
    hospital: Agency
    court: Agency
    operator_token: str

    @property
    def operator(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.operator_token}"}

    @property
    def registry(self) -> CollectorRegistry:
        return self.hub.hub.services.metrics.registry


def metric_values(registry: CollectorRegistry) -> dict[str, float]:
    return {s.key: s.value for family in read_families(registry) for s in family.series}


async def stored_referrals(watched: Watched) -> int:
    def count() -> int:
        with watched.hub.store.transaction() as conn:
            query = select(func.count()).select_from(schema.referrals)
            return int(conn.execute(query).scalar_one())

    return await asyncio.to_thread(count)


async def stored_inbox(watched: Watched) -> int:
    def count() -> int:
        with watched.hub.store.transaction() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.inbox)).scalar_one())

    return await asyncio.to_thread(count)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def watched(
    kafka_bootstrap: str, kafka_engine: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Watched]:
    with WebhookReceiver() as receiver:
        psy_path = f"/{uid('psy')}"
        psy_url = receiver.endpoint(psy_path, secret="psy-secret", status=500)
        hospital, court, ngo = (
            agency(AgencyKind.HOSPITAL),
            agency(AgencyKind.COURT),
            agency(AgencyKind.NGO),
        )
        psy = agency(
            AgencyKind.PSYCHOSOCIAL,
            delivery={"mode": "webhook", "url": psy_url, "secret": "psy-secret"},
        )
        agencies = [hospital, court, ngo, psy]
        operator_token = "op-" + uuid.uuid4().hex
        settings = hub_settings(
            tmp_path_factory.mktemp("ops"),
            agencies,
            kafka_bootstrap=kafka_bootstrap,
            kafka_engine=kafka_engine,
            operators=[{"id": "duty-officer", "token_sha256": token_hash(operator_token)}],
            ops_sample_s=0.5,
            metrics_refresh_s=0.5,
        )
        async with started_hub(settings, agencies) as hub:
            watched = Watched(hub, hospital, court, operator_token)
            await _demo_run(watched, ngo, psy)
            yield watched


async def _demo_run(watched: Watched, ngo: Agency, psy: Agency) -> None:
    """A few dozen referrals: delivered, blocked by consent and dead-lettered."""
    client, hospital, court = watched.hub.client, watched.hospital, watched.court

    async def post(event: Any) -> None:
        response = await post_event(client, hospital, event)
        assert response.status_code == 202, response.text

    for _ in range(TO_COURT):
        consent = consent_payload(hospital, [scope(court, (Purpose.JUSTICE,))])
        await post(consent_event(consent))
        await post(referral_event(hospital, court, consent))
    for _ in range(TO_NGO):  # the consent names the court only
        consent = consent_payload(hospital, [scope(court, (Purpose.JUSTICE,))])
        await post(consent_event(consent))
        await post(referral_event(hospital, ngo, consent, service=ServiceCode.LEGAL_AID))
    for _ in range(TO_PSY):
        consent = consent_payload(hospital, [scope(psy, (Purpose.CARE,), (DataCategory.CONTACT,))])
        await post(consent_event(consent))
        await post(referral_event(hospital, psy, consent, service=ServiceCode.PSYCHOSOCIAL_SUPPORT))
    registry = watched.registry

    async def settled() -> dict[str, float]:
        return metric_values(registry)

    def done(values: dict[str, float]) -> bool:
        blocked = sum(v for k, v in values.items() if k.startswith("hub_deliveries_blocked_total"))
        dead = sum(v for k, v in values.items() if k.startswith("hub_events_dead_lettered_total"))
        return blocked >= TO_NGO and dead >= TO_PSY

    await eventually(settled, done, within_s=60)
    await eventually(
        lambda: stored_referrals(watched), lambda n: n >= TO_COURT + TO_NGO + TO_PSY, within_s=30
    )
    await asyncio.sleep(1.5)  # a few samples for the charts, the gauges refreshed


# -- who may look ----------------------------------------------------------------------------


async def test_an_operator_token_reads_the_numbers_of_the_metrics(watched: Watched) -> None:
    """/ops/data.json, with an operator token, shows every metric series at its value."""
    response = await watched.hub.client.get("/ops/data.json", headers=watched.operator)
    assert response.status_code == 200, response.text
    shown = {
        series["key"]: series["value"]
        for section in response.json()["sections"]
        for family in section["families"]
        for series in family["series"]
    }
    assert shown == metric_values(watched.registry)
    sections = {section["id"] for section in response.json()["sections"]}
    assert {"flow", "time_limits", "delivery", "consent", "backlogs"} <= sections


async def test_an_agency_token_cannot_open_the_operations_page(watched: Watched) -> None:
    """An agency's token is refused with 403 on /ops and /ops/data.json; no token gets 401."""
    client = watched.hub.client
    for path in ("/ops", "/ops/data.json", f"/ops?token={watched.court.token}"):
        answer = await client.get(path, headers=watched.court.auth)
        assert answer.status_code == 403, (path, answer.text)
    assert (await client.get("/ops")).status_code == 401
    assert (await client.get("/ops/data.json")).status_code == 401
    stranger = {"authorization": "Bearer not-a-token"}
    assert (await client.get("/ops", headers=stranger)).status_code == 401


async def test_an_operator_token_cannot_submit_or_read_referrals(watched: Watched) -> None:
    """The operator token is refused with 403 on the API and the FHIR endpoints."""
    client = watched.hub.client
    consent = consent_payload(watched.hospital, [scope(watched.court, (Purpose.JUSTICE,))])
    refused = [
        await client.get("/v1/inbox", headers=watched.operator),
        await client.post(
            "/v1/events",
            content=consent_event(consent).to_json(),
            headers={**watched.operator, "content-type": "application/cloudevents+json"},
        ),
        await client.get("/fhir/r4/Task", headers=watched.operator),
    ]
    assert [answer.status_code for answer in refused] == [403, 403, 403]


async def test_a_token_in_the_address_becomes_an_httponly_cookie(watched: Watched) -> None:
    """?token= with an operator token sets an HttpOnly cookie and sends the browser to /ops."""
    answer = await watched.hub.client.get(f"/ops?token={watched.operator_token}")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ops"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "Path=/ops" in cookie
    assert "samesite=strict" in cookie.lower()


# -- in a browser --------------------------------------------------------------------------


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
async def test_the_page_in_a_browser_shows_the_stores_numbers(watched: Watched) -> None:
    """In Chromium the page, opened with ?token=, shows the referrals the store holds and
    the blocked and dead-lettered deliveries, equal to the metrics; a screenshot is kept."""
    playwright_api = pytest.importorskip("playwright.async_api")
    base = watched.hub.hub.base_url
    async with playwright_api.async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1000})
            refused = await page.goto(f"{base}/ops?token={watched.court.token}")
            assert refused is not None
            assert refused.status == 403
            before = metric_values(watched.registry)
            opened = await page.goto(f"{base}/ops?token={watched.operator_token}")
            assert opened is not None
            assert opened.status == 200
            assert page.url == f"{base}/ops"  # the token left the address
            cells = await page.eval_on_selector_all(
                "td[data-series]",
                "cells => cells.map(c => [c.dataset.series, c.textContent])",
            )
            shown = {key: float(text) for key, text in cells}
            values = metric_values(watched.registry)
            # The page shows the metrics' values (sums of seconds to three decimals); a
            # gauge the refresher updated while the page loaded may show either value.
            moved = {
                key
                for key in shown
                if abs(shown[key] - values[key]) > 5e-4
                and abs(shown[key] - before.get(key, values[key])) <= 5e-4
            }
            steady = {key: values[key] for key in shown if key not in moved}
            assert {k: v for k, v in shown.items() if k not in moved} == pytest.approx(
                steady, abs=5e-4
            )
            assert set(shown) == set(values)

            # Every referral is stored; those the consent does not cover go nowhere.
            stored = await stored_referrals(watched)
            assert stored == TO_COURT + TO_NGO + TO_PSY
            assert shown['hub_events_accepted_total{type="referral.requested"}'] == stored
            routed = shown['hub_events_routed_total{type="referral.requested"}']
            assert routed == stored - TO_NGO
            assert shown['hub_events_delivered_total{mode="pull"}'] == await stored_inbox(watched)
            assert shown['hub_deliveries_blocked_total{reason="consent-scope"}'] == TO_NGO
            dead = sum(v for k, v in shown.items() if k.startswith("hub_events_dead_lettered"))
            assert dead == TO_PSY
            assert await page.locator("svg.spark").count() > 0
            body = await page.inner_text("body")
            for section in ("Referral flow", "Time limits", "Consent blocks"):
                assert section in body
            SCREENSHOT.parent.mkdir(exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            await browser.close()
    assert SCREENSHOT.stat().st_size > 10_000


# -- in a terminal -------------------------------------------------------------------------


async def test_hub_top_once_prints_the_same_numbers(watched: Watched) -> None:
    """``hub top --once`` prints each section and the metrics' values, wide enough to read."""
    base = watched.hub.hub.base_url
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke,
        cli,
        ["top", "--url", base, "--token", watched.operator_token, "--once"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "Referral flow" in result.output
    assert "Consent blocks" in result.output
    row = re.search(
        r"hub_deliveries_blocked_total\s*│\s*reason=consent-scope\s*│\s*(\d+)", result.output
    )
    assert row is not None, result.output
    assert int(row.group(1)) == TO_NGO


async def test_hub_top_refuses_an_agency_token(watched: Watched) -> None:
    """``hub top`` with an agency's token says an operator token is needed, no traceback."""
    runner = CliRunner()
    result = await asyncio.to_thread(
        runner.invoke,
        cli,
        ["top", "--url", watched.hub.hub.base_url, "--token", watched.court.token, "--once"],
    )
    assert result.exit_code == 1
    assert "operator token is needed" in result.output
    assert "Traceback" not in result.output


async def test_hub_top_keeps_refreshing_until_interrupted(watched: Watched) -> None:
    """``hub top`` without --once refreshes from the hub until Ctrl-C, then shows its frame."""
    command = (
        sys.executable,
        "-c",
        "from hub.cli import main; main()",
        "top",
        "--url",
        watched.hub.hub.base_url,
        "--interval",
        "0.5",
    )
    env = {**os.environ, "HUB_OPERATOR_TOKEN": watched.operator_token, "COLUMNS": "200"}
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    await asyncio.sleep(3)
    assert process.returncode is None  # still watching
    process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), timeout=10)
    assert process.returncode == 0, err.decode()
    assert "Referral flow" in out.decode()
    assert "Traceback" not in err.decode()
