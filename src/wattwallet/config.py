"""Configuration from the environment (WATTWALLET_*), with the defaults a new user needs."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wattwallet import tariffs
from wattwallet.domain import policy as policy_rules
from wattwallet.domain import tariff
from wattwallet.hes.mqtt import settings as hes_settings
from wattwallet.messaging.channels import settings as delivery_settings


class ApiSettings(BaseModel):
    """`wattwallet serve`: sessions, the payment gateway's webhook, where OTP texts go."""

    host: str = Field("127.0.0.1", description="Address `serve` listens on")
    port: int = Field(8000, ge=1, le=65535, description="Port `serve` listens on")
    consumer_session_minutes: int = Field(30, gt=0, description="A consumer's sign-in lasts this long")
    staff_session_minutes: int = Field(15, gt=0, description="A staff token lasts this long")
    staff_max_failed_logins: int = Field(5, gt=0, description="Wrong passwords before a staff lock-out")
    staff_lockout_minutes: int = Field(15, gt=0, description="How long a staff lock-out lasts")
    trusted_proxies: tuple[str, ...] = Field(
        (),
        description=(
            "Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is believed; "
            "the client address of any other peer is the peer itself (JSON list)"
        ),
    )
    payment_intent_minutes: int = Field(30, gt=0, description="A payment intent can be paid this long")
    gateway_webhook_secret: SecretStr | None = Field(
        None, description="Shared secret of the payment gateway's webhook signatures (HMAC-SHA256)"
    )
    webhook_tolerance_seconds: int = Field(300, gt=0, description="Oldest webhook timestamp accepted")
    background: bool = Field(
        True, description="`serve` also runs the scheduler, the message dispatcher and the HES link"
    )
    dev_sms_inbox: Path | None = Field(
        None, description="Until an SMS gateway is configured: append OTP and other texts here (JSON lines)"
    )
    # Hardening (issue 17): request size, transport headers, the docs page, payment-intent rate.
    max_body_bytes: int = Field(
        64 * 1024, gt=0, description="Largest request body taken on any route; larger answers 413"
    )
    hsts_seconds: int = Field(
        31_536_000,
        ge=0,
        description="Strict-Transport-Security max-age sent on answers served over HTTPS (0: none)",
    )
    docs: bool = Field(True, description="Serve the interactive docs at /api/v1/docs (openapi.json always)")
    payment_intents_per_window: int = Field(
        10, gt=0, description="Payment intents one consumer (signed-in mobile) may start per window"
    )
    payment_intent_window_minutes: int = Field(
        10, gt=0, description="The window of payment_intents_per_window, minutes"
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            ipaddress.ip_network(item, strict=False)  # a ValueError names the bad entry
        return value


class Settings(BaseSettings):
    """`WATTWALLET_DATABASE_URL`, `WATTWALLET_DISCOM`, `WATTWALLET_TARIFF_FILE`,
    `WATTWALLET_POLICY__<NAME>`, `WATTWALLET_API__<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="WATTWALLET_", env_nested_delimiter="__", extra="ignore")

    database_url: str = Field("sqlite:///wattwallet.db", description="SQLAlchemy URL of the store")
    discom: tariffs.Discom = Field(
        tariffs.DEFAULT_DISCOM, description="The deployment's DISCOM: its built-in tariff book is the default"
    )
    tariff_file: Path | None = Field(
        None, description="A DISCOM's own tariff book (YAML) instead of the built-in one for `discom`"
    )
    policy: policy_rules.Policy = Field(default_factory=policy_rules.Policy)
    api: ApiSettings = Field(default_factory=ApiSettings)
    delivery: delivery_settings.DeliverySettings = Field(default_factory=delivery_settings.DeliverySettings)
    hes: hes_settings.HesSettings = Field(default_factory=hes_settings.HesSettings)
    jobs_tick_seconds: float = Field(5.0, gt=0, description="How often a worker looks for due work")
    cycle_workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Processes that share the scheduled daily cycle (one per core for a large fleet)",
    )

    def tariff_book(self) -> tariff.TariffBook:
        """The book in force: `tariff_file` when set, else the built-in book of `discom`."""
        return tariffs.load(self.tariff_file) if self.tariff_file else tariffs.book(self.discom)
