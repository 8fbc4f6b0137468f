"""Ed25519 keys that sign checkpoints, and the checks an auditor runs on them.

The hash chains alone prove nothing to someone who can write to the database:
sha256 has no key, so whoever alters an entry can recompute every hash after
it. A checkpoint signed with a key the database never holds closes that gap.
Only the 32-byte seed is configured (``audit.signing_key``); auditors get the
public key out of band and pass it to ``hub audit verify``. The public key is
deliberately not stored next to the checkpoints: a forger who can rewrite a
checkpoint could then also swap in a key of their own. ``key_id`` only names
which key signed, so a verifier can tell "wrong key" from "forged".
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hub.config import AuditSettings
from hub.errors import ConfigError

__all__ = [
    "Signer",
    "generate_seed",
    "key_id_of",
    "load_public_key",
    "public_key_b64",
    "signature_valid",
]

_KEY_BYTES = 32


def _b64_bytes(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} is not valid base64") from exc
    if len(raw) != _KEY_BYTES:
        raise ValueError(f"{what} must be {_KEY_BYTES} bytes, got {len(raw)}")
    return raw


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_of(key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key."""
    return hashlib.sha256(_raw_public(key)).hexdigest()[:16]


def public_key_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(_raw_public(key)).decode("ascii")


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key from its base64 raw form; ValueError if it is not one."""
    return Ed25519PublicKey.from_public_bytes(_b64_bytes(text, "public key"))


def generate_seed() -> str:
    """A new private key, as the base64 seed ``audit.signing_key`` takes."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    return base64.b64encode(seed).decode("ascii")


def signature_valid(key: Ed25519PublicKey, data: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64) is ``key``'s signature of ``data``."""
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, data)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


class Signer:
    """Signs checkpoint payloads with one private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id_of(self.public_key)

    @classmethod
    def from_seed(cls, seed: str) -> Signer:
        """The signer for a base64 32-byte seed; ValueError if it is not one."""
        return cls(Ed25519PrivateKey.from_private_bytes(_b64_bytes(seed, "signing key")))

    @classmethod
    def from_settings(cls, settings: AuditSettings) -> Signer | None:
        """The configured signer, None when no key is configured."""
        if settings.signing_key is None:
            return None
        try:
            return cls.from_seed(settings.signing_key.get_secret_value())
        except ValueError as exc:
            raise ConfigError("audit.signing_key", str(exc)) from exc

    def sign(self, data: bytes) -> str:
        """The base64 signature of ``data``."""
        return base64.b64encode(self._private.sign(data)).decode("ascii")

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id!r})"
