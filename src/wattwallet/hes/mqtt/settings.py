"""How to reach the HES broker (`WATTWALLET_HES__<NAME>` once wired into config.Settings as `hes`).

No broker URL means no link: the in-process simulator stands in for the HES.
"""

from __future__ import annotations

import urllib.parse

from pydantic import BaseModel, Field, SecretStr, field_validator


class HesSettings(BaseModel):
    broker_url: str | None = Field(
        None,
        description="mqtt://[user[:password]@]host[:port] (mqtts:// for TLS); none: the in-process simulator",
    )
    topic_prefix: str = Field(
        "wattwallet/hes", description="Topics are <prefix>/commands|acks|relay|readings/..."
    )
    client_id: str = Field(
        "wattwallet", max_length=40, description="Stable MQTT client id of the consuming link (its session)"
    )
    session_expiry_seconds: int = Field(
        7 * 24 * 3600, ge=0, description="How long the broker keeps our session and queued messages offline"
    )
    receive_maximum: int = Field(
        20_000, ge=1, le=65_535, description="Unacknowledged messages the broker may have in flight to us"
    )
    batch_size: int = Field(5_000, ge=1, description="Inbound messages written per transaction, at most")
    flush_interval_seconds: float = Field(
        0.2, gt=0, le=10, description="A partial batch is written after waiting this long"
    )
    send_timeout_seconds: float = Field(
        5.0, gt=0, description="A command the broker has not acknowledged by then counts as not sent"
    )
    keepalive_seconds: int = Field(30, ge=5, description="MQTT keep-alive")
    fast_client: bool = Field(
        True, description="Buffered reads and a lean PUBLISH path over paho (off: stock paho callbacks)"
    )
    password: SecretStr | None = Field(None, description="Broker password, if not in the URL")

    @field_validator("broker_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urllib.parse.urlsplit(value.strip())
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
            raise ValueError("broker_url must look like mqtt://host:1883 or mqtts://host:8883")
        return value.strip()

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip().strip("/")
        if not value or any(c in value for c in "+#\0"):
            raise ValueError("topic_prefix must be a plain topic path (no + or #)")
        return value
