"""The portal's settings, from WATTWALLET_WEB_<NAME> (kept apart from the API's own settings)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WATTWALLET_WEB_", extra="ignore")

    checkout_url: str | None = Field(
        None,
        description=(
            "The payment gateway's hosted checkout page; the portal sends the consumer there with "
            "intent, amount_paise and return in the query. Unset: online recharge is unavailable."
        ),
    )
    public_url: str | None = Field(
        None,
        description=(
            "The portal's own address as consumers reach it (e.g. https://portal.example.in), for the "
            "return address given to the checkout; unset: the address the request came to"
        ),
    )
    secret: SecretStr | None = Field(
        None,
        description=(
            "Key for the masked number shown at sign-in for an unregistered customer ID (so the page "
            "looks the same either way); a random one per process when unset"
        ),
    )
    meter_stale_hours: int = Field(
        36, gt=0, description="'Meter not reporting' after this long with no reading"
    )
