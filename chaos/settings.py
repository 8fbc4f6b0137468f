"""What a chaos run does and for how long; every figure can be set from the environment."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = ["ChaosSettings"]


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _postgres_restart_default(admin_dsn: str) -> str:
    """Debian's restart command for the local cluster serving ``admin_dsn``, if we may run it."""
    if not (shutil.which("pg_lsclusters") and shutil.which("pg_ctlcluster")):
        return ""
    if os.geteuid() != 0:
        return ""
    url = make_url(admin_dsn)
    if url.host not in (None, "127.0.0.1", "localhost"):
        return ""  # somebody else's server: not ours to restart
    listed = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=False)
    for line in listed.stdout.splitlines():
        version, name, port, *_ = [*line.split(), "", "", ""]
        if port == str(url.port or 5432):
            return f"pg_ctlcluster {version} {name} restart"
    return ""


@dataclass(frozen=True)
class ChaosSettings:
    """Durations in seconds. ``HUB_CHAOS_<FIELD>`` overrides each field."""

    workdir: Path
    hubs: int = 3
    rate_per_s: float = 10.0
    #: Referrals sent after the last fault has healed, so recovery is measured under load.
    tail_s: float = 10.0
    warmup_s: float = 5.0
    hub_down_s: float = 5.0
    broker_down_s: float = 10.0
    broker_pause_s: float = 30.0
    webhook_outage_s: float = 60.0
    settle_timeout_s: float = 600.0
    admin_dsn: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    #: Empty: PostgreSQL is not controllable from here and its restart is skipped.
    postgres_restart: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls, workdir: Path) -> ChaosSettings:
        admin_dsn = os.environ.get("HUB_CHAOS_POSTGRES_DSN", cls.admin_dsn)
        restart = os.environ.get("HUB_CHAOS_POSTGRES_RESTART", _postgres_restart_default(admin_dsn))
        return cls(
            workdir=workdir,
            hubs=_int("HUB_CHAOS_HUBS", cls.hubs),
            rate_per_s=_float("HUB_CHAOS_RATE_PER_S", cls.rate_per_s),
            tail_s=_float("HUB_CHAOS_TAIL_S", cls.tail_s),
            warmup_s=_float("HUB_CHAOS_WARMUP_S", cls.warmup_s),
            hub_down_s=_float("HUB_CHAOS_HUB_DOWN_S", cls.hub_down_s),
            broker_down_s=_float("HUB_CHAOS_BROKER_DOWN_S", cls.broker_down_s),
            broker_pause_s=_float("HUB_CHAOS_BROKER_PAUSE_S", cls.broker_pause_s),
            webhook_outage_s=_float("HUB_CHAOS_WEBHOOK_OUTAGE_S", cls.webhook_outage_s),
            settle_timeout_s=_float("HUB_CHAOS_SETTLE_TIMEOUT_S", cls.settle_timeout_s),
            admin_dsn=admin_dsn,
            postgres_restart=tuple(shlex.split(restart)),
        )
