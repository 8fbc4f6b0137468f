"""The canonical encoding: the exact bytes, times as microseconds, and one encoder everywhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.audit._canonical import (
    _chunks_of_encoder,
    _compiled_encoder,
    canonical_json,
    canonical_sha256,
    sha256_hex,
    utc_micros,
)

# What audit entries and checkpoints hold: flat values, short lists, objects of those.
scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text()
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def test_bytes_follow_the_documented_rule() -> None:
    """No whitespace, keys sorted by code point, only quote, backslash and controls escaped."""
    value = {"é": 1, "b": [True, None, -7], "B": 'q"\\\n\t\x01\x7fé€😀'}
    assert canonical_json(value) == (
        '{"B":"q\\"\\\\\\n\\t\\u0001\x7fé€😀","b":[true,null,-7],"é":1}'.encode()
    )


@given(values)
def test_the_compiled_encoder_writes_what_the_standard_one_does(value: Any) -> None:
    """The encoder built once gives the same text as json.JSONEncoder with the canonical options."""
    compiled = _compiled_encoder()
    assert compiled is not None  # CPython ships the C encoder
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "".join(compiled(value, 0)) == expected
    assert "".join(_chunks_of_encoder(value, 0)) == expected
    assert canonical_json(value) == expected.encode("utf-8")
    assert canonical_sha256(value) == sha256_hex(expected.encode("utf-8"))


@pytest.mark.parametrize("refused", [float("nan"), float("inf"), object(), b"bytes"])
def test_non_json_values_are_refused(refused: object) -> None:
    """NaN, infinities and values JSON cannot carry raise instead of being written somehow."""
    with pytest.raises((ValueError, TypeError)):
        canonical_json(["ok", refused])


def test_times_are_microseconds_since_the_epoch_whatever_the_zone() -> None:
    """An aware time becomes its UTC microseconds; the zone it was given in does not matter."""
    at = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
    assert utc_micros(at) == 1_772_355_600_123_456
    plus_two = at.astimezone(timezone(timedelta(hours=2)))
    assert utc_micros(plus_two) == utc_micros(at)
    assert utc_micros(datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == -1


def test_naive_times_are_refused() -> None:
    """A naive time is a caller's bug: ValueError naming it, never a guess."""
    with pytest.raises(ValueError, match="naive datetime 2026-03-01T09:00:00"):
        utc_micros(datetime(2026, 3, 1, 9))
    with pytest.raises(TypeError):
        utc_micros("2026-03-01T09:00:00+00:00")  # type: ignore[arg-type]
