"""Small-cell suppression: no suppressed cell of any export can be worked out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.stats import ReferralFacts, StatsRequest, build_export
from hub.stats.suppression import SuppressedTable, lines, pinned_cells

_AT = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def _facts(draw: st.DrawFn) -> ReferralFacts:
    requested = _AT + timedelta(hours=draw(st.integers(0, 1000)))
    accepted = draw(st.none() | st.integers(1, 200).map(lambda h: requested + timedelta(hours=h)))
    completed = None
    if accepted is not None and draw(st.booleans()):
        completed = accepted + timedelta(hours=draw(st.integers(1, 200)))
    return ReferralFacts(
        region=draw(st.sampled_from(["north", "south", "coast"])),
        pathway=draw(st.sampled_from(["hospital-first", "court-first"])),
        step=draw(st.sampled_from(["hospital-to-court", "court-to-shelter", "unknown"])),
        service=draw(st.sampled_from(["legal-aid", "emergency-shelter"])),
        violence=draw(st.sampled_from(["rape", "physical-assault", "psychological-abuse/online"])),
        age_band=draw(st.sampled_from(["12-17", "18-24", "25-39"])),
        requested_at=requested,
        accepted_at=accepted,
        completed_at=completed,
        due_by=requested + timedelta(hours=draw(st.integers(1, 400))),
        outcomes=tuple(
            draw(st.lists(st.sampled_from(["shelter-provided", "case-opened"]), max_size=2))
        ),
    )


_BY = st.lists(
    st.sampled_from(["region", "pathway", "step", "service", "violence", "age-band"]),
    min_size=1,
    max_size=3,
    unique=True,
)


def _tables(export: object) -> list[SuppressedTable]:
    return [export.referrals, export.within_limit, export.outcomes]  # type: ignore[attr-defined]


@settings(max_examples=200, deadline=None)
@given(st.lists(_facts(), max_size=60), _BY, st.integers(2, 8))
def test_no_suppressed_cell_can_be_derived(
    facts: list[ReferralFacts], by: list[str], threshold: int
) -> None:
    """For any data and any export, no relation of a table pins a hidden cell to one value."""
    export = build_export(
        facts, StatsRequest(date(2026, 1, 1), date(2026, 12, 31), tuple(by), threshold)
    )
    for table in _tables(export):
        if table.withheld:
            continue  # not published at all
        hidden = table.below | table.complement
        for cells, total in lines(table.values):
            assert len(hidden.intersection([*cells, total])) != 1
        assert not pinned_cells(
            table.counts, table.values, table.below, table.complement, threshold
        )


@settings(max_examples=200, deadline=None)
@given(st.lists(_facts(), max_size=60), _BY, st.integers(2, 8))
def test_every_small_count_reads_below_threshold(
    facts: list[ReferralFacts], by: list[str], threshold: int
) -> None:
    """Every count under the threshold is shown as "<threshold", every other as itself or "x"."""
    export = build_export(
        facts, StatsRequest(date(2026, 1, 1), date(2026, 12, 31), tuple(by), threshold)
    )
    for table in _tables(export):
        for key, count in table.counts.items():
            shown = table.shown(key)
            if count < threshold:
                assert shown == f"<{threshold}"
            else:
                assert shown in (count, "x")
    for figure in export.times:
        assert (figure.median_hours is None) == (figure.count < threshold)
