"""Settings of message delivery: where each gateway is, its credentials, timeouts and the retry
schedule. A channel without settings is not sent on (its deliveries wait, pending).

Nested under `Settings.delivery`, so from the environment:
`WATTWALLET_DELIVERY__SMS__BASE_URL`, `WATTWALLET_DELIVERY__SMS__API_KEY`,
`WATTWALLET_DELIVERY__WHATSAPP__PHONE_NUMBER_ID`, `WATTWALLET_DELIVERY__MAX_ATTEMPTS`,
`WATTWALLET_DELIVERY__RETRY_BACKOFF_SECONDS='[30, 120, 600]'`, ... Keys are never in the repository.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, Field, SecretStr, model_validator

BaseUrl = Annotated[
    str,
    Field(
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        max_length=500,
        description="http(s) URL without query; a trailing slash is ignored",
        examples=["https://sms.example.in/api/v1"],
    ),
]
Timeout = Annotated[float, Field(gt=0, le=60, description="Seconds for each of connect, write and read")]


class SmsGatewaySettings(BaseModel):
    """An Indian bulk-SMS gateway taking DLT-registered templates: POST {base_url}/sms."""

    base_url: BaseUrl
    api_key: SecretStr = Field(description="Sent as 'Authorization: Bearer <key>'")
    sender: str | None = Field(
        None, pattern=r"^[A-Z]{6}$", description="DLT sender header; default: the template book's"
    )
    dlt_entity_id: str | None = Field(
        None,
        pattern=r"^[0-9]{1,30}$",
        description="The DISCOM's DLT principal entity id, if the gateway wants it",
    )
    timeout_seconds: Timeout = 10.0
    otp_timeout_seconds: Timeout = Field(
        3.0, description="Per phase, for OTPs: someone is waiting, and the sender holds a transaction"
    )


class WhatsAppSettings(BaseModel):
    """WhatsApp Business (Meta Cloud API): approved templates named after the message kinds."""

    base_url: BaseUrl = "https://graph.facebook.com/v21.0"
    phone_number_id: str = Field(pattern=r"^[0-9]{1,30}$", description="The business number's id at Meta")
    access_token: SecretStr = Field(description="Sent as 'Authorization: Bearer <token>'")
    timeout_seconds: Timeout = 10.0


class PushSettings(BaseModel):
    """The app's push service: POST {base_url}/push."""

    base_url: BaseUrl
    api_key: SecretStr | None = Field(None, description="Sent as 'Authorization: Bearer <key>' when set")
    timeout_seconds: Timeout = 10.0


class DeliverySettings(BaseModel):
    """The outbox dispatcher: channels, retries, claims."""

    sms: SmsGatewaySettings | None = None
    whatsapp: WhatsAppSettings | None = None
    push: PushSettings | None = None
    max_attempts: int = Field(6, ge=1, le=50, description="Tries before a delivery is dead")
    retry_backoff_seconds: tuple[int, ...] = Field(
        (30, 120, 600, 1800, 3600),
        min_length=1,
        description="Wait after the 1st, 2nd, ... failed try; the last repeats",
    )
    sending_lease_seconds: int = Field(
        300, ge=10, description="A claim not finished by then (the worker died) is retried"
    )
    batch_size: int = Field(100, ge=1, le=10_000, description="Deliveries one dispatcher claims at a time")
    workers: int = Field(4, ge=1, le=64, description="Sends a dispatcher has in flight at once")
    poll_seconds: float = Field(2.0, gt=0, le=300, description="Pause when nothing is due")
    otp_poll_seconds: float = Field(
        0.5,
        gt=0,
        le=10,
        description="How often the OTP courier looks for OTPs asked for (sent after the answer)",
    )

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Self:
        # A claim must outlive the slowest send (connect + write + read timeouts), or another
        # worker could take the delivery over while it is still in flight and send it twice.
        for name, channel in (("sms", self.sms), ("whatsapp", self.whatsapp), ("push", self.push)):
            if channel is not None and self.sending_lease_seconds <= self.send_budget_seconds:
                raise ValueError(
                    f"sending_lease_seconds ({self.sending_lease_seconds}) must exceed 4 times"
                    f" {name}.timeout_seconds ({channel.timeout_seconds})"
                )
        if any(seconds <= 0 for seconds in self.retry_backoff_seconds):
            raise ValueError("retry_backoff_seconds must all be positive")
        return self

    @property
    def send_budget_seconds(self) -> float:
        """The longest one send can take: connect, write, read and pool timeouts back to back."""
        timeouts = [c.timeout_seconds for c in (self.sms, self.whatsapp, self.push) if c is not None]
        return 4 * max(timeouts, default=0.0)
