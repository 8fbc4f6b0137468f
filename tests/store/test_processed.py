"""The processed-events repository: inbox de-duplication per consumer."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import Connection

from hub.store import EventKey, Store, processed


def _a(*event_ids: str) -> list[EventKey]:
    """Events of one source."""
    return [("agency-a", event_id) for event_id in event_ids]


def test_claim_once_then_refused(conn: Connection, now: datetime) -> None:
    """The first claim of an event succeeds and a second claim returns False."""
    assert processed.claim(conn, "router", ("agency-a", "e1"), now) is True
    assert processed.claim(conn, "router", ("agency-a", "e1"), now) is False
    assert processed.is_processed(conn, "router", ("agency-a", "e1"))


def test_claims_are_per_consumer(conn: Connection, now: datetime) -> None:
    """Another consumer can claim an event one consumer already processed."""
    assert processed.claim(conn, "router", ("agency-a", "e1"), now)
    assert processed.claim(conn, "audit", ("agency-a", "e1"), now)
    assert not processed.is_processed(conn, "notifier", ("agency-a", "e1"))


def test_unclaimed_is_not_processed(conn: Connection) -> None:
    """is_processed is False for an event nobody claimed."""
    assert processed.is_processed(conn, "router", ("agency-a", "e1")) is False


def test_claim_in_rolled_back_transaction_is_forgotten(store: Store, now: datetime) -> None:
    """A claim made in a transaction that rolls back can be made again."""
    try:
        with store.transaction() as conn:
            processed.claim(conn, "router", ("agency-a", "e1"), now)
            raise RuntimeError("effect failed")
    except RuntimeError:
        pass
    with store.transaction() as conn:
        assert processed.claim(conn, "router", ("agency-a", "e1"), now) is True


def test_claim_twice_across_transactions(store: Store, now: datetime) -> None:
    """A claim committed earlier makes a later claim in a new transaction return False."""
    with store.transaction() as conn:
        assert processed.claim(conn, "router", ("agency-a", "e1"), now)
    with store.transaction() as conn:
        assert not processed.claim(conn, "router", ("agency-a", "e1"), now)


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
                outcomes.append(processed.claim(conn, "router", ("agency-a", "shared"), now))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes) == [False] * (threads_count - 1) + [True]


def test_claim_many_returns_only_new_claims(conn: Connection, now: datetime) -> None:
    """A batch claim answers which ids it claimed now, leaving out ones handled before."""
    processed.claim(conn, "router", ("agency-a", "e2"), now)
    claimed = processed.claim_many(conn, "router", _a("e1", "e2", "e3"), now)
    assert claimed == set(_a("e1", "e3"))
    assert processed.processed_among(conn, "router", _a("e1", "e2", "e3", "e4")) == set(
        _a("e1", "e2", "e3")
    )
    assert processed.claim_many(conn, "router", _a("e1", "e3"), now) == set()


def test_claim_many_of_nothing(conn: Connection, now: datetime) -> None:
    assert processed.claim_many(conn, "router", [], now) == set()


def test_processed_among_a_batch_larger_than_one_query(conn: Connection, now: datetime) -> None:
    """Batches past the IN-list limit are looked up in several queries, none lost."""
    ids = _a(*(f"e{n}" for n in range(1_203)))
    assert processed.claim_many(conn, "router", ids[::2], now) == set(ids[::2])
    assert processed.processed_among(conn, "router", ids) == set(ids[::2])


def test_concurrent_batch_claims_split_the_events(store: Store, now: datetime) -> None:
    """Two overlapping batch claims in parallel never both win an event."""
    ids = _a(*(f"e{n}" for n in range(200)))
    won: list[set[EventKey]] = []
    barrier = threading.Barrier(2)

    def claim(batch: list[EventKey]) -> None:
        barrier.wait()
        with store.transaction() as conn:
            won.append(processed.claim_many(conn, "router", batch, now))

    threads = [
        threading.Thread(target=claim, args=(ids[:150],)),
        threading.Thread(target=claim, args=(ids[50:],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert won[0].isdisjoint(won[1])
    assert won[0] | won[1] == set(ids)
