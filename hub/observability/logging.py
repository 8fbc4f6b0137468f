"""Structured logs that never carry survivor data.

Log calls pass ids and codes as keyword fields. A processor drops every field
whose name is not on an allow-list of safe keys and masks anything that looks
like a payload, so a careless ``log.info("x", data=event.data)`` cannot leak.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

__all__ = ["SAFE_KEYS", "configure_logging", "drop_survivor_data", "get_logger"]

#: Field names a log line may carry. Everything else is replaced by a marker.
SAFE_KEYS = frozenset(
    {
        "event",
        "level",
        "timestamp",
        "logger",
        "event_id",
        "event_type",
        "version",
        "referral_id",
        "consent_id",
        "correlation_id",
        "traceparent",
        "agency",
        "agency_id",
        "recipient",
        "source",
        "topic",
        "partition",
        "offset",
        "count",
        "attempt",
        "attempts",
        "delay_s",
        "status",
        "status_code",
        "reason",
        "error",
        "error_type",
        "mode",
        "categories",
        "withheld",
        "elapsed_s",
        "bootstrap",
        "database",
        "host",
        "port",
        "path",
        "method",
        "consumer",
        "pending",
        "exc_info",
    }
)
_REDACTED = "[withheld]"
#: Safe keys whose values are lists of category names, not payload.
_LIST_KEYS = frozenset({"categories", "withheld"})


def drop_survivor_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace every non-allow-listed field, and any dict or list value, with a marker."""
    for key in list(event_dict):
        value = event_dict[key]
        listed = isinstance(value, list | tuple) and key not in _LIST_KEYS
        if key not in SAFE_KEYS or isinstance(value, dict) or listed:
            event_dict[key] = _REDACTED
    return event_dict


def configure_logging(fmt: Literal["json", "console"] = "json", level: int = logging.INFO) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            drop_survivor_data,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
