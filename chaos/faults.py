"""The faults of a run, one after another, each noted with when it began and how long it lasted."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from chaos.hubs import HubFleet
from chaos.kafka_cluster import KafkaCluster
from chaos.network import SHELTER
from chaos.postgres import restart_postgres
from chaos.recipients import Recipient
from chaos.settings import ChaosSettings
from hub.broker import INGRESS

__all__ = ["FaultLog", "inject_all"]


@dataclass
class FaultLog:
    started: float = field(default_factory=time.monotonic)
    faults: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    #: Seconds from the last referral sent until every expected delivery had arrived.
    drain_s: float = 0.0

    def note(self, name: str, began: float, **details: Any) -> None:
        fault = {
            "fault": name,
            "at_s": round(began - self.started, 1),
            "lasted_s": round(time.monotonic() - began, 1),
            **details,
        }
        self.faults.append(fault)
        print(f"chaos: fault done {json.dumps(fault)}", file=sys.stderr, flush=True)


async def inject_all(
    settings: ChaosSettings,
    hubs: HubFleet,
    kafka: KafkaCluster,
    shelter: Recipient,
    log: FaultLog,
) -> None:
    pause_between = max(settings.warmup_s, 2.0)
    await asyncio.sleep(settings.warmup_s)

    began = time.monotonic()
    victim = 1 % hubs.count
    hubs.kill(victim)
    await asyncio.sleep(settings.hub_down_s)
    await asyncio.to_thread(hubs.restart, victim)
    log.note("hub-process-sigkill-restart", began, hub=victim)
    await asyncio.sleep(pause_between)

    began = time.monotonic()
    leader = await kafka.leader_of(INGRESS)
    kafka.signal(leader, signal.SIGKILL)
    await asyncio.sleep(settings.broker_down_s)
    await asyncio.to_thread(kafka.start)
    log.note("ingress-leader-broker-sigkill-restart", began, node=leader)
    await asyncio.sleep(pause_between)

    began = time.monotonic()
    paused = 1 + leader % kafka.nodes  # another node than the one just restarted
    kafka.signal(paused, signal.SIGSTOP)
    try:
        await asyncio.sleep(settings.broker_pause_s)
    finally:
        kafka.signal(paused, signal.SIGCONT)
    log.note("broker-sigstop-sigcont", began, node=paused)
    await asyncio.sleep(pause_between)

    began = time.monotonic()
    shelter.answer = 503
    try:
        # PostgreSQL restarts in the middle of the recipient's outage.
        await asyncio.sleep(settings.webhook_outage_s / 2)
        if settings.postgres_restart:
            pg_began = time.monotonic()
            await asyncio.to_thread(restart_postgres, settings.postgres_restart)
            log.note("postgres-restart", pg_began)
        else:
            log.skipped.append("postgres-restart: no restart command (HUB_CHAOS_POSTGRES_RESTART)")
        await asyncio.sleep(max(0.0, began + settings.webhook_outage_s - time.monotonic()))
    finally:
        shelter.answer = 200
    log.note("webhook-recipient-503", began, agency=SHELTER)
