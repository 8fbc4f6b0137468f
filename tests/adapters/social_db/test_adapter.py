"""The social-db adapter passes the suite every adapter passes, and reads rows offline."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from hub.adapters import AdapterContext, NativeInput
from hub.adapters.social_db import SocialDbAdapter
from hub.contracts import CloudEvent, new_event
from hub.contracts.examples import EXAMPLES
from hub.errors import AdapterError
from tests.adapters.adapter_suite import AdapterSuite

AGENCY = "entraide-nationale-casablanca"


def adapter(source: str | None = AGENCY) -> SocialDbAdapter:
    return SocialDbAdapter(
        AdapterContext(
            pseudonym_key=b"suite-key",
            source=source,
            clock=lambda: datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        )
    )


def referral_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": 7,
        "dossier_no": "EN-2026-0007",
        "beneficiary_ref": "BEN-0042",
        "to_org": "dar-al-amane-shelter",
        "service_code": "HEBERG",
        "urgency": "VITAL",
        "consent_ref": "cns-en-7",
        "due_date": "2026-12-02T10:00:00",
        "motive": "needs shelter tonight",
        "risk": "severe",
        "phone": None,
        "no_contact": 1,
    }
    row.update(changes)
    return row


class TestSocialDbAdapter(AdapterSuite):
    def create_adapter(self) -> SocialDbAdapter:
        return adapter()

    def sample_events(self) -> Sequence[CloudEvent]:
        keys = [
            ("referral.requested", 2),
            ("referral.status-changed", 1),
            ("referral.outcome-reported", 1),
        ]
        return [new_event(EXAMPLES[key], source="hospital-ibn-rochd") for key in keys]

    def sample_native(self) -> Sequence[NativeInput]:
        return [
            {"table": "case_referrals", "row": referral_row()},
            json.dumps(
                {
                    "table": "case_status_updates",
                    "row": {
                        "id": 3,
                        "dossier_no": "X-1",
                        "new_status": "CLOS",
                        "why": None,
                        "remark": None,
                    },
                }
            ).encode(),
        ]


def test_a_row_decodes_with_the_agency_s_codes_mapped() -> None:
    """Local codes become the hub's; the case reference becomes a pseudonym, never sent."""
    (event,) = adapter().decode({"table": "case_referrals", "row": referral_row()})

    assert event.source == AGENCY
    assert event.data["priority"] == "emergency"
    assert event.data["service"] == "emergency-shelter"
    assert event.data["due_by"] == "2026-12-02T10:00:00Z"
    assert event.data["contact"] == {"do_not_contact": True}
    assert "BEN-0042" not in json.dumps(event.structured())


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"urgency": "SOMETIME"}, "case_referrals.urgency: no mapping for the code 'SOMETIME'"),
        ({"due_date": "next week"}, "case_referrals.due_date: not an ISO 8601 date-time"),
        ({"no_contact": "perhaps"}, "case_referrals.no_contact: expected a yes/no value"),
        ({"beneficiary_ref": "  "}, "case_referrals.beneficiary_ref"),
        ({"to_org": "Not An Id"}, "case_referrals.to_org"),
    ],
)
def test_a_bad_value_is_refused_naming_table_and_column(
    change: dict[str, object], fragment: str
) -> None:
    """Each undecodable value names the table and column it was read from."""
    with pytest.raises(AdapterError) as caught:
        adapter().decode({"table": "case_referrals", "row": referral_row(**change)})

    assert fragment in str(caught.value)


def test_a_row_of_an_unmapped_table_is_refused() -> None:
    """A table the mapping does not name is an error naming it."""
    with pytest.raises(AdapterError, match="no table 'other'"):
        adapter().decode({"table": "other", "row": {"id": 1}})


def test_the_sender_must_be_known() -> None:
    """Rows carry no sender: without --source the adapter says so."""
    with pytest.raises(AdapterError, match="--source"):
        adapter(source=None).decode({"table": "case_referrals", "row": referral_row()})


def test_a_subject_id_the_hub_delivered_is_cited_as_it_is() -> None:
    """Referring her onward, the agency cites the pseudonym it received: it is not hashed again."""
    pseudonym = "sub_" + "ab" * 16

    (event,) = adapter().decode(
        {"table": "case_referrals", "row": referral_row(beneficiary_ref=pseudonym)}
    )

    assert event.data["subject_id"] == pseudonym
