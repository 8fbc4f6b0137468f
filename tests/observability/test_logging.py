"""Log lines never carry survivor data, whatever a caller passes."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from hub.observability.logging import configure_logging, drop_survivor_data, get_logger


def test_unlisted_fields_and_payloads_are_withheld() -> None:
    """A payload, a name or a free-text note passed to a log call is replaced by a marker."""
    line = drop_survivor_data(
        None,
        "info",
        {
            "event": "delivered",
            "event_id": "e-1",
            "data": {"narrative": "her account"},
            "given_name": "Salma",
            "reason": "timeout",
            "categories": ["contact"],
            "fields": ["narrative"],
        },
    )
    assert line["event_id"] == "e-1"
    assert line["reason"] == "timeout"
    assert line["categories"] == ["contact"]
    assert line["data"] == "[withheld]"
    assert line["given_name"] == "[withheld]"
    assert line["fields"] == "[withheld]"


def test_a_rendered_line_holds_no_survivor_data(capsys: pytest.CaptureFixture[str]) -> None:
    """Through the configured JSON renderer, the survivor's data never reaches the output."""
    configure_logging("json", level=logging.INFO)
    try:
        get_logger("test").info("routed", event_id="e-2", narrative="she was hurt at home")
    finally:
        structlog.reset_defaults()
    rendered = capsys.readouterr().err.strip().splitlines()[-1]
    document = json.loads(rendered)
    assert document["event_id"] == "e-2"
    assert "hurt" not in rendered
