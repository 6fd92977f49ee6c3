"""SMS through an Indian bulk-SMS gateway, one DLT-registered template per text.

Request (documented here because gateways differ and this is the shape we speak; an adapter for a
particular gateway maps it):

    POST {base_url}/sms
    Authorization: Bearer <api_key>
    {"to": "+919876543210", "text": "...", "sender": "APSPDC",
     "dlt_template_id": "1107171468964671322", "unicode": true,
     "reference": "wattwallet-delivery-42", "dlt_entity_id": "..."}   (dlt_entity_id when configured)

`unicode` is true when the text is not all GSM-7 (Telugu, and English showing ₹): the gateway then
sends UCS-2, 70 characters a segment. `reference` is the same on every retry of one delivery, so a
gateway that deduplicates can drop a repeat after a timeout. The answer is JSON with the gateway's
message id under "id" (or "message_id").
"""

from __future__ import annotations

import re
from typing import Final

import httpx

from wattwallet.messaging import templates
from wattwallet.messaging.channels import base
from wattwallet.messaging.channels import settings as channel_settings

_E164_INDIAN_MOBILE: Final = re.compile(r"^\+91[6-9][0-9]{9}$")


class SmsGateway:
    name = "sms"

    def __init__(
        self, settings: channel_settings.SmsGatewaySettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._url = settings.base_url.rstrip("/") + "/sms"
        self._sender = settings.sender
        self._entity = settings.dlt_entity_id
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_seconds),
            headers={"Authorization": f"Bearer {settings.api_key.get_secret_value()}"},
            follow_redirects=False,
            transport=transport,
        )

    def submit(
        self, *, to: str, text: str, sender: str, dlt_template_id: str, reference: str | None
    ) -> base.Sent:
        """Hand one text to the gateway; used by the outbox and, directly, for OTPs."""
        if not _E164_INDIAN_MOBILE.match(to):
            raise base.GatewayRefused("not an Indian mobile number in E.164 form")
        body: dict[str, object] = {
            "to": to,
            "text": text,
            "sender": self._sender or sender,
            "dlt_template_id": dlt_template_id,
            "unicode": templates.sms_encoding(text) == "UCS-2",
        }
        if reference is not None:
            body["reference"] = reference
        if self._entity is not None:
            body["dlt_entity_id"] = self._entity
        answer = base.post_json(self._client, self._url, body=body)
        found = answer.get("id", answer.get("message_id"))
        return base.Sent(provider_message_id=str(found)[:128] if found is not None else None)

    def send(self, message: base.Outgoing) -> base.Sent:
        book = templates.load()
        template = book.get(message.kind, message.language)
        return self.submit(
            to=message.to,
            text=message.text,
            sender=book.sender,
            dlt_template_id=template.dlt_template_id,
            reference=f"wattwallet-delivery-{message.delivery_id}",
        )

    def close(self) -> None:
        self._client.close()
