"""A short ``make chaos``: three hub processes, three Apache Kafka nodes, PostgreSQL, and faults.

Runs only with ``HUB_TEST_KAFKA=apache`` (as ``.ci/run`` sets it) and ``HUB_TEST_POSTGRES_DSN``;
the faults are shortened through the ``HUB_CHAOS_*`` settings. PostgreSQL is restarted when it is
a local Debian cluster this user may control; otherwise that fault is skipped and the run says so.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import KAFKA_ENV, POSTGRES_DSN_ENV

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.skipif(os.environ.get(KAFKA_ENV) != "apache", reason=f"needs {KAFKA_ENV}=apache"),
    pytest.mark.skipif(not os.environ.get(POSTGRES_DSN_ENV), reason=f"needs {POSTGRES_DSN_ENV}"),
    # Minutes, not the suite's default: three hubs and three brokers start and fail here.
    pytest.mark.timeout(1500),
]

ROOT = Path(__file__).resolve().parents[2]

SHORT = {
    "HUB_CHAOS_RATE_PER_S": "4",
    "HUB_CHAOS_WARMUP_S": "2",
    "HUB_CHAOS_HUB_DOWN_S": "1",
    "HUB_CHAOS_BROKER_DOWN_S": "3",
    "HUB_CHAOS_BROKER_PAUSE_S": "6",
    "HUB_CHAOS_WEBHOOK_OUTAGE_S": "8",
    "HUB_CHAOS_TAIL_S": "3",
    "HUB_CHAOS_SETTLE_TIMEOUT_S": "300",
}


def test_every_accepted_referral_reaches_its_recipient_once_through_the_faults(
    tmp_path: Path,
) -> None:
    """Through every fault injected, each accepted referral reaches its recipient exactly once."""
    env = {**os.environ, **SHORT, "HUB_CHAOS_POSTGRES_DSN": os.environ[POSTGRES_DSN_ENV]}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    run = subprocess.Popen(
        [sys.executable, "-m", "chaos", "--workdir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = run.communicate(timeout=1200)
    except subprocess.TimeoutExpired:
        # SIGINT lets the run stop its hubs and brokers and drop its database.
        run.send_signal(signal.SIGINT)
        stdout, stderr = run.communicate(timeout=180)
    assert stdout.strip(), stderr[-3000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    print(json.dumps(summary, indent=1))  # the counts, and any skipped fault, in the test log
    injected = {fault["fault"] for fault in summary["faults"]}
    assert {
        "hub-process-sigkill-restart",
        "ingress-leader-broker-sigkill-restart",
        "broker-sigstop-sigcont",
        "webhook-recipient-503",
    } <= injected
    assert "postgres-restart" in injected or summary["skipped_faults"]
    assert summary["accepted"] > 0
    assert summary["expected"] > 0
    assert summary["lost"] == 0, summary
    assert summary["duplicates"] == 0, summary
    assert summary["unexpected"] == 0, summary
    assert summary["audit_verified"], summary
    assert summary["dead_letters_deliverable"] == 0, summary
    assert summary["undeliverable_not_dead_lettered"] == 0, summary
    assert summary["ok"], summary
