"""Bearer-token authentication: each agency holds one token; the hub keeps its hash."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping

from hub.config import AgencyConfig
from hub.store import Store
from hub.store import agencies as agency_store

__all__ = ["TokenDirectory", "hash_token", "new_token"]


def hash_token(token: str) -> str:
    """SHA-256 suffices: tokens are 256-bit random values, not passwords."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "rh_" + secrets.token_urlsafe(32)


class TokenDirectory:
    """Token hash to agency id: configured hashes, overridden by rotations in the store.

    Rotations made by another process (``hub agencies rotate-token``) are seen
    within ``refresh_s`` seconds; the old token stops working then.
    """

    def __init__(
        self, store: Store, agencies: Mapping[str, AgencyConfig], refresh_s: float = 2.0
    ) -> None:
        self._store = store
        self._agencies = agencies
        self._refresh_s = refresh_s
        self._by_hash: dict[str, str] = {}
        self._loaded_at = float("-inf")

    def is_fresh(self) -> bool:
        """Whether :meth:`agency_for` would answer without reading the store."""
        return time.monotonic() - self._loaded_at <= self._refresh_s

    def agency_for(self, token: str) -> str | None:
        if time.monotonic() - self._loaded_at > self._refresh_s:
            self.reload()
        return self._by_hash.get(hash_token(token))

    def reload(self) -> None:
        hashes = {agency_id: agency.token_sha256 for agency_id, agency in self._agencies.items()}
        with self._store.transaction() as conn:
            for agency_id in hashes:
                rotated = agency_store.get_token_hash(conn, agency_id)
                if rotated is not None:
                    hashes[agency_id] = rotated
        self._by_hash = {digest: agency_id for agency_id, digest in hashes.items()}
        self._loaded_at = time.monotonic()
