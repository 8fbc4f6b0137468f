"""The ``hub`` command line."""

from hub.cli._app import app, main

__all__ = ["app", "main"]
