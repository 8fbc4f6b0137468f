"""Rate limits are set in ``[limits]`` or by ``HUB_LIMITS__...`` variables, checked on load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hub.config import load_settings
from hub.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "casablanca-settat.toml"


@pytest.fixture(autouse=True)
def _no_hub_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from an environment without any ``HUB_*`` variable."""
    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)


def test_a_variable_overrides_one_limit_of_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """HUB_LIMITS__AGENCY__REQUESTS_PER_SECOND changes that rate and keeps the file's burst."""
    monkeypatch.setenv("HUB_LIMITS__AGENCY__REQUESTS_PER_SECOND", "7.5")

    limits = load_settings(EXAMPLE).limits

    assert limits.agency.requests_per_second == 7.5
    assert limits.agency.burst == 400
    assert limits.address.burst == 100


def test_a_limit_that_admits_nothing_is_refused_naming_its_key() -> None:
    """A zero rate or burst would lock every agency out: refused, naming the key."""
    with pytest.raises(ConfigError) as caught:
        load_settings(None, limits={"address": {"requests_per_second": 1, "burst": 0}})

    assert caught.value.key == "limits.address.burst"
