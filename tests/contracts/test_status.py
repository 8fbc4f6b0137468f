"""Referral status: the one transition table and ``check_transition``."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.contracts.status import TERMINAL, TRANSITIONS, ReferralStatus, check_transition
from hub.errors import IllegalTransition

#: The documented table (contracts-docs/referral.status-changed.md), written out by hand.
ALLOWED: dict[str, set[str]] = {
    "requested": {"received", "accepted", "rejected", "cancelled", "failed"},
    "received": {"accepted", "rejected", "on-hold", "cancelled", "failed"},
    "accepted": {"in-progress", "on-hold", "completed", "cancelled", "failed"},
    "in-progress": {"on-hold", "completed", "cancelled", "failed"},
    "on-hold": {"accepted", "in-progress", "cancelled", "failed"},
}
TERMINAL_STATUSES = {"rejected", "completed", "cancelled", "failed"}

S = ReferralStatus
PAIRS = list(itertools.product(S, S))
ALLOWED_PAIRS = [(a, b) for a, b in PAIRS if b.value in ALLOWED.get(a.value, set())]
REFUSED_PAIRS = [(a, b) for a, b in PAIRS if b.value not in ALLOWED.get(a.value, set())]


def refusal(current: ReferralStatus | None, requested: ReferralStatus) -> IllegalTransition | None:
    """The IllegalTransition check_transition raises, or None when the move is allowed."""
    try:
        check_transition(current, requested)
    except IllegalTransition as error:
        return error
    return None


def pair_id(pair: tuple[ReferralStatus, ReferralStatus]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


def test_table_is_the_documented_one() -> None:
    """The code's table is exactly the documented one, and nothing else is terminal."""
    assert {a.value: {b.value for b in to} for a, to in TRANSITIONS.items()} == ALLOWED
    assert {status.value for status in TERMINAL} == TERMINAL_STATUSES
    assert set(ALLOWED) | TERMINAL_STATUSES == {status.value for status in S}


@pytest.mark.parametrize("pair", ALLOWED_PAIRS, ids=pair_id)
def test_allowed_move_passes(pair: tuple[ReferralStatus, ReferralStatus]) -> None:
    """Every move in the table is allowed."""
    check_transition(*pair)


@pytest.mark.parametrize("pair", REFUSED_PAIRS, ids=pair_id)
def test_other_move_is_refused_naming_both_statuses(
    pair: tuple[ReferralStatus, ReferralStatus],
) -> None:
    """A move outside the table raises IllegalTransition naming where from and where to."""
    current, requested = pair
    with pytest.raises(IllegalTransition) as caught:
        check_transition(current, requested)
    assert (caught.value.current, caught.value.requested) == (current.value, requested.value)
    assert f"{current.value} -> {requested.value}" in str(caught.value)


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATUSES))
def test_terminal_status_allows_nothing(terminal: str) -> None:
    """Once rejected, completed, cancelled or failed, a referral never moves again."""
    for requested in S:
        with pytest.raises(IllegalTransition):
            check_transition(S(terminal), requested)


def test_new_referral_starts_requested() -> None:
    """A referral with no status yet can only become requested."""
    check_transition(None, S.REQUESTED)
    for requested in set(S) - {S.REQUESTED}:
        with pytest.raises(IllegalTransition) as caught:
            check_transition(None, requested)
        assert caught.value.current is None
        assert caught.value.requested == requested.value
        assert f"(none) -> {requested.value}" in str(caught.value)


def test_every_status_is_reachable_and_every_path_can_end() -> None:
    """From requested every status is reachable, and from each one a terminal status is."""

    def reachable(start: str) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for following in ALLOWED.get(todo.pop(), set()):
                if following not in seen:
                    seen.add(following)
                    todo.append(following)
        return seen

    assert reachable("requested") == {status.value for status in S}
    for status in S:
        assert reachable(status.value) & TERMINAL_STATUSES, status


@settings(max_examples=200, deadline=None)
@given(st.none() | st.sampled_from(S), st.sampled_from(S))
def test_check_transition_agrees_with_the_table(
    current: ReferralStatus | None, requested: ReferralStatus
) -> None:
    """check_transition allows a move exactly when the documented table does."""
    if current is None:
        allowed = requested is S.REQUESTED
    else:
        allowed = requested.value in ALLOWED.get(current.value, set())
    error = refusal(current, requested)
    if allowed:
        assert error is None
    else:
        assert error is not None
        assert error.requested == requested.value
        assert error.current == (current.value if current is not None else None)
