"""Where court files are exchanged: a local folder (an NFS or SMB mount) or an SFTP server.

Both offer the few operations the exchange needs, async, on POSIX paths. A
delivery is written under a temporary name starting with ``.``, flushed to
disk, then renamed, so a registry never reads half a file. A symbolic link is
never followed: a file the court left as a link is reported, not read.
Every failure is :class:`FolderError` (retriable: the mount or the server
may come back).
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import secrets
import stat
from dataclasses import dataclass
from typing import Protocol

import asyncssh

from hub.config import SftpSettings
from hub.errors import DeliveryError

__all__ = ["Entry", "FileArea", "FileTooLarge", "FolderError", "LocalFolder", "SftpFolder"]


class FolderError(DeliveryError):
    """The folder or server cannot be used right now."""


class FileTooLarge(FolderError):
    def __init__(self, path: str, limit: int) -> None:
        super().__init__(f"{posixpath.basename(path)} is over {limit} bytes", retriable=False)


@dataclass(frozen=True)
class Entry:
    name: str
    size: int
    is_file: bool
    is_symlink: bool


class FileArea(Protocol):
    """The operations the court exchange needs from a place to keep files."""

    async def entries(self, folder: str) -> list[Entry]: ...
    async def read(self, path: str, limit: int) -> bytes: ...
    async def write_atomic(self, folder: str, name: str, data: bytes) -> None: ...
    async def move(self, source: str, target: str) -> None: ...
    async def remove(self, path: str) -> None: ...
    async def exists(self, path: str) -> bool: ...
    async def ensure_folder(self, folder: str) -> None: ...
    async def close(self) -> None: ...


class LocalFolder:
    """Files on this machine's file system (or a mount of the court's share)."""

    async def entries(self, folder: str) -> list[Entry]:
        return await asyncio.to_thread(self._entries, folder)

    def _entries(self, folder: str) -> list[Entry]:
        found = []
        try:
            with os.scandir(folder) as listing:
                for item in listing:
                    info = item.stat(follow_symlinks=False)
                    found.append(
                        Entry(
                            item.name,
                            info.st_size,
                            stat.S_ISREG(info.st_mode),
                            stat.S_ISLNK(info.st_mode),
                        )
                    )
        except OSError as exc:
            raise FolderError(f"cannot list {folder}: {exc.strerror}") from exc
        return sorted(found, key=lambda entry: entry.name)

    async def read(self, path: str, limit: int) -> bytes:
        return await asyncio.to_thread(self._read, path, limit)

    def _read(self, path: str, limit: int) -> bytes:
        try:
            # O_NOFOLLOW: a file swapped for a link after the listing is refused here.
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as exc:
            raise FolderError(f"cannot read {posixpath.basename(path)}: {exc.strerror}") from exc
        with os.fdopen(descriptor, "rb") as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise FileTooLarge(path, limit)
        return data

    async def write_atomic(self, folder: str, name: str, data: bytes) -> None:
        await asyncio.to_thread(self._write_atomic, folder, name, data)

    def _write_atomic(self, folder: str, name: str, data: bytes) -> None:
        temporary = os.path.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, os.path.join(folder, name))
            directory = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as exc:
            raise FolderError(f"cannot write {name} into {folder}: {exc.strerror}") from exc

    async def move(self, source: str, target: str) -> None:
        try:
            await asyncio.to_thread(os.replace, source, target)
        except OSError as exc:
            raise FolderError(f"cannot move {posixpath.basename(source)}: {exc.strerror}") from exc

    async def remove(self, path: str) -> None:
        try:
            await asyncio.to_thread(os.remove, path)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise FolderError(f"cannot remove {posixpath.basename(path)}: {exc.strerror}") from exc

    async def exists(self, path: str) -> bool:
        return await asyncio.to_thread(os.path.lexists, path)

    async def ensure_folder(self, folder: str) -> None:
        try:
            await asyncio.to_thread(os.makedirs, folder, 0o750, True)
        except OSError as exc:
            raise FolderError(f"cannot create {folder}: {exc.strerror}") from exc

    async def close(self) -> None:
        return None


class SftpFolder:
    """Files on the court's SFTP server, the host key pinned in configuration."""

    def __init__(self, settings: SftpSettings, *, password: str | None, private_key: str | None):
        self._settings = settings
        self._password = password
        self._private_key = private_key
        self._connection: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None

    @classmethod
    def from_environment(cls, settings: SftpSettings) -> SftpFolder:
        """Credentials read from the environment when first connecting, never from the file."""
        return cls(settings, password=None, private_key=None)

    def _credentials(self) -> tuple[str | None, str | None]:
        settings = self._settings
        password = self._password
        key = self._private_key
        if password is None and settings.password_env:
            password = os.environ.get(settings.password_env)
        if key is None and settings.private_key_env:
            key = os.environ.get(settings.private_key_env)
        if password is None and key is None:
            named = settings.password_env or settings.private_key_env or "password_env"
            raise FolderError(
                f"no SFTP credential for {settings.username}@{settings.host}: set {named}"
            )
        return password, key

    async def _client(self) -> asyncssh.SFTPClient:
        if self._sftp is not None:
            return self._sftp
        settings = self._settings
        password, private_key = self._credentials()
        host = settings.host if settings.port == 22 else f"[{settings.host}]:{settings.port}"
        known = asyncssh.import_known_hosts(f"{host} {settings.host_key}\n")
        keys = [asyncssh.import_private_key(private_key)] if private_key else None
        try:
            self._connection = await asyncssh.connect(
                settings.host,
                settings.port,
                username=settings.username,
                password=password,
                client_keys=keys,
                known_hosts=known,
                connect_timeout=10,
            )
            self._sftp = await self._connection.start_sftp_client()
        except (OSError, asyncssh.Error) as exc:
            await self.close()
            raise FolderError(
                f"cannot reach sftp://{settings.host}:{settings.port}: {exc}"
            ) from exc
        return self._sftp

    async def _call(self, doing: str, operation: object) -> object:
        try:
            return await operation  # type: ignore[misc]
        except (OSError, asyncssh.Error) as exc:
            if isinstance(exc, asyncssh.SFTPNoSuchFile):
                raise FolderError(f"{doing}: no such file", retriable=False) from exc
            await self.close()
            raise FolderError(f"{doing}: {exc}") from exc

    async def entries(self, folder: str) -> list[Entry]:
        sftp = await self._client()
        names = await self._call(f"listing {folder}", sftp.readdir(folder))
        found = []
        for item in names:  # type: ignore[attr-defined]
            if item.filename in (".", ".."):
                continue
            kind = item.attrs.type
            found.append(
                Entry(
                    str(item.filename),
                    int(item.attrs.size or 0),
                    kind == asyncssh.FILEXFER_TYPE_REGULAR,
                    kind == asyncssh.FILEXFER_TYPE_SYMLINK,
                )
            )
        return sorted(found, key=lambda entry: entry.name)

    async def read(self, path: str, limit: int) -> bytes:
        sftp = await self._client()
        attrs = await self._call(f"inspecting {path}", sftp.lstat(path))
        if attrs.type == asyncssh.FILEXFER_TYPE_SYMLINK:  # type: ignore[attr-defined]
            raise FolderError(f"{posixpath.basename(path)} is a symbolic link", retriable=False)

        async def fetch() -> bytes:
            async with sftp.open(path, "rb") as handle:
                data: bytes = await handle.read(limit + 1)
                return data

        data = await self._call(f"reading {path}", fetch())
        assert isinstance(data, bytes)
        if len(data) > limit:
            raise FileTooLarge(path, limit)
        return data

    async def write_atomic(self, folder: str, name: str, data: bytes) -> None:
        sftp = await self._client()
        temporary = posixpath.join(folder, f".{name}.{secrets.token_hex(4)}.tmp")
        target = posixpath.join(folder, name)

        async def put() -> None:
            async with sftp.open(temporary, "wb") as handle:
                await handle.write(data)
                await handle.fsync()
            await sftp.posix_rename(temporary, target)

        await self._call(f"writing {name}", put())

    async def move(self, source: str, target: str) -> None:
        sftp = await self._client()
        await self._call(f"moving {source}", sftp.posix_rename(source, target))

    async def remove(self, path: str) -> None:
        sftp = await self._client()
        try:
            await self._call(f"removing {path}", sftp.remove(path))
        except FolderError as exc:
            if exc.retriable:
                raise

    async def exists(self, path: str) -> bool:
        sftp = await self._client()
        try:
            await self._call(f"inspecting {path}", sftp.lstat(path))
        except FolderError as exc:
            if exc.retriable:
                raise
            return False
        return True

    async def ensure_folder(self, folder: str) -> None:
        sftp = await self._client()
        await self._call(f"creating {folder}", sftp.makedirs(folder, exist_ok=True))

    async def close(self) -> None:
        if self._sftp is not None:
            self._sftp.exit()
            self._sftp = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None
