"""The hub processes of a run: ``hub run`` children on fixed ports, killed and restarted."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["HubFleet", "hub_command"]

_LISTENING = re.compile(r"hub listening on (http://\S+)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def hub_command() -> list[str]:
    script = Path(sys.executable).with_name("hub")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from hub.cli import main; sys.exit(main())"]


@dataclass
class HubFleet:
    """``count`` processes sharing one configuration, database and Kafka cluster."""

    config: Path
    bootstrap: str
    workdir: Path
    count: int
    pseudonym_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    ports: list[int] = field(default_factory=list)
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    restarts: int = 0

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def start_all(self, timeout_s: float = 90) -> None:
        self.ports = [_free_port() for _ in range(self.count)]
        # One after another: the first creates the topics and migrates the store.
        for index in range(self.count):
            self._spawn(index)
            self._wait_listening(index, timeout_s)

    def kill(self, index: int) -> None:
        """SIGKILL: no shutdown hook runs, as when a machine dies."""
        process = self.processes[index]
        process.send_signal(signal.SIGKILL)
        process.wait()

    def restart(self, index: int, timeout_s: float = 90) -> None:
        self._spawn(index)
        self._wait_listening(index, timeout_s)
        self.restarts += 1

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def exited(self) -> list[str]:
        """Processes that died on their own, with the end of their log."""
        return [
            f"hub {index} exited {process.returncode}:\n{self.log_tail(index)}"
            for index, process in self.processes.items()
            if process.poll() is not None
        ]

    def log(self, index: int) -> Path:
        return self.workdir / f"hub-{index}.log"

    def log_tail(self, index: int, lines: int = 30) -> str:
        text = self.log(index).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _spawn(self, index: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env["HUB_KAFKA_BOOTSTRAP"] = self.bootstrap
        env["HUB_PSEUDONYM_KEY"] = self.pseudonym_key
        command = [*hub_command(), "run", "--config", str(self.config)]
        command += ["--host", "127.0.0.1", "--port", str(self.ports[index])]
        with self.log(index).open("ab") as log:
            log.write(f"--- start {time.strftime('%H:%M:%S')}\n".encode())
            self.processes[index] = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )

    def _wait_listening(self, index: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        process = self.processes[index]
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"hub {index} exited:\n{self.log_tail(index)}")
            last_start = self.log(index).read_text(errors="replace").rsplit("--- start", 1)[-1]
            if _LISTENING.search(last_start):
                return
            time.sleep(0.1)
        raise RuntimeError(f"hub {index} did not listen within {timeout_s:g}s")
