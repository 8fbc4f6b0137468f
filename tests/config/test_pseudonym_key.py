"""``hub run`` refuses a pseudonym key that would let anyone recompute subject ids."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from hub.cli import app
from hub.config import load_settings
from hub.errors import ConfigError
from hub.runtime.server import running_hub

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "casablanca-settat.toml"


@pytest.fixture(autouse=True)
def _no_hub_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from an environment without any ``HUB_*`` variable."""
    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)


@pytest.fixture(autouse=True)
def _logging_kept() -> Iterator[None]:
    """Should ``hub run`` get as far as configuring logging, later tests keep theirs."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def run_hub(env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["run", "--config", str(EXAMPLE)], env=env)
    return result.exit_code, result.stderr


def test_hub_run_refuses_the_built_in_pseudonym_key() -> None:
    """Without a key of its own, ``hub run`` exits 1 with one line naming HUB_PSEUDONYM_KEY."""
    code, stderr = run_hub()

    assert code == 1
    assert stderr.count("\n") == 1
    assert stderr.startswith("error: configuration pseudonym_key: is the built-in public default")
    assert "HUB_PSEUDONYM_KEY" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("key", ["", "   ", "short-key"])
def test_hub_run_refuses_a_missing_or_short_pseudonym_key(key: str) -> None:
    """An empty or short key is refused the same way, naming the setting."""
    code, stderr = run_hub({"HUB_PSEUDONYM_KEY": key})

    assert code == 1
    assert stderr.startswith("error: configuration pseudonym_key: is missing or shorter than")
    assert "HUB_PSEUDONYM_KEY" in stderr


def test_a_long_random_key_from_the_environment_is_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """HUB_PSEUDONYM_KEY set to a long secret satisfies the check ``hub run`` makes."""
    monkeypatch.setenv("HUB_PSEUDONYM_KEY", "a-long-random-secret-of-this-deployment")

    settings = load_settings(EXAMPLE)

    assert settings.pseudonym_key_problem() is None
    assert load_settings(EXAMPLE, pseudonym_key="").pseudonym_key_problem() is not None


async def test_the_hub_refuses_the_built_in_key_however_it_is_started() -> None:
    """Started in-process (as the demo does), the hub refuses the built-in key naming it."""
    settings = load_settings(EXAMPLE)

    with pytest.raises(ConfigError) as caught:
        async with running_hub(settings):
            pytest.fail("the hub started with the built-in pseudonym key")

    assert caught.value.key == "pseudonym_key"
    assert "HUB_PSEUDONYM_KEY" in str(caught.value)
