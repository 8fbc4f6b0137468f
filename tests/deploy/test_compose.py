"""docker-compose.yml: every file it names exists, and its Kafka is the cluster the tests run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hub.config import load_settings
from tests.apache_kafka import CLUSTER_BROKER_SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _kafka_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in compose["services"].items()
        if str(service.get("image", "")).startswith("apache/kafka:")
    }


def _host_path(volume: str) -> str | None:
    """The host side of a bind mount (``./x:/y:ro``); None for a named volume."""
    source = volume.split(":", 1)[0]
    return source if source.startswith((".", "/")) else None


def test_every_file_the_stack_mounts_or_builds_from_exists() -> None:
    """`docker compose up` finds every bind-mounted file and Dockerfile in the repository."""
    compose = _compose()
    wanted: list[str] = []
    for service in compose["services"].values():
        wanted += [path for v in service.get("volumes", []) if (path := _host_path(v))]
        build = service.get("build")
        if build:
            wanted.append(str(Path(build.get("context", ".")) / build["dockerfile"]))
    missing = [path for path in wanted if not (ROOT / path).is_file()]

    assert wanted, "the stack should mount the hub's configuration"
    assert missing == []


def test_the_stack_runs_the_kafka_cluster_the_tests_run() -> None:
    """Three Apache Kafka 4 brokers with the cluster tests' settings, the hub told of all three."""
    compose = _compose()
    brokers = _kafka_services(compose)
    expected_env = {
        "KAFKA_" + key.upper().replace(".", "_"): value
        for key, value in CLUSTER_BROKER_SETTINGS.items()
    }

    assert len(brokers) == 3
    for service in brokers.values():
        assert service["image"].startswith("apache/kafka:4.")
        environment = service["environment"]
        assert {key: environment.get(key) for key in expected_env} == expected_env
    hub_env = compose["services"]["hub"]["environment"]
    assert sorted(hub_env["HUB_KAFKA_BOOTSTRAP"].split(",")) == sorted(
        f"{name}:9092" for name in brokers
    )


def test_the_mounted_hub_configuration_matches_the_cluster() -> None:
    """deploy/hub.toml loads, and its topic replication is the cluster's: 3 copies, 2 in sync."""
    settings = load_settings(ROOT / "deploy" / "hub.toml")

    assert settings.kafka_replication_factor == int(
        CLUSTER_BROKER_SETTINGS["default.replication.factor"]
    )
    assert settings.kafka_min_insync_replicas == int(CLUSTER_BROKER_SETTINGS["min.insync.replicas"])
    assert settings.idempotent_producer
