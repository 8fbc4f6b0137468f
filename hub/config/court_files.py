"""How the hub exchanges files with a court registry: folders, or SFTP, and the file format.

The court writes into ``outgoing`` what it sends the hub; the hub writes into
``incoming`` what it delivers. Paths are local folders (an NFS or SMB mount),
or paths on the SFTP server ``sftp`` names; its password or private key comes
from the environment, and its host key is pinned here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["CourtFilesDelivery", "SftpSettings"]

EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]
Path_ = Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class _Closed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SftpSettings(_Closed):
    """An SFTP server: where, who, and the host key the hub accepts (no other)."""

    host: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    port: int = Field(default=22, ge=1, le=65535)
    username: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    host_key: Annotated[
        str, StringConstraints(pattern=r"^(ssh|ecdsa)-[a-z0-9-]+ [A-Za-z0-9+/=]+")
    ] = Field(description="The server's public host key, as in known_hosts (type and base64).")
    password_env: EnvName | None = Field(
        default=None, description="Environment variable holding the password."
    )
    private_key_env: EnvName | None = Field(
        default=None, description="Environment variable holding a private key (OpenSSH format)."
    )


class CourtFilesDelivery(_Closed):
    """The court's registry exchanges record files with the hub."""

    mode: Literal["court-files"]
    format: Literal["xml", "csv"] = "xml"
    outgoing: Path_ = Field(description="Where the court writes files for the hub.")
    incoming: Path_ = Field(description="Where the hub writes files for the court.")
    sftp: SftpSettings | None = None
    complete_when: Literal["renamed", "marker"] = Field(
        default="renamed",
        description="renamed: a file is complete once it has its final name (written under "
        "a name starting with '.' or ending in .tmp or .part, then renamed); marker: once "
        "NAME.done exists beside it.",
    )
    acknowledge_by: Literal["ack-file", "removal"] = Field(
        default="ack-file",
        description="ack-file: the court writes acks/*.ack naming event ids, one per line, "
        "and a delivered file it removed unacknowledged is offered again; removal: "
        "removing a delivered file acknowledges it.",
    )
    poll_interval_s: float = Field(default=2.0, gt=0, le=3600)
    max_file_bytes: int = Field(default=8 * 1024 * 1024, ge=1024, le=64 * 1024 * 1024)
    csv_columns: dict[str, str] = Field(
        default_factory=dict, description="Record field -> the court's CSV column header."
    )
