"""Alert rules and dashboards under deploy/: valid, unit-tested, on catalogued metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.observability.catalogue import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"
# Series Prometheus makes itself rather than scraping from the hub.
_PROMETHEUS_OWN = {"up"}
_SUFFIXES = ("_total", "_bucket", "_sum", "_count")
_FUNCTIONS = {
    "sum", "by", "rate", "increase", "delta", "deriv", "histogram_quantile", "and", "or",
    "without", "max", "min", "avg", "count", "absent", "on", "ignoring", "unless",
}  # fmt: skip


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed")
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *args], cwd=PROMETHEUS, capture_output=True, text=True, check=False
    )


def test_promtool_accepts_the_alert_rules() -> None:
    """`promtool check rules` finds the alert rules valid."""
    checked = _run("check", "rules", "rules.yml")

    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_each_alert_fires_when_it_should_and_only_then() -> None:
    """`promtool test rules`: every alert fires on its firing series and not on the quiet one."""
    tested = _run("test", "rules", "rules.test.yml")

    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_unit_test() -> None:
    """No alert rule goes without a case in rules.test.yml."""
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())
    tests = yaml.safe_load((PROMETHEUS / "rules.test.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    tested = {case["alertname"] for test in tests["tests"] for case in test["alert_rule_test"]}

    assert alerts == tested


def _expressions() -> dict[str, str]:
    found: dict[str, str] = {}
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            found[f"rule {rule['alert']}"] = rule["expr"]
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard: dict[str, Any] = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                found[f"{path.name}: {panel['title']}"] = target["expr"]
    return found


def _metric_names(expr: str) -> set[str]:
    without_labels = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", " ", expr)
    without_grouping = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", without_labels)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_grouping))
    return {word for word in words if word not in _FUNCTIONS and not word.isdigit()}


def _base(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def test_every_metric_a_dashboard_or_rule_names_is_in_the_catalogue() -> None:
    """Dashboards and alerts only query metrics the hub serves, as the catalogue lists them."""
    catalogued = {spec.name for spec in CATALOGUE}
    expressions = _expressions()
    unknown = {
        where: sorted(name for name in _metric_names(expr) if _base(name) not in catalogued)
        for where, expr in expressions.items()
    }
    unknown = {where: names for where, names in unknown.items() if set(names) - _PROMETHEUS_OWN}

    assert len(list(DASHBOARDS.glob("*.json"))) >= 5
    assert unknown == {}


def test_the_name_reader_sees_an_uncatalogued_metric() -> None:
    """The check above would notice a dashboard naming a metric the hub does not serve."""
    names = _metric_names('sum by (agency) (rate(hub_made_up_total{mode="x"}[5m])) > 0')

    assert names == {"hub_made_up_total"}
