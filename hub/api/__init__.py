"""The HTTP API."""

from hub.api.app import create_api
from hub.api.context import ApiContext

__all__ = ["ApiContext", "create_api"]
