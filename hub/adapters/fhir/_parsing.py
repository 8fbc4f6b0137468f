"""From bytes as received to one JSON object, refusing what is not worth reading.

The limits come before any FHIR model sees the input: a hospital system, or
anyone holding a token, must not be able to make the hub parse a document
larger than an event may be, nest one deeper than a parser's stack, or smuggle
``NaN`` or a thousand-digit number into a decimal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from hub.adapters.base import NativeInput, UnreadableInput
from hub.contracts import MAX_EVENT_BYTES

__all__ = ["MAX_DEPTH", "MAX_INPUT_BYTES", "JsonDocument", "read_document"]

MAX_INPUT_BYTES = MAX_EVENT_BYTES
#: Real FHIR resources nest about a dozen levels (extensions inside extensions a
#: few more); anything much deeper is an attack or a mistake.
MAX_DEPTH = 64
#: A tuple, not ``dict | list``: isinstance checks a tuple faster than a union.
_CONTAINERS = (dict, list)


class JsonDocument(dict[str, Any]):
    """A document :func:`read_document` parsed from JSON text itself.

    Every object in it is a dict, every array a list, every scalar a str, int,
    Decimal, bool or None: nothing a caller's own mapping might hold (dates,
    enums, model instances). The decoder relies on that to read it as it is.
    """


def read_document(native: NativeInput) -> dict[str, Any]:
    """The JSON object ``native`` holds, or UnreadableInput saying why not."""
    if isinstance(native, bytes | bytearray | memoryview):
        raw = bytes(native)
        if len(raw) > MAX_INPUT_BYTES:
            raise UnreadableInput(f"the document is over {MAX_INPUT_BYTES} bytes")
        parsed = _parse(raw)
        if not isinstance(parsed, dict):
            raise UnreadableInput("a FHIR resource is a JSON object")
        _check_json_depth(parsed)
        return JsonDocument(parsed)
    if not isinstance(native, Mapping):
        raise UnreadableInput(f"expected bytes or a JSON object, not {type(native).__name__}")
    _check_depth(native)
    if _size(native) > MAX_INPUT_BYTES:
        raise UnreadableInput(f"the document is over {MAX_INPUT_BYTES} bytes")
    return dict(native)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _parse(raw: bytes) -> object:
    try:
        return json.loads(raw, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise UnreadableInput("not JSON: nested too deeply") from exc
    except ValueError as exc:
        # Malformed JSON, bad UTF-8, NaN/Infinity, and integers past Python's
        # digit limit all arrive here.
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if "digits" in reason:
            reason = "a number has more digits than any FHIR value may"
        raise UnreadableInput(f"not JSON: {reason}") from exc


def _check_json_depth(document: dict[str, Any]) -> None:
    """:func:`_check_depth` for parsed JSON, level by level over containers only.

    The root is level 1 and every value one level below its container, so the
    document is too deep exactly when a container on level MAX_DEPTH holds anything.
    """
    level: list[Any] = [document]
    for _ in range(MAX_DEPTH - 1):
        below = [
            value
            for node in level
            for value in (node.values() if isinstance(node, dict) else node)
            if isinstance(value, _CONTAINERS)
        ]
        if not below:
            return
        level = below
    if any(level):
        raise UnreadableInput(f"the document nests deeper than {MAX_DEPTH} levels")


def _check_depth(document: Mapping[str, Any]) -> None:
    # Iterative, so a deep document cannot exhaust the stack here either.
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UnreadableInput(f"the document nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, Mapping):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)


def _size(document: Mapping[str, Any]) -> int:
    try:
        return len(json.dumps(document, default=str).encode())
    except (TypeError, ValueError) as exc:
        raise UnreadableInput(f"not a JSON document: {exc}") from exc
