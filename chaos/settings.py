"""What a chaos run does and for how long; every figure can be set from the environment."""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ChaosSettings"]


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _postgres_restart_default() -> str:
    """The local cluster's restart command, when this machine can run it."""
    if shutil.which("pg_ctlcluster") and os.geteuid() == 0:
        return "pg_ctlcluster 15 main restart"
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
        restart = os.environ.get("HUB_CHAOS_POSTGRES_RESTART", _postgres_restart_default())
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
            admin_dsn=os.environ.get("HUB_CHAOS_POSTGRES_DSN", cls.admin_dsn),
            postgres_restart=tuple(shlex.split(restart)),
        )
