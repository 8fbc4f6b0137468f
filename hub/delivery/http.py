"""Posting an event to an agency's endpoint, and what the answer means for a retry."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from hub.errors import DeliveryError

__all__ = ["post_to_agency"]

#: Answers that another attempt may fix; every other 4xx is final.
_RETRIABLE_STATUS = frozenset({408, 425, 429})


async def post_to_agency(
    client: httpx.AsyncClient, agency_id: str, url: str, body: bytes, headers: Mapping[str, str]
) -> None:
    """POST ``body``; DeliveryError unless it is accepted, retriable when trying again may help."""
    try:
        response = await client.post(url, content=body, headers=dict(headers))
    except httpx.HTTPError as exc:
        # Timeouts, refused connections, broken TLS: the server may be back soon.
        raise DeliveryError(f"{type(exc).__name__} posting to {agency_id}") from exc
    if response.is_success:
        return
    retriable = response.status_code >= 500 or response.status_code in _RETRIABLE_STATUS
    raise DeliveryError(f"{agency_id} answered {response.status_code}", retriable=retriable)
