"""Settings: a TOML file plus ``HUB_*`` variables; a broken one fails naming the key."""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.api.auth import TokenDirectory
from hub.cli import app
from hub.config import AgencyConfig, HubSettings, WebhookDelivery, load_settings
from hub.contracts import AgencyKind
from hub.errors import ConfigError
from hub.store import AgencyRow, Store
from hub.store import agencies as agency_store
from tests.support import agency, token_hash

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "casablanca-settat.toml"


@pytest.fixture(autouse=True)
def _no_hub_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from an environment without any ``HUB_*`` variable."""
    for name in list(os.environ):
        if name.startswith("HUB_"):
            monkeypatch.delenv(name)


def agencies(*kinds: str) -> list[dict[str, Any]]:
    return [agency(AgencyKind.HOSPITAL).config() | {"kind": kind} for kind in kinds]


def config_error(**values: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, **values)
    return caught.value


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- broken configurations ---------------------------------------------------------------


def test_a_wrong_agency_kind_names_the_agency_and_key() -> None:
    """An unknown kind on the third agency fails as ``agencies[2].kind``."""
    error = config_error(agencies=agencies("hospital", "court", "hospitall"))

    assert error.key == "agencies[2].kind"
    assert "agencies[2].kind" in str(error)


def test_a_duplicate_agency_id_names_the_second_one() -> None:
    """Two agencies with one id fail on the second, naming the id."""
    first, second = agencies("hospital", "court")
    second["id"] = first["id"]

    error = config_error(agencies=[first, second])

    assert error.key == "agencies[1].id"
    assert first["id"] in str(error)


def test_an_agency_may_not_take_the_hubs_own_id() -> None:
    """An agency named like the hub would be indistinguishable from its notices."""
    (entry,) = agencies("court")

    error = config_error(hub_id=entry["id"], agencies=[entry])

    assert error.key == "agencies[0].id"


def test_a_bad_delivery_mode_names_the_delivery_key() -> None:
    """A delivery mode that does not exist fails on ``agencies[0].delivery``."""
    (entry,) = agencies("shelter")
    entry["delivery"] = {"mode": "carrier-pigeon"}

    error = config_error(agencies=[entry])

    assert error.key == "agencies[0].delivery"
    assert "carrier-pigeon" in str(error)


def test_a_webhook_without_url_names_the_missing_key() -> None:
    """A webhook delivery lacking its URL fails on ``agencies[0].delivery.url``."""
    (entry,) = agencies("ngo")
    entry["delivery"] = {"mode": "webhook", "secret": "s3cret"}

    assert config_error(agencies=[entry]).key == "agencies[0].delivery.url"


@pytest.mark.parametrize(
    ("accepts", "named"),
    [({"referral.requested": [4]}, "[4]"), ({"referral.teleported": [1]}, "referral.teleported")],
)
def test_accepting_a_contract_the_hub_lacks_names_the_key(
    accepts: dict[str, list[int]], named: str
) -> None:
    """An agency reading a version or type the hub has no contract for fails at load time,
    rather than wedging the router when the first copy cannot be cast for it."""
    (entry,) = agencies("court")
    entry["accepts"] = accepts

    error = config_error(agencies=[entry])

    assert error.key == "agencies[0].accepts"
    assert named in str(error)
    assert "Value error" not in str(error)


def test_accepting_known_versions_is_fine() -> None:
    """Naming versions the hub has (here v1 only of referral.requested) loads."""
    (entry,) = agencies("court")
    entry["accepts"] = {"referral.requested": [1], "referral.status-changed": [1]}

    (configured,) = load_settings(None, agencies=[entry]).agencies

    assert configured.accepts["referral.requested"] == (1,)


def test_an_unknown_top_level_key_is_refused() -> None:
    """A misspelt setting is an error, not silently ignored."""
    assert config_error(databse_url="sqlite:///x.db").key == "databse_url"


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    """A file that is not TOML fails naming the file and saying so."""
    path = write(tmp_path, "hub_id = 'unterminated\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert caught.value.key == str(path)
    assert "not valid TOML" in str(caught.value)


def test_a_missing_file_names_the_file(tmp_path: Path) -> None:
    """A configuration file that does not exist fails naming it."""
    path = tmp_path / "nowhere.toml"

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert caught.value.key == str(path)
    assert "file not found" in str(caught.value)


def test_a_bad_value_in_the_file_names_its_key(tmp_path: Path) -> None:
    """A value of the wrong type inside a table fails on its dotted key."""
    path = write(tmp_path, "[delivery]\nmax_attempts = 'many'\n")

    with pytest.raises(ConfigError) as caught:
        load_settings(path)

    assert caught.value.key == "delivery.max_attempts"


# -- environment -------------------------------------------------------------------------


def test_hub_database_url_overrides_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``HUB_DATABASE_URL`` wins over ``database_url`` in the file."""
    path = write(tmp_path, "database_url = 'sqlite:///from-file.db'\n")
    monkeypatch.setenv("HUB_DATABASE_URL", "sqlite:///from-env.db")

    assert load_settings(path).database_url == "sqlite:///from-env.db"


def test_a_nested_variable_overrides_one_key_of_a_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``HUB_DELIVERY__MAX_ATTEMPTS`` changes that key only; the rest of [delivery] stays."""
    path = write(tmp_path, "[delivery]\nmax_attempts = 5\nbackoff_max_s = 7.5\n")
    monkeypatch.setenv("HUB_DELIVERY__MAX_ATTEMPTS", "2")

    settings = load_settings(path)

    assert settings.delivery.max_attempts == 2
    assert settings.delivery.backoff_max_s == 7.5


def test_a_bad_nested_variable_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """An out-of-range ``HUB_DELIVERY__MAX_ATTEMPTS`` fails on ``delivery.max_attempts``."""
    monkeypatch.setenv("HUB_DELIVERY__MAX_ATTEMPTS", "0")

    assert config_error().key == "delivery.max_attempts"


def test_values_given_in_code_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit override (a CLI option) beats ``HUB_*``, which beats the file."""
    monkeypatch.setenv("HUB_DATABASE_URL", "sqlite:///from-env.db")
    monkeypatch.setenv("HUB_DELIVERY__MAX_ATTEMPTS", "4")

    settings = load_settings(None, database_url="sqlite:///from-option.db")

    assert settings.database_url == "sqlite:///from-option.db"
    assert settings.delivery.max_attempts == 4


def test_the_embedded_broker_gets_short_sessions_and_no_idempotence() -> None:
    """Without a Kafka address: 2 s sessions, plain producer; with one: 10 s, idempotent."""
    embedded = load_settings(None)
    external = load_settings(None, kafka_bootstrap="kafka:9092")

    assert (embedded.session_timeout_ms, embedded.idempotent_producer) == (2000, False)
    assert (external.session_timeout_ms, external.idempotent_producer) == (10_000, True)
    tuned = load_settings(None, kafka_bootstrap="kafka:9092", consumer_session_timeout_ms=3000)
    assert tuned.session_timeout_ms == 3000


def test_more_insync_replicas_than_replicas_names_the_setting() -> None:
    """A min.insync.replicas no topic could meet is refused at start, naming the setting."""
    error = config_error(kafka_replication_factor=2, kafka_min_insync_replicas=3)

    assert error.key == "kafka_min_insync_replicas"
    assert "kafka_replication_factor (2)" in str(error)


# -- the example network -----------------------------------------------------------------


def test_the_casablanca_settat_example_describes_a_whole_network() -> None:
    """The example holds every kind of agency the pathways need, and timed pathways."""
    settings = load_settings(EXAMPLE)

    kinds = Counter(a.kind for a in settings.agencies)
    assert kinds[AgencyKind.HOSPITAL] >= 2
    assert kinds[AgencyKind.COURT] >= 1
    assert kinds[AgencyKind.PROSECUTION] >= 1
    assert kinds[AgencyKind.POLICE] >= 1
    assert kinds[AgencyKind.SHELTER] + kinds[AgencyKind.NGO] >= 2
    assert kinds[AgencyKind.SOCIAL_SERVICES] >= 1
    assert kinds[AgencyKind.PSYCHOSOCIAL] >= 1
    assert settings.pathways
    steps = [step for pathway in settings.pathways for step in pathway.steps]
    assert all(step.within_hours > 0 for step in steps)
    assert {(s.from_kind, s.to_kind) for s in steps} >= {
        (AgencyKind.HOSPITAL, AgencyKind.COURT),
        (AgencyKind.HOSPITAL, AgencyKind.SHELTER),
    }
    for step in steps:
        offering = [a for a in settings.agencies if a.kind == step.to_kind]
        assert any(step.service in a.services for a in offering), step.id


def test_webhook_secrets_never_show_in_a_repr() -> None:
    """A webhook secret stays hidden when settings are printed or logged."""
    entry = agency(
        AgencyKind.NGO,
        delivery={"mode": "webhook", "url": "https://ngo.example/hook", "secret": "s3cret-value"},
    )
    settings = load_settings(None, agencies=[entry.config()])
    (configured,) = settings.agencies

    assert isinstance(configured.delivery, WebhookDelivery)
    assert "s3cret-value" not in repr(settings)
    assert configured.delivery.secret.get_secret_value() == "s3cret-value"


# -- the CLI -----------------------------------------------------------------------------


def test_agencies_list_prints_the_example_as_json() -> None:
    """``hub agencies list --json`` prints every configured agency with kind and delivery."""
    result = CliRunner().invoke(app, ["agencies", "list", "--json", "--config", str(EXAMPLE)])

    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    expected = load_settings(EXAMPLE).agencies
    assert [row["id"] for row in rows] == [a.id for a in expected]
    assert {row["kind"] for row in rows} >= {"hospital", "court", "shelter", "police"}
    assert all(set(row) == {"id", "name", "kind", "region", "delivery"} for row in rows)


def test_agencies_list_fails_in_one_line_on_a_broken_file(tmp_path: Path) -> None:
    """A broken configuration is reported as one ``error:`` line naming the key."""
    path = write(tmp_path, "[[agencies]]\nid = 'x'\n")

    result = CliRunner().invoke(app, ["agencies", "list", "--config", str(path)])

    assert result.exit_code == 1
    assert result.stderr.startswith("error: configuration agencies[0]")
    assert "Traceback" not in result.output


def _register(database: str, settings: HubSettings) -> None:
    """Put the configured agencies in the store, which their token rows refer to."""
    now = datetime.now(UTC)
    with Store.open(database) as store, store.transaction() as conn:
        for configured in settings.agencies:
            agency_store.upsert_agency(
                conn,
                AgencyRow(
                    agency_id=configured.id,
                    kind=configured.kind.value,
                    region=configured.region,
                    display_name=configured.name,
                    delivery_mode=configured.delivery.mode,
                    settings={},
                    created_at=now,
                    updated_at=now,
                ),
            )


def _rotate(agency_id: str, database: str, config: Path = EXAMPLE) -> str:
    result = CliRunner().invoke(
        app,
        ["agencies", "rotate-token", agency_id, "--config", str(config), "--database", database],
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert "\n" not in token
    assert "not shown again" in result.stderr
    return token


def test_rotate_token_works_on_a_fresh_store(tmp_path: Path) -> None:
    """Rotating a token before the hub ever ran issues a working token."""
    database = f"sqlite:///{tmp_path / 'hub.db'}"
    settings = load_settings(EXAMPLE)
    court = next(a for a in settings.agencies if a.kind == AgencyKind.COURT)

    issued = _rotate(court.id, database)

    with Store.open(database) as store:
        tokens = TokenDirectory(store, {a.id: a for a in settings.agencies}, refresh_s=0)
        assert tokens.agency_for(issued) == court.id


def test_rotate_token_issues_a_token_and_retires_the_previous_one(tmp_path: Path) -> None:
    """Each rotation prints one new token once; it works and the one before stops working."""
    database = f"sqlite:///{tmp_path / 'hub.db'}"
    settings = load_settings(EXAMPLE)
    _register(database, settings)
    court: AgencyConfig = next(a for a in settings.agencies if a.kind == AgencyKind.COURT)

    first = _rotate(court.id, database)
    second = _rotate(court.id, database)

    assert first != second
    assert first.startswith("rh_")
    with Store.open(database) as store:
        tokens = TokenDirectory(store, {a.id: a for a in settings.agencies}, refresh_s=0)
        assert tokens.agency_for(second) == court.id
        assert tokens.agency_for(first) is None
        assert tokens.agency_for("rh_" + "x" * 43) is None
    assert all(a.token_sha256 != token_hash(second) for a in settings.agencies)


def test_rotate_token_retires_the_configured_token(tmp_path: Path) -> None:
    """The token whose hash the configuration holds stops working once a new one is issued."""
    settings = load_settings(EXAMPLE)
    court = next(a for a in settings.agencies if a.kind == AgencyKind.COURT)
    configured = "tok-configured-" + court.id
    text = EXAMPLE.read_text(encoding="utf-8").replace(court.token_sha256, token_hash(configured))
    config = write(tmp_path, text)
    settings = load_settings(config)
    database = f"sqlite:///{tmp_path / 'hub.db'}"
    _register(database, settings)
    with Store.open(database) as store:
        tokens = TokenDirectory(store, {a.id: a for a in settings.agencies}, refresh_s=0)
        assert tokens.agency_for(configured) == court.id

        issued = _rotate(court.id, database, config)

        assert tokens.agency_for(configured) is None
        assert tokens.agency_for(issued) == court.id


def test_rotate_token_is_seen_by_a_running_directory(tmp_path: Path) -> None:
    """A directory already in use picks up a rotation made by another process."""
    database = f"sqlite:///{tmp_path / 'hub.db'}"
    settings = load_settings(EXAMPLE)
    _register(database, settings)
    court = next(a for a in settings.agencies if a.kind == AgencyKind.COURT)
    with Store.open(database) as store:
        tokens = TokenDirectory(store, {a.id: a for a in settings.agencies}, refresh_s=0)
        assert tokens.agency_for("rh_not-yet") is None

        issued = _rotate(court.id, database)

        assert tokens.agency_for(issued) == court.id


def test_rotate_token_refuses_an_unknown_agency(tmp_path: Path) -> None:
    """Rotating the token of an agency not in the configuration fails, printing no token."""
    result = CliRunner().invoke(
        app,
        [
            "agencies",
            "rotate-token",
            "no-such-agency",
            "--config",
            str(EXAMPLE),
            "--database",
            f"sqlite:///{tmp_path / 'hub.db'}",
        ],
    )

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no agency 'no-such-agency'" in result.stderr


def test_rotate_token_writes_to_the_database_option_not_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--database`` names the store to change even when ``HUB_DATABASE_URL`` is set."""
    from_env = f"sqlite:///{tmp_path / 'env.db'}"
    from_option = f"sqlite:///{tmp_path / 'option.db'}"
    settings = load_settings(EXAMPLE)
    monkeypatch.setenv("HUB_DATABASE_URL", from_env)
    court = next(a for a in settings.agencies if a.kind == AgencyKind.COURT)
    _register(from_option, settings)

    issued = _rotate(court.id, from_option)

    with Store.open(from_option) as store:
        tokens = TokenDirectory(store, {a.id: a for a in settings.agencies}, refresh_s=0)
        assert tokens.agency_for(issued) == court.id
    assert not (tmp_path / "env.db").exists()


def test_settings_are_frozen() -> None:
    """Settings built at the entry point cannot be changed on the way down."""
    settings = load_settings(None)
    with pytest.raises(ValueError, match="frozen"):
        settings.hub_id = "other"  # type: ignore[misc]
    assert isinstance(settings, HubSettings)
