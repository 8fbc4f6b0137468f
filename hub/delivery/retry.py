"""Exponential backoff with full jitter between delivery attempts."""

from __future__ import annotations

import random

from hub.config import DeliverySettings

__all__ = ["backoff_delay"]


def backoff_delay(settings: DeliverySettings, attempt: int, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    Full jitter spreads retries of many events failing together, so a
    recovering endpoint is not hit by all of them at once.
    """
    ceiling = min(settings.backoff_max_s, settings.backoff_initial_s * 2 ** (attempt - 1))
    return rng.uniform(0, ceiling)
