"""The three-node Apache Kafka cluster, started by ``deploy/kafka`` and faulted node by node."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

__all__ = ["KafkaCluster"]

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "kafka"


def _free_port_run(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports (each node takes two)."""
    for base in range(29_092, 60_000, 2 * count + 10):
        if all(_bindable(base + offset) for offset in range(count)):
            return base
    raise RuntimeError(f"no run of {count} free ports on 127.0.0.1")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class KafkaCluster:
    data: Path
    nodes: int = 3
    port: int = 0
    bootstrap: str = ""

    def start(self) -> str:
        """Start every node not running; returns the bootstrap address."""
        if not self.port:
            self.port = _free_port_run(2 * self.nodes)
        command = [str(DEPLOY / "start.sh"), "--nodes", str(self.nodes)]
        command += ["--data", str(self.data), "--port", str(self.port)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"Apache Kafka did not start:\n{result.stderr[-3000:]}")
        self.bootstrap = result.stdout.strip().splitlines()[-1]
        return self.bootstrap

    def stop(self) -> None:
        subprocess.run([str(DEPLOY / "stop.sh"), "--data", str(self.data)], check=False)

    def signal(self, node: int, signum: signal.Signals) -> None:
        os.kill(int((self.data / f"node-{node}" / "pid").read_text()), signum)

    async def leader_of(self, topic: str) -> int:
        """The node leading most of ``topic``'s partitions."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics([topic])
        finally:
            await admin.close()
        leaders = Counter(part["leader"] for part in described[0]["partitions"])
        leader: int = leaders.most_common(1)[0][0]
        return leader
