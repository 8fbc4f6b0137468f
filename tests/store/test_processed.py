"""The processed-events repository: inbox de-duplication per consumer."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import Connection

from hub.store import Store, processed


def test_claim_once_then_refused(conn: Connection, now: datetime) -> None:
    """The first claim of an event succeeds and a second claim returns False."""
    assert processed.claim(conn, "router", "e1", now) is True
    assert processed.claim(conn, "router", "e1", now) is False
    assert processed.is_processed(conn, "router", "e1")


def test_claims_are_per_consumer(conn: Connection, now: datetime) -> None:
    """Another consumer can claim an event one consumer already processed."""
    assert processed.claim(conn, "router", "e1", now)
    assert processed.claim(conn, "audit", "e1", now)
    assert not processed.is_processed(conn, "notifier", "e1")


def test_unclaimed_is_not_processed(conn: Connection) -> None:
    """is_processed is False for an event nobody claimed."""
    assert processed.is_processed(conn, "router", "e1") is False


def test_claim_in_rolled_back_transaction_is_forgotten(store: Store, now: datetime) -> None:
    """A claim made in a transaction that rolls back can be made again."""
    try:
        with store.transaction() as conn:
            processed.claim(conn, "router", "e1", now)
            raise RuntimeError("effect failed")
    except RuntimeError:
        pass
    with store.transaction() as conn:
        assert processed.claim(conn, "router", "e1", now) is True


def test_claim_twice_across_transactions(store: Store, now: datetime) -> None:
    """A claim committed earlier makes a later claim in a new transaction return False."""
    with store.transaction() as conn:
        assert processed.claim(conn, "router", "e1", now)
    with store.transaction() as conn:
        assert not processed.claim(conn, "router", "e1", now)


def test_concurrent_claims_have_one_winner(store: Store, now: datetime) -> None:
    """Threads racing to claim one event in separate transactions: exactly one succeeds."""
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    outcomes: list[bool] = []
    errors: list[BaseException] = []

    def race() -> None:
        try:
            barrier.wait()
            with store.transaction() as conn:
                outcomes.append(processed.claim(conn, "router", "shared", now))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) == [False] * (threads_count - 1) + [True]
