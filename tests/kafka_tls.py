"""TLS material and SCRAM users for a secured Apache Kafka, made afresh for each test run.

:func:`write_broker_tls` writes the folder ``deploy/kafka/start.sh --sasl-ssl`` reads: a CA made
here with ``cryptography``, the brokers' key and certificate for 127.0.0.1 signed by it, and
the SCRAM users to create when the storage is formatted.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from collections.abc import Mapping
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["BROKER_USER", "new_password", "write_broker_tls"]

#: The brokers' own principal; start.sh makes it the only super user.
BROKER_USER = "kafka-broker"


def new_password() -> str:
    """A random SCRAM password in the characters start.sh accepts."""
    return secrets.token_urlsafe(24)


def write_broker_tls(folder: Path, users: Mapping[str, str]) -> Path:
    """Write ``ca.pem``, ``broker.pem`` and ``scram-users`` (``users`` plus the broker's own)."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "referral-hub test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, BROKER_USER)]))
        .issuer_name(ca_name)
        .public_key(broker_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        # The brokers present it as servers and, to the controller quorum, as clients.
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    key = broker_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (folder / "broker.pem").write_bytes(key + broker.public_bytes(pem) + ca.public_bytes(pem))
    (folder / "broker.pem").chmod(0o600)
    lines = [f"{BROKER_USER} {new_password()}"]
    lines += [f"{name} {password}" for name, password in users.items()]
    (folder / "scram-users").write_text("\n".join(lines) + "\n")
    (folder / "scram-users").chmod(0o600)
    return folder
