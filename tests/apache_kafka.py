"""Apache Kafka for the tests: the project's own ``deploy/kafka`` scripts, on free loopback ports.

``start.sh`` fetches the jars with Maven on first use (cached in ~/.m2), formats KRaft storage
and starts combined controller+broker nodes; ``stop.sh`` stops them. A node can also be killed
or paused on its own, for fault tests.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CLUSTER_BROKER_SETTINGS", "DEPLOY", "ApacheKafka", "engine_of", "free_port_run"]

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "kafka"

#: Broker settings of the three-node cluster; docker-compose.yml must run the same.
CLUSTER_BROKER_SETTINGS = {
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "auto.create.topics.enable": "false",
    "unclean.leader.election.enable": "false",
}


#: Bootstrap addresses of the Apache Kafka clusters running now, for :func:`engine_of`.
_RUNNING: set[str] = set()


def engine_of(bootstrap_servers: str) -> str:
    """``apache`` for a cluster an :class:`ApacheKafka` started, else ``tansu``."""
    return "apache" if bootstrap_servers in _RUNNING else "tansu"


def free_port_run(count: int, attempts: int = 50) -> int:
    """The first of ``count`` consecutive loopback ports that are free now."""
    for _ in range(attempts):
        base = random.randrange(20_000, 60_000 - count)
        if all(_bindable(base + offset) for offset in range(count)):
            return base
    raise RuntimeError(f"no run of {count} free ports found in {attempts} attempts")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class ApacheKafka:
    """``nodes`` KRaft nodes in ``data``; :meth:`start` returns once every node serves."""

    data: Path
    nodes: int = 1
    port: int = field(default=0)
    #: A folder ``start.sh --sasl-ssl`` reads (see ``tests/kafka_tls.py``): SASL_SSL and ACLs.
    sasl_ssl: Path | None = None
    bootstrap_servers: str = ""
    start_seconds: float = 0.0

    def start(self, timeout_s: float = 120) -> ApacheKafka:
        if not self.port:
            self.port = free_port_run(2 * self.nodes)
        started = time.monotonic()
        command = [str(DEPLOY / "start.sh"), "--nodes", str(self.nodes)]
        command += ["--data", str(self.data), "--port", str(self.port)]
        if self.sasl_ssl is not None:
            command += ["--sasl-ssl", str(self.sasl_ssl)]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout_s + 300,  # the first start also fetches the jars
            env={**os.environ, "KAFKA_START_TIMEOUT": str(int(timeout_s))},
            check=False,
        )
        if result.returncode != 0:
            self.stop()
            raise RuntimeError(
                f"Apache Kafka did not start (exit {result.returncode}):\n{result.stderr[-3000:]}"
            )
        self.start_seconds = time.monotonic() - started
        self.bootstrap_servers = result.stdout.strip().splitlines()[-1]
        _RUNNING.add(self.bootstrap_servers)
        return self

    def grant_hub(self, user: str) -> None:
        """Give ``user`` the hub's ACLs with ``deploy/kafka/grant-hub.sh`` (secured only)."""
        command = [str(DEPLOY / "grant-hub.sh"), "--data", str(self.data), "--user", user]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"grant-hub.sh failed ({result.returncode}):\n{result.stderr}")

    def stop(self) -> None:
        _RUNNING.discard(self.bootstrap_servers)
        subprocess.run(
            [str(DEPLOY / "stop.sh"), "--data", str(self.data)], check=False, timeout=120
        )

    def pid(self, node: int) -> int:
        return int((self.data / f"node-{node}" / "pid").read_text())

    def signal(self, node: int, signum: signal.Signals) -> None:
        """Send ``signum`` (SIGKILL, SIGSTOP, SIGCONT) to one node."""
        os.kill(self.pid(node), signum)

    def node_settings(self, node: int) -> dict[str, str]:
        """The ``server.properties`` node ``node`` runs with."""
        path = self.data / f"node-{node}" / "server.properties"
        pairs = (line.partition("=") for line in path.read_text().splitlines())
        return {key.strip(): value.strip() for key, sep, value in pairs if sep}

    def node_bootstrap(self, node: int) -> str:
        return f"127.0.0.1:{self.port + 2 * (node - 1)}"
