"""Logs and metrics."""

from hub.observability.logging import configure_logging, get_logger
from hub.observability.metrics import HubMetrics

__all__ = ["HubMetrics", "configure_logging", "get_logger"]
