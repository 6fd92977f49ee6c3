"""Channel adapters of the outbox: SMS gateway, WhatsApp Business, app push, each over HTTP.

`build` makes the adapters for the channels that are configured; a channel left out is not sent
on, and its deliveries wait (pending) until it is.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from wattwallet.messaging.channels import base, push, sms_gateway, whatsapp
from wattwallet.messaging.channels import settings as channel_settings

NAMES = ("sms", "whatsapp", "app")


def build(
    settings: channel_settings.DeliverySettings, *, transport: httpx.BaseTransport | None = None
) -> dict[str, base.Channel]:
    """The configured channels by name ("sms", "whatsapp", "app"); close them when done."""
    found: dict[str, base.Channel] = {}
    if settings.sms is not None:
        found["sms"] = sms_gateway.SmsGateway(settings.sms, transport=transport)
    if settings.whatsapp is not None:
        found["whatsapp"] = whatsapp.WhatsApp(settings.whatsapp, transport=transport)
    if settings.push is not None:
        found["app"] = push.Push(settings.push, transport=transport)
    return found


def close_all(found: Mapping[str, base.Channel]) -> None:
    """Close what `build` made (their HTTP connection pools)."""
    for channel in found.values():
        channel.close()
