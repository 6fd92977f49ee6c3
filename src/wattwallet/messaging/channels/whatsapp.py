"""WhatsApp Business template messages through Meta's Cloud API.

    POST {base_url}/{phone_number_id}/messages
    Authorization: Bearer <access_token>
    {"messaging_product": "whatsapp", "to": "919876543210", "type": "template",
     "template": {"name": "<kind>", "language": {"code": "en" | "te"},
                  "components": [{"type": "body", "parameters": [{"type": "text", "text": "..."}]}]},
     "biz_opaque_callback_data": "wattwallet-delivery-42"}

Each message kind is an approved template of the same name whose body is our text with {{1}},
{{2}}, ... where our placeholders are, in order. The outbox keeps only the rendered text, so the
parameters are read back out of it by matching it against its template (the figures as formatted
for the language). Meta answers throughput limits with 400s; those are retried, not dead.
"""

from __future__ import annotations

import functools
import re
import string
from typing import Final

import httpx

from wattwallet.messaging import templates
from wattwallet.messaging.channels import base
from wattwallet.messaging.channels import settings as channel_settings

# Meta error codes that mean "slow down", not "never": app, account, throughput, spam and
# per-recipient rate limits.
THROTTLED: Final = frozenset({4, 80007, 130429, 131048, 131056})


class TextNotFromTemplate(base.GatewayRefused):
    """The stored text no longer matches its template (the template changed since)."""


@functools.lru_cache(maxsize=256)
def _pattern(kind: str, language: str) -> re.Pattern[str]:
    text = templates.load().get(kind, language).text
    parts: list[str] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(text):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append("(.+?)")
    return re.compile("".join(parts), re.DOTALL)


def parameters(*, kind: str, language: str, text: str) -> list[str]:
    """The figures in `text`, in the order its template shows them."""
    found = _pattern(kind, language).fullmatch(text)
    if found is None:
        raise TextNotFromTemplate(f"the text of this {kind} ({language}) does not match its template")
    return list(found.groups())


def _throttled(response: httpx.Response) -> bool:
    try:
        error = response.json().get("error", {})
        return isinstance(error, dict) and error.get("code") in THROTTLED
    except (ValueError, AttributeError):
        return False


class WhatsApp:
    name = "whatsapp"

    def __init__(
        self, settings: channel_settings.WhatsAppSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._url = f"{settings.base_url.rstrip('/')}/{settings.phone_number_id}/messages"
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout_seconds),
            headers={"Authorization": f"Bearer {settings.access_token.get_secret_value()}"},
            follow_redirects=False,
            transport=transport,
        )

    def send(self, message: base.Outgoing) -> base.Sent:
        values = parameters(kind=message.kind, language=message.language, text=message.text)
        body = {
            "messaging_product": "whatsapp",
            "to": message.to.removeprefix("+"),
            "type": "template",
            "template": {
                "name": message.kind,
                "language": {"code": message.language},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}],
            },
            "biz_opaque_callback_data": f"wattwallet-delivery-{message.delivery_id}",
        }
        answer = base.post_json(self._client, self._url, body=body, retryable=_throttled)
        messages = answer.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else {}
        found = first.get("id") if isinstance(first, dict) else None
        return base.Sent(provider_message_id=str(found)[:128] if found is not None else None)

    def close(self) -> None:
        self._client.close()
