"""The token buckets behind the rate limits, on a clock the test moves."""

from __future__ import annotations

import pytest

from hub.api.limits import TokenBuckets, address_key
from hub.config.settings import RateLimit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_admits_its_burst_then_refills_at_its_rate() -> None:
    """A key may spend its burst at once, then one request per 1/rate seconds."""
    clock = Clock()
    buckets = TokenBuckets(RateLimit(requests_per_second=2, burst=3), max_keys=10, clock=clock)

    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    assert buckets.take("b") == 0.0
    clock.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.wait_s("a") == pytest.approx(0.5)


def test_only_the_most_recent_keys_are_remembered() -> None:
    """Past ``max_keys`` the least recently seen key is forgotten, so memory stays bounded."""
    clock = Clock()
    buckets = TokenBuckets(RateLimit(requests_per_second=1, burst=1), max_keys=2, clock=clock)

    for key in ("a", "b", "c"):
        buckets.take(key)

    assert buckets.wait_s("a") == 0.0
    assert buckets.wait_s("c") > 0


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
    ],
)
def test_ipv6_clients_share_the_bucket_of_their_64(host: str, key: str) -> None:
    """An IPv6 host cannot escape its limit by rotating addresses within its /64."""
    assert address_key(host) == key
