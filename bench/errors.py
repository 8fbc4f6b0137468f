"""Why a figure has no number."""

from __future__ import annotations

__all__ = ["Unavailable"]


class Unavailable(Exception):
    """The code a figure measures is not in this checkout, or cannot do the work yet."""
