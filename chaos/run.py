"""One chaos run: set everything up, stream referrals through the faults, and count."""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import subprocess
import sys
import time
from contextlib import AsyncExitStack, ExitStack
from typing import Any

import httpx

from chaos.faults import FaultLog, inject_all
from chaos.hubs import HubFleet, hub_command
from chaos.kafka_cluster import KafkaCluster
from chaos.network import COURT, REFUSER, SENDER, SHELTER, Network
from chaos.postgres import fresh_database
from chaos.recipients import Recipient, poll_inbox, webhook_server
from chaos.sender import Sender
from chaos.settings import ChaosSettings
from chaos.workload import Workload

__all__ = ["run_chaos"]

_INGRESS_PARTITIONS = 6


def _log(line: str) -> None:
    print(f"chaos: {line}", file=sys.stderr, flush=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def run_chaos(settings: ChaosSettings) -> dict[str, Any]:
    settings.workdir.mkdir(parents=True, exist_ok=True)
    kafka = KafkaCluster(settings.workdir / "kafka", nodes=3)
    with ExitStack() as cleanup:
        database_url = cleanup.enter_context(fresh_database(settings.admin_dsn))
        _log("starting a three-node Apache Kafka cluster")
        cleanup.callback(kafka.stop)
        await asyncio.to_thread(kafka.start)
        return await _run(settings, kafka, database_url)
    raise AssertionError("unreachable")


async def _run(settings: ChaosSettings, kafka: KafkaCluster, database_url: str) -> dict[str, Any]:
    run_id = secrets.token_hex(4)
    port = _free_port()
    network = Network(f"http://127.0.0.1:{port}")
    config = settings.workdir / "hub.toml"
    config.write_text(network.settings_toml(database_url, _INGRESS_PARTITIONS))
    recipients = {
        agency: Recipient(
            agency,
            token=network.tokens[agency],
            secret=network.webhook_secrets.get(agency, ""),
            answer=410 if agency == REFUSER else 200,
        )
        for agency in (COURT, SHELTER, REFUSER)
    }
    hubs = HubFleet(config, kafka.bootstrap, settings.workdir, settings.hubs)
    log = FaultLog()
    # As operators do before starting a release on PostgreSQL.
    upgraded = await asyncio.to_thread(_hub_cli, ["db", "upgrade", "--config", str(config)])
    if upgraded.returncode != 0:
        raise RuntimeError(f"hub db upgrade failed: {upgraded.stderr.strip()[-500:]}")
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(webhook_server(recipients, port))
        _log(f"starting {settings.hubs} hub processes")
        stack.callback(hubs.stop_all)
        await asyncio.to_thread(hubs.start_all)
        workload = Workload(run_id)
        sender = Sender(hubs.urls, network.tokens[SENDER])
        async with httpx.AsyncClient(timeout=15.0) as client:
            for consent in workload.consents():
                status = await sender.submit(client, consent)
                if status != 202:
                    raise RuntimeError(f"consent {consent.subject} refused: {status}")
        stop_polling = asyncio.Event()
        pollers = [asyncio.create_task(poll_inbox(recipients[COURT], hubs.urls, stop_polling))]
        stop_sending = asyncio.Event()
        _log(f"streaming referrals at {settings.rate_per_s:g}/s and injecting faults")
        log.started = time.monotonic()
        streaming = asyncio.create_task(sender.stream(workload, settings.rate_per_s, stop_sending))
        await inject_all(settings, hubs, kafka, recipients[SHELTER], log)
        await asyncio.sleep(settings.tail_s)
        stop_sending.set()
        sent = await streaming
        _log(f"{sent} referrals sent, {len(sender.accepted)} accepted; waiting for deliveries")
        drain_started = time.monotonic()
        settled = await _settle(sender, recipients, settings.settle_timeout_s)
        log.drain_s = round(time.monotonic() - drain_started, 1)
        await asyncio.sleep(3.0)  # a late second delivery would show up now
        stop_polling.set()
        await asyncio.gather(*pollers)
        crashed = hubs.exited()
    audit = _hub_cli(["audit", "verify", "--config", str(config)])
    dead = _hub_cli(["dlq", "list", "--json", "--config", str(config)])
    return _summary(sender, recipients, log, hubs, settled, audit, dead, sent, crashed)


def _expected(sender: Sender) -> set[tuple[str, str]]:
    return {(agency, event_id) for event_id, agency in sender.accepted.items() if agency != REFUSER}


def _delivered(recipients: dict[str, Recipient]) -> set[tuple[str, str]]:
    return {
        (agency, event_id)
        for agency, recipient in recipients.items()
        for event_id in recipient.receipts
    }


async def _settle(sender: Sender, recipients: dict[str, Recipient], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    last = 0.0
    while time.monotonic() < deadline:
        missing = _expected(sender) - _delivered(recipients)
        if not missing:
            return True
        if time.monotonic() - last > 5:
            last = time.monotonic()
            _log(f"{len(missing)} deliveries outstanding")
        await asyncio.sleep(0.5)
    return False


def _hub_cli(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*hub_command(), *arguments], capture_output=True, text=True, timeout=300, check=False
    )


def _summary(
    sender: Sender,
    recipients: dict[str, Recipient],
    log: FaultLog,
    hubs: HubFleet,
    settled: bool,
    audit: subprocess.CompletedProcess[str],
    dead: subprocess.CompletedProcess[str],
    sent: int,
    crashed: list[str],
) -> dict[str, Any]:
    expected = _expected(sender)
    delivered = _delivered(recipients)
    undeliverable = {
        (agency, event_id) for event_id, agency in sender.accepted.items() if agency == REFUSER
    }
    letters = json.loads(dead.stdout) if dead.returncode == 0 and dead.stdout.strip() else []
    lettered = {(letter["agency"], letter["event_id"]) for letter in letters}
    summary: dict[str, Any] = {
        "sent": sent,
        "accepted": len(sender.accepted),
        "not_accepted": len(sender.refused),
        "expected": len(expected),
        "delivered": len(delivered & expected),
        "lost": len(expected - delivered),
        "unexpected": len(delivered - expected - undeliverable),
        "duplicates": sum(r.duplicates for r in recipients.values()),
        "redelivered_unacknowledged": sum(
            r.redelivered_unacknowledged for r in recipients.values()
        ),
        "behind_cursor": sum(r.behind_cursor for r in recipients.values()),
        "dead_letters": len(letters),
        "dead_letters_undeliverable": len(lettered & undeliverable),
        # One event dead-lettered twice for the same recipient (two processes, or a restart).
        "dead_letters_repeated": len(letters) - len(lettered),
        "dead_letters_deliverable": len(lettered - undeliverable),
        "undeliverable_not_dead_lettered": len(undeliverable - lettered),
        "audit_verified": audit.returncode == 0,
        "submit_retries": sender.retries,
        "hub_restarts": hubs.restarts,
        "settled": settled,
        "drain_s": log.drain_s,
        "faults": log.faults,
        "skipped_faults": log.skipped,
        "elapsed_s": round(time.monotonic() - log.started, 1),
    }
    if audit.returncode != 0:
        summary["audit_problem"] = (audit.stdout + audit.stderr).strip()[-500:]
    if dead.returncode != 0:
        summary["dlq_problem"] = dead.stderr.strip()[-500:]
    if crashed:
        summary["hubs_exited"] = [line.splitlines()[0] for line in crashed]
    summary["ok"] = (
        settled
        and summary["lost"] == 0
        and summary["duplicates"] == 0
        and summary["unexpected"] == 0
        and summary["not_accepted"] == 0
        and summary["audit_verified"]
        and summary["dead_letters_deliverable"] == 0
        and summary["undeliverable_not_dead_lettered"] == 0
        and not crashed
    )
    return summary
