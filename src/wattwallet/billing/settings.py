"""Bill settings from the environment (WATTWALLET_BILLS__*): the link key and the grievance route.

The link's host is part of the registered SMS text (DLT whitelists URLs), so it is a messaging
setting: WATTWALLET_MESSAGING__BILL_LINK_HOST (notify.templates.Whitelisted).
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class BillSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WATTWALLET_BILLS__", extra="ignore")

    link_secret: SecretStr | None = Field(
        None,
        description="Key the SMS bill links are signed with (HMAC-SHA256); unset: a random key in the store",
    )
    # The defaults name the bodies; their addresses are the DISCOM's to give (not guessed here).
    forum_name: str = Field(
        "Consumer Grievance Redressal Forum (CGRF) of the DISCOM", description="The consumer grievance forum"
    )
    forum_address: str | None = Field(
        None, description="Its address (unset: the bill tells the consumer to ask the helpline)"
    )
    ombudsman_name: str = Field("Vidyut Ombudsman, Andhra Pradesh", description="The electricity ombudsman")
    ombudsman_address: str | None = Field(
        None, description="Its address (unset: the bill tells the consumer to ask the helpline)"
    )
    recharge_how: str = Field(
        "Recharge on the portal or app, at a retail outlet or kiosk, or at a service centre counter.",
        description="How to recharge, as the bill prints it (English; the Telugu text is built in)",
    )
    pay_how: str = Field(
        "Pay at a service centre counter. Any amount of ₹1 or more is taken; "
        "it goes to the oldest bill first.",
        description="How to pay a postpaid bill as the bill prints it (English; the Telugu is built in)",
    )
