"""Loading settings for a command, answering a broken configuration in one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.cli._output import fail
from hub.config import HubSettings, load_settings
from hub.errors import ConfigError

__all__ = ["settings_or_exit"]


def settings_or_exit(config: Path | None, **overrides: Any) -> HubSettings:
    try:
        return load_settings(config, **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        fail(str(exc))
