"""Text from the URL (path and query parameters) the store can hold.

A NUL character in an id would reach the store as a query parameter, which
PostgreSQL refuses: an outage-looking 503 that invites endless retries. It is
refused here, for every route, as an invalid request parameter.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError

__all__ = ["url_text_the_store_can_hold"]

_NUL = "\x00"
_REASON = "text may not contain NUL characters"


async def url_text_the_store_can_hold(request: Request) -> None:
    """Refuse the request (as invalid parameters) if any path or query value holds NUL."""
    errors = [
        {"loc": ("path", name), "msg": _REASON, "type": "value_error"}
        for name, value in request.path_params.items()
        if isinstance(value, str) and _NUL in value
    ]
    errors.extend(
        {"loc": ("query", name[:64]), "msg": _REASON, "type": "value_error"}
        for name, value in request.query_params.multi_items()
        if _NUL in name or _NUL in value
    )
    if errors:
        raise RequestValidationError(errors)
