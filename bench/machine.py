"""The machine and software a run was measured on, for the results header."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from hub.broker import resolve_binary

__all__ = ["code_state", "describe", "summary_line"]

_PACKAGES = (
    "aiokafka",
    "faststream",
    "sqlalchemy",
    "pydantic",
    "fastapi",
    "uvicorn",
    "httpx",
    "fhir.resources",
)


def describe() -> dict[str, Any]:
    return {
        "cpu": _cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(_mem_total_kib() / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "broker": Path(resolve_binary()).name,
        "packages": {name: _version(name) for name in _PACKAGES},
    }


def summary_line(machine: dict[str, Any]) -> str:
    return (
        f"{machine['cores']} cores ({machine['cpu']}), {machine['memory_gib']} GiB, "
        f"Python {machine['python']}, broker {machine['broker']}, SQLite store"
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_kib() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def code_state() -> dict[str, Any]:
    """The commit measured and a digest of uncommitted changes, read-only."""
    root = Path(__file__).resolve().parent.parent
    head = _git(root, "rev-parse", "HEAD").strip()
    status = _git(root, "status", "--porcelain", "--untracked-files=all", "--", "hub")
    diff = _git(root, "diff", "HEAD", "--", "hub")
    return {
        "commit": head or "unknown",
        "hub_files_changed": len(status.splitlines()),
        "hub_changes_sha256": hashlib.sha256((status + diff).encode()).hexdigest()[:16],
    }


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""
