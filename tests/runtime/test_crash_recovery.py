"""Crash recovery: a hub killed mid-stream and restarted loses nothing and repeats nothing.

The hub runs as a separate ``hub run`` process against the session's broker and a
SQLite file. A client streams referrals and acceptances, retrying each event with
the same id until it gets 202, as the API asks clients to. Half-way through, the
hub is SIGKILLed: no shutdown, no final commit. It is started again on the same
store and the stream continues. In the end every pull inbox holds every expected
event exactly once.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import pytest
from sqlalchemy import func, select

from hub.contracts import AgencyKind, CloudEvent, DataCategory, Purpose
from hub.contracts.status import ReferralStatus
from hub.store import Store
from hub.store.schema import inbox as inbox_table
from tests.support import (
    EVENT_HEADERS,
    Agency,
    agency,
    consent_event,
    consent_payload,
    eventually,
    inbox_events,
    kafka_client_settings,
    referral_event,
    scope,
    status_event,
)

pytestmark = pytest.mark.integration

REFERRALS = 25
HUB = Path(sys.executable).with_name("hub")
_LISTENING = re.compile(r"hub listening on (http://\S+)")


def write_config(path: Path, agencies: list[Agency], kafka_engine: str) -> Path:
    """A TOML configuration for ``hub run``; broker and store come from the environment."""
    client = kafka_client_settings(kafka_engine)
    lines = [
        "http_port = 0",
        "log_format = 'json'",
        "ingress_partitions = 2",
        "inbox_partitions = 2",
        f"consumer_session_timeout_ms = {client['consumer_session_timeout_ms']}",
        f"kafka_idempotent_producer = {str(client['kafka_idempotent_producer']).lower()}",
    ]
    for entry in agencies:
        config = entry.config()
        lines += [
            "",
            "[[agencies]]",
            f"id = '{config['id']}'",
            f"name = '{config['name']}'",
            f"kind = '{config['kind']}'",
            f"region = '{config['region']}'",
            f"token_sha256 = '{config['token_sha256']}'",
            "delivery = { mode = 'pull' }",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class HubProcess:
    """``hub run`` in a child process, its output in a log file."""

    config: Path
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    url: str = ""
    starts: int = 0
    _log: IO[bytes] | None = field(default=None, repr=False)

    async def start(self) -> str:
        self.starts += 1
        log = self.log_path.with_suffix(f".{self.starts}.log")
        self._log = log.open("wb")
        self.process = subprocess.Popen(  # noqa: ASYNC220 - a long-lived child, not awaited
            [str(HUB), "run", "--config", str(self.config)],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            match = _LISTENING.search(log.read_text(errors="replace"))
            if match:
                self.url = match.group(1)
                return self.url
            if self.process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        raise AssertionError(f"hub did not start:\n{log.read_text(errors='replace')[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: the hub gets no chance to flush, commit or say goodbye."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self._close_log()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self._close_log()
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def delivered(database_url: str) -> int:
    """How many events the (stopped) hub had put in any inbox."""
    with Store.open(database_url) as store, store.transaction() as conn:
        return int(conn.execute(select(func.count()).select_from(inbox_table)).scalar_one())


@dataclass
class Stream:
    """Posts events in order; an event whose answer was lost is sent again, same id."""

    hub: HubProcess
    senders: dict[str, Agency]
    accepted: list[str] = field(default_factory=list)
    retries: int = 0
    up: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, events: list[CloudEvent], pause_s: float = 0.0) -> None:
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
            for event in events:
                await self._until_accepted(client, event)
                await asyncio.sleep(pause_s)

    async def _until_accepted(self, client: httpx.AsyncClient, event: CloudEvent) -> None:
        headers = {**EVENT_HEADERS, **self.senders[event.source].auth}
        while True:
            await self.up.wait()
            try:
                response = await client.post(
                    f"{self.hub.url}/v1/events", content=event.to_json(), headers=headers
                )
            except httpx.TransportError:
                self.retries += 1
                await asyncio.sleep(0.05)
                continue
            if response.status_code >= 500:
                self.retries += 1
                await asyncio.sleep(0.05)
                continue
            assert response.status_code == 202, response.text
            assert response.json()["id"] == event.id
            self.accepted.append(event.id)
            return


@pytest.mark.parametrize("broker", ["shared", "embedded"])
async def test_a_killed_hub_delivers_every_accepted_event_exactly_once(
    kafka_bootstrap: str, kafka_engine: str, tmp_path: Path, broker: str
) -> None:
    """SIGKILL mid-stream, restart, continue: each inbox holds each expected event once.

    With a shared broker, Kafka keeps what was in flight. With the hub's own
    embedded broker, which dies with it and keeps nothing, the store does.
    """
    if broker == "embedded" and kafka_engine != "tansu":
        pytest.skip("the hub's own embedded broker is Tansu whatever the session broker is")
    hospital, court = agency(AgencyKind.HOSPITAL), agency(AgencyKind.COURT)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HUB_")},
        "HUB_DATABASE_URL": f"sqlite:///{tmp_path / 'hub.db'}",
        "HUB_PSEUDONYM_KEY": "test-pseudonym-key-" + uuid.uuid4().hex,
    }
    if broker == "shared":
        env["HUB_KAFKA_BOOTSTRAP"] = kafka_bootstrap
    hub = HubProcess(
        write_config(tmp_path / "hub.toml", [hospital, court], kafka_engine), env, tmp_path / "hub"
    )
    consent = consent_payload(hospital, [scope(court, (Purpose.JUSTICE,), (DataCategory.CONTACT,))])
    referrals = [referral_event(hospital, court, consent) for _ in range(REFERRALS)]
    acceptances = [status_event(court, r.subject, ReferralStatus.ACCEPTED) for r in referrals]
    events = [consent_event(consent)]
    for referral, acceptance in zip(referrals, acceptances, strict=True):
        events += [referral, acceptance]
    stream = Stream(hub, {hospital.id: hospital, court.id: court})

    try:
        await hub.start()
        stream.up.set()
        # Warm up: once the first referral is in the court's inbox, every stage is running.
        await stream.run(events[:3])
        async with httpx.AsyncClient(base_url=hub.url, timeout=5.0, trust_env=False) as client:
            await eventually(
                lambda: inbox_events(client, court),
                lambda found: referrals[0].id in {e["id"] for e in found},
                within_s=20,
            )
        streaming = asyncio.create_task(stream.run(events[3:], pause_s=0.01))
        half = len(events) // 2
        while len(stream.accepted) < half:
            assert not streaming.done(), streaming
            await asyncio.sleep(0.005)
        stream.up.clear()
        hub.kill()
        accepted_before_kill = len(stream.accepted)
        in_flight = accepted_before_kill - 1 - delivered(hub.env["HUB_DATABASE_URL"])
        assert in_flight > 0, "the kill should catch events between acceptance and delivery"

        await hub.start()
        stream.up.set()
        await asyncio.wait_for(streaming, timeout=30)

        async with httpx.AsyncClient(base_url=hub.url, timeout=5.0, trust_env=False) as client:

            async def court_ids() -> list[str]:
                return [e["id"] for e in await inbox_events(client, court)]

            async def hospital_ids() -> list[str]:
                return [e["id"] for e in await inbox_events(client, hospital)]

            expected_court = {r.id for r in referrals}
            expected_hospital = {a.id for a in acceptances}
            await eventually(court_ids, lambda ids: expected_court <= set(ids), within_s=40)
            await eventually(hospital_ids, lambda ids: expected_hospital <= set(ids), within_s=40)
            # Give any duplicate still in flight a moment to show up.
            await asyncio.sleep(0.5)
            in_court = await court_ids()
            in_hospital = await hospital_ids()

            assert set(stream.accepted) == {e.id for e in events}
            assert Counter(in_court) == Counter(expected_court), "court inbox: missing or twice"
            assert Counter(in_hospital) == Counter(expected_hospital), "hospital: missing or twice"
            for referral, acceptance in zip(referrals, acceptances, strict=True):
                view = await client.get(f"/v1/referrals/{referral.subject}", headers=hospital.auth)
                assert view.status_code == 200
                assert view.json()["status"] == "accepted"
                timeline = [e["event_id"] for e in view.json()["timeline"]]
                assert timeline == [referral.id, acceptance.id]
    finally:
        hub.stop()
