"""The hub under test: ``hub run`` in a child process, on the bench's broker.

A child process keeps the hub's CPU and memory apart from the bench's
producer and reader, so its peak resident memory (``VmHWM``) is its own, and it
is started the way operations start it: a TOML file plus ``HUB_KAFKA_BOOTSTRAP``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.workload import AGENCIES, INGRESS_PARTITIONS, SENDER, Workload, token_sha256
from hub.broker import INGRESS, ensure_topics
from hub.config import load_settings
from hub.consumers.sealing import seal_messages
from hub.contracts import CloudEvent, KafkaRecord, default_registry
from hub.runtime.bootstrap import topic_specs
from hub.services.intake import accept_event
from hub.store import Store

__all__ = ["HubProcess"]

_LISTENING = re.compile(r"hub listening on (http://\S+)")
_START_TIMEOUT_S = 60.0
_STOP_GRACE_S = 15.0

# kafka_idempotent_producer: with an explicit bootstrap the hub assumes Apache
# Kafka and asks for a producer id, which Tansu refuses. The session timeout
# is the one the hub picks for its own embedded broker, which holds every group
# join for half of it. Rate limits are off: the bench measures what the hub
# can carry, not what it lets one agency send.
_SETTINGS = """\
hub_id = "referral-hub"
database_url = "sqlite:///{database}"
log_format = "json"
kafka_idempotent_producer = {idempotent}
consumer_session_timeout_ms = {session_timeout_ms}
ingress_partitions = {partitions}
inbox_partitions = 2

[limits]
enabled = false
"""

_AGENCY = """
[[agencies]]
id = "{id}"
name = "{id}"
kind = "{kind}"
region = "bench"
token_sha256 = "{digest}"
"""


class HubProcess:
    def __init__(
        self, bootstrap: str, workdir: Path, workload: Workload, *, apache: bool = False
    ) -> None:
        self.bootstrap = bootstrap
        #: Apache Kafka takes the idempotent producer and its own group timings.
        self.apache = apache
        self.database = workdir / "hub.db"
        self.base_url = ""
        self._config = workdir / "hub.toml"
        self._log = workdir / "hub.log"
        self._workload = workload
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the hub is not running")
        return self._process.pid

    async def start(self) -> None:
        """Configure, grant the consents, create the topics, then start and wait for HTTP."""
        await asyncio.to_thread(self._write_config)
        settings = load_settings(self._config)
        # Created here, before anything is produced: Tansu would otherwise
        # auto-create hub.ingress with its own partition count on first produce.
        await ensure_topics(self.bootstrap, topic_specs(settings))
        await asyncio.to_thread(self._grant_consents)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env["HUB_KAFKA_BOOTSTRAP"] = self.bootstrap
        env["HUB_PSEUDONYM_KEY"] = secrets.token_urlsafe(32)
        with self._log.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                *_hub_command(),
                "run",
                "--config",
                str(self._config),
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        self.base_url = await self._wait_listening()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def alive(self) -> None:
        """Raise, with the end of its log, if the hub has exited."""
        if self._process is not None and self._process.returncode is not None:
            raise RuntimeError(
                f"the hub exited with status {self._process.returncode}:\n{self.log_tail()}"
            )

    def peak_rss_mib(self) -> float:
        """The child's ``VmHWM``: the most resident memory it has held so far."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        if match is None:
            raise RuntimeError("VmHWM is not reported by /proc on this system")
        return int(match.group(1)) / 1024

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), _STOP_GRACE_S)
        except TimeoutError:
            process.kill()
            await process.wait()

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    async def _wait_listening(self) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _START_TIMEOUT_S
        while loop.time() < deadline:
            self.alive()
            text = await asyncio.to_thread(self._log.read_text, errors="replace")
            match = _LISTENING.search(text)
            if match is not None:
                return match.group(1)
            await asyncio.sleep(0.05)
        raise RuntimeError(f"the hub did not start within {_START_TIMEOUT_S:g}s")

    def _write_config(self) -> None:
        text = _SETTINGS.format(
            database=self.database,
            partitions=INGRESS_PARTITIONS,
            idempotent="true" if self.apache else "false",
            session_timeout_ms=10_000 if self.apache else 2000,
        )
        for agency_id, kind, token in AGENCIES:
            text += _AGENCY.format(id=agency_id, kind=kind, digest=token_sha256(token))
        self._config.write_text(text)

    def sealed(self, events: Sequence[CloudEvent]) -> list[KafkaRecord]:
        """The events as the outbox relay publishes them: data sealed under her key."""
        with (
            Store.open(f"sqlite:///{self.database}", apply_migrations=False) as store,
            store.transaction() as conn,
        ):
            messages = seal_messages(
                conn, [(INGRESS, event) for event in events], datetime.now(UTC)
            )
        return [KafkaRecord(m.key, m.value, m.headers) for m in messages if m is not None]

    def _grant_consents(self) -> None:
        """Commit every consent through intake, as ``POST /v1/events`` would."""
        now = datetime.now(UTC)
        with Store.open(f"sqlite:///{self.database}") as store:
            registry = default_registry()
            for event in self._workload.consents(now):
                accept_event(store, registry, event, sender=SENDER, now=now)


def _hub_command() -> list[str]:
    """The ``hub`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("hub")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from hub.cli import main; sys.exit(main())"]
