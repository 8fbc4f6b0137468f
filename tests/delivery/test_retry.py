"""Backoff between delivery attempts: exponential, capped, and jittered."""

from __future__ import annotations

import itertools
import random
import statistics

import pytest

from hub.config import DeliverySettings
from hub.delivery.retry import backoff_delay

SETTINGS = DeliverySettings(backoff_initial_s=0.2, backoff_max_s=5.0)


def samples(attempt: int, n: int = 2000, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [backoff_delay(SETTINGS, attempt, rng) for _ in range(n)]


def test_delays_grow_with_each_attempt_until_the_cap() -> None:
    """The typical wait doubles from one attempt to the next, then levels off at the cap."""
    means = [statistics.fmean(samples(attempt)) for attempt in range(1, 9)]

    # Ceilings 0.2, 0.4, 0.8, 1.6, 3.2 s for attempts 1 to 5.
    for before, after in itertools.pairwise(means[:5]):
        assert 1.7 < after / before < 2.3
    # From attempt 6 on (0.2 * 2**5 = 6.4 s > 5 s) the ceiling is the cap.
    assert means[4] < means[5]
    assert means[6] == pytest.approx(means[7], rel=0.1)
    assert means[7] == pytest.approx(SETTINGS.backoff_max_s / 2, rel=0.1)


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 8, 20, 60])
def test_a_delay_never_exceeds_its_ceiling_or_the_cap(attempt: int) -> None:
    """Each delay lies between 0 and min(cap, initial * 2^(attempt-1))."""
    ceiling = min(SETTINGS.backoff_max_s, SETTINGS.backoff_initial_s * 2 ** (attempt - 1))

    drawn = samples(attempt, n=500)

    assert all(0 <= delay <= ceiling for delay in drawn)
    assert max(drawn) <= SETTINGS.backoff_max_s


def test_jitter_spreads_retries_of_events_failing_together() -> None:
    """Events failing at once do not retry in lockstep: their delays spread over the range."""
    drawn = samples(4, n=500)
    ceiling = SETTINGS.backoff_initial_s * 2**3

    assert len(set(drawn)) > 450
    assert min(drawn) < ceiling * 0.1
    assert max(drawn) > ceiling * 0.9


def test_the_same_seed_gives_the_same_delays() -> None:
    """Delays come from the random source handed in, so a test can fix them."""
    assert samples(3, n=20, seed=1) == samples(3, n=20, seed=1)
    assert samples(3, n=20, seed=1) != samples(3, n=20, seed=2)
