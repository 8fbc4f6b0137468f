"""The agencies of a chaos run: one sender and the recipients that count what they receive."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

__all__ = ["COURT", "REFUSER", "SENDER", "SHELTER", "Network"]

SENDER = "chu-ibn-rochd"
#: Pulls its inbox over the API.
COURT = "tpi-casablanca-listening-unit"
#: Receives by webhook; the fault answers 503 for a while.
SHELTER = "dar-al-amane-shelter"
#: Receives by webhook and refuses everything (410): the one truly undeliverable recipient.
REFUSER = "centre-ecoute-refuser"

_AGENCIES = (
    (SENDER, "hospital", "pull"),
    (COURT, "court", "pull"),
    (SHELTER, "shelter", "webhook"),
    (REFUSER, "psychosocial", "webhook"),
)


@dataclass(frozen=True)
class Network:
    webhook_base_url: str
    tokens: dict[str, str] = field(
        default_factory=lambda: {agency: secrets.token_urlsafe(24) for agency, *_ in _AGENCIES}
    )
    webhook_secrets: dict[str, str] = field(
        default_factory=lambda: {
            agency: secrets.token_urlsafe(24) for agency, _, mode in _AGENCIES if mode == "webhook"
        }
    )

    def settings_toml(self, database_url: str, ingress_partitions: int) -> str:
        """The hub's configuration: every process of the run reads the same file."""
        # Retries outlast a recipient's outage of a few minutes; only a refusal dead-letters.
        text = f"""\
hub_id = "referral-hub"
database_url = "{database_url}"
log_format = "json"
ingress_partitions = {ingress_partitions}
inbox_partitions = 2
kafka_replication_factor = 3
kafka_min_insync_replicas = 2

[limits]
enabled = false

[delivery]
max_attempts = 50
backoff_initial_s = 0.5
backoff_max_s = 5.0
timeout_s = 5.0
"""
        for agency, kind, mode in _AGENCIES:
            digest = hashlib.sha256(self.tokens[agency].encode()).hexdigest()
            if mode == "webhook":
                url = f"{self.webhook_base_url}/hooks/{agency}"
                secret = self.webhook_secrets[agency]
                delivery = f'{{ mode = "webhook", url = "{url}", secret = "{secret}" }}'
            else:
                delivery = '{ mode = "pull" }'
            text += f"""
[[agencies]]
id = "{agency}"
name = "{agency}"
kind = "{kind}"
region = "chaos"
token_sha256 = "{digest}"
delivery = {delivery}
"""
        return text
