"""The court exchange over SFTP, against a real SFTP server started by the test."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from hub.adapters.court.exchange import CourtExchange, delivery_file_name
from hub.adapters.court.folders import FolderError, SftpFolder
from hub.config import CourtFilesDelivery, SftpSettings
from hub.contracts import default_registry, new_event
from hub.contracts.examples import EXAMPLES
from hub.services.polled_intake import submit_polled
from hub.store import Store
from tests.adapters.court.samples import COURT, REFERRAL_XML, court_adapter, refer_to_court
from tests.adapters.social_db.test_capture import outbox_events

pytestmark = pytest.mark.integration

USER, PASSWORD = "tpi-casa", "registry-secret"


class _Server(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == (USER, PASSWORD)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def sftp_server(tmp_path: Path) -> AsyncIterator[tuple[int, str, Path]]:
    """An SFTP server on 127.0.0.1 serving ``tmp_path/root``; its port and public host key."""
    root = tmp_path / "root"
    root.mkdir()
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    port = _free_port()

    def sftp_factory(channel: Any) -> asyncssh.SFTPServer:
        return asyncssh.SFTPServer(channel, chroot=str(root).encode())

    server = await asyncssh.create_server(
        _Server,
        "127.0.0.1",
        port,
        server_host_keys=[host_key],
        sftp_factory=sftp_factory,
    )
    try:
        yield port, host_key.export_public_key().decode().strip(), root
    finally:
        server.close()
        await server.wait_closed()


def _settings(port: int, host_key: str, **changes: Any) -> CourtFilesDelivery:
    sftp = SftpSettings(
        host="127.0.0.1", port=port, username=USER, host_key=host_key, password_env="COURT_SFTP_PW"
    )
    return CourtFilesDelivery(
        mode="court-files", outgoing="/to-hub", incoming="/from-hub", sftp=sftp, **changes
    )


async def test_files_travel_both_ways_over_sftp(
    sftp_server: tuple[int, str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry file is taken in with its receipt, and a delivery written, over SFTP."""
    port, host_key, root = sftp_server
    monkeypatch.setenv("COURT_SFTP_PW", PASSWORD)
    config = _settings(port, host_key)
    area = SftpFolder.from_environment(config.sftp)  # type: ignore[arg-type]
    exchange = CourtExchange(COURT, config, area, court_adapter())
    store = Store.open(f"sqlite:///{tmp_path / 'hub.db'}")
    refer_to_court(store, "HOSP-REF-77")
    try:
        await exchange.prepare()
        (root / "to-hub" / "export.xml").write_bytes(REFERRAL_XML)

        (receipt,) = await exchange.take_in(
            lambda events: submit_polled(
                store, default_registry(), None, events, sender=COURT, now=datetime.now(UTC)
            )
        )
        event = new_event(EXAMPLES[("referral.status-changed", 1)], source="dar-al-amane-shelter")
        await exchange.offer([event])
        (root / "from-hub" / "acks" / "1.ack").write_text(event.id + "\n")
        acked, _ = await exchange.acknowledged()
        taken = [e for e in outbox_events(store) if e.source == COURT]
    finally:
        await area.close()
        store.close()

    assert receipt.accepted == 3
    assert len(taken) == 3
    assert (root / "to-hub" / "processed" / "export.xml").exists()
    assert (root / "to-hub" / "receipts" / "export.xml.receipt.xml").exists()
    assert acked == {event.id}
    assert not (root / "from-hub" / delivery_file_name(event.id, "xml")).exists()


async def test_a_server_with_another_host_key_is_refused(
    sftp_server: tuple[int, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pinned host key is the only one accepted: another server is not talked to."""
    port, _host_key, _root = sftp_server
    monkeypatch.setenv("COURT_SFTP_PW", PASSWORD)
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    area = SftpFolder.from_environment(_settings(port, other).sftp)  # type: ignore[arg-type]

    with pytest.raises(FolderError) as caught:
        await area.entries("/")
    await area.close()

    assert caught.value.retriable


async def test_missing_credentials_are_named(sftp_server: tuple[int, str, Path]) -> None:
    """Without the password variable set, the error names the variable, not a secret."""
    port, host_key, _root = sftp_server
    area = SftpFolder.from_environment(_settings(port, host_key).sftp)  # type: ignore[arg-type]

    with pytest.raises(FolderError, match="COURT_SFTP_PW"):
        await area.entries("/")
