"""App push notifications through the app's push service.

    POST {base_url}/push
    Authorization: Bearer <api_key>            (when configured)
    {"consumer_id": "17", "service_no": "1234567890001", "title": "Service no. 1234567890001",
     "body": "<the message text>", "kind": "zero_balance", "language": "te",
     "reference": "wattwallet-delivery-42"}

The push service knows the consumer's devices; the message goes to all of them. It answers JSON
with its id under "id".
"""

from __future__ import annotations

from typing import Final

import httpx

from wattwallet.messaging.channels import base
from wattwallet.messaging.channels import settings as channel_settings

TITLES: Final = {"en": "Service no. {service_no}", "te": "సర్వీస్ నం. {service_no}"}


class Push:
    name = "app"

    def __init__(
        self, settings: channel_settings.PushSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._url = settings.base_url.rstrip("/") + "/push"
        key = settings.api_key
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_seconds),
            headers={"Authorization": f"Bearer {key.get_secret_value()}"} if key is not None else {},
            follow_redirects=False,
            transport=transport,
        )

    def send(self, message: base.Outgoing) -> base.Sent:
        body = {
            "consumer_id": message.to,
            "service_no": message.service_no,
            "title": TITLES.get(message.language, TITLES["en"]).format(service_no=message.service_no),
            "body": message.text,
            "kind": message.kind,
            "language": message.language,
            "reference": f"wattwallet-delivery-{message.delivery_id}",
        }
        answer = base.post_json(self._client, self._url, body=body)
        found = answer.get("id")
        return base.Sent(provider_message_id=str(found)[:128] if found is not None else None)

    def close(self) -> None:
        self._client.close()
