"""What the operations endpoints cost: the AsyncAPI document once, a scrape no query.

The app is the hub's API (``create_api``) over a SQLite store, without the
background loops of a running hub, so every statement counted comes from the
request under test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import event

from hub.api import ApiContext, create_api
from hub.api import ops as ops_module
from hub.api.auth import TokenDirectory
from hub.contracts import ContractRegistry, default_registry
from hub.observability import HubMetrics
from hub.runtime.gauges import refresh_gauges
from hub.store import Store, outbox

pytestmark = pytest.mark.asyncio


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'hub.db'}") as opened:
        yield opened


def make_app(store: Store, metrics: HubMetrics) -> FastAPI:
    context = ApiContext(
        store=store,
        registry=default_registry(),
        agencies={},
        tokens=TokenDirectory(store, {}),
        metrics=metrics,
    )
    return create_api(context)


@pytest_asyncio.fixture
async def client_for(store: Store) -> AsyncIterator[Any]:
    clients: list[httpx.AsyncClient] = []

    def make(metrics: HubMetrics) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=make_app(store, metrics))
        client = httpx.AsyncClient(transport=transport, base_url="http://hub")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


class Statements:
    """Counts the SQL statements an engine executes while it is attached."""

    def __init__(self, store: Store) -> None:
        self.count = 0
        self._engine = store.engine

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def __enter__(self) -> Statements:
        event.listen(self._engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


async def test_the_asyncapi_document_is_rendered_once(
    client_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many requests for /asyncapi.yaml and /asyncapi render the document only once."""
    rendered: list[int] = []
    original = ops_module.asyncapi_yaml

    def counting(registry: ContractRegistry) -> str:
        rendered.append(1)
        return original(registry)

    monkeypatch.setattr(ops_module, "asyncapi_yaml", counting)
    client = client_for(HubMetrics.create())

    answers = [await client.get("/asyncapi.yaml") for _ in range(5)]
    pages = [await client.get("/asyncapi") for _ in range(5)]

    assert all(a.status_code == 200 for a in answers + pages)
    assert {a.text for a in answers} == {original(default_registry())}
    assert len({p.text for p in pages}) == 1
    assert "AsyncAPI 3.0" in pages[0].text
    assert len(rendered) == 1


async def test_a_metrics_scrape_issues_no_sql(store: Store, client_for: Any) -> None:
    """GET /metrics reads nothing from the store, however often it is scraped."""
    client = client_for(HubMetrics.create())

    with Statements(store) as statements:
        answers = [await client.get("/metrics") for _ in range(3)]

    assert all(a.status_code == 200 for a in answers)
    assert "hub_outbox_pending" in answers[0].text
    assert statements.count == 0


async def test_the_store_gauges_come_from_the_refresher(store: Store, client_for: Any) -> None:
    """The outbox backlog a scrape shows is the one the background refresh last read."""
    metrics = HubMetrics.create()
    client = client_for(metrics)
    now = datetime.now(UTC)
    with store.transaction() as conn:
        outbox.add(
            conn,
            source="hospital-1",
            event_id="evt-gauge",
            topic="hub.ingress",
            key="k",
            envelope={},
            at=now,
        )

    refresh_gauges(store, metrics, now)
    with Statements(store) as statements:
        page = (await client.get("/metrics")).text

    assert "hub_outbox_pending 1.0" in page
    assert "hub_referrals_overdue 0.0" in page
    assert statements.count == 0
