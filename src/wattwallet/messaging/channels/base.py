"""What every channel adapter shares: the message handed to it, what it answers, how a gateway's
refusal is told from a passing failure, and one HTTP call that classifies every outcome.

A `GatewayUnavailable` (5xx, 408, 429, timeouts, connection refused) is worth trying again later;
a `GatewayRefused` (any other 4xx, a malformed address) will fail again, so it goes to the dead
letters at once.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from typing import Any, Final, Protocol

import httpx

# Gateways often echo the number back in their errors; what we keep or log shows only its end.
_LONG_NUMBER: Final = re.compile(r"\+?\d{10,}")
ERROR_MAX: Final = 500


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """One delivery, claimed and ready to go."""

    delivery_id: int
    attempt: int  # 1 for the first try
    channel: str
    service_no: str
    consumer_id: int
    kind: str
    language: str
    text: str
    to: str  # E.164 for SMS and WhatsApp; the consumer id for the app


@dataclasses.dataclass(frozen=True)
class Sent:
    provider_message_id: str | None


class DeliveryFailed(Exception):
    """The gateway did not take the message; `reason` is safe to store and show to staff."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = scrub(reason)


class GatewayUnavailable(DeliveryFailed):
    """May succeed later: retried with backoff."""


class GatewayRefused(DeliveryFailed):
    """Will not succeed as it stands: dead at once."""


class Channel(Protocol):
    name: str

    def send(self, message: Outgoing) -> Sent: ...

    def close(self) -> None: ...


def scrub(text: str) -> str:
    """Mask long digit runs (phone numbers) and cut to a size a row and a log line can hold."""
    return _LONG_NUMBER.sub(lambda m: "X" * (len(m.group()) - 4) + m.group()[-4:], text)[:ERROR_MAX]


def post_json(
    client: httpx.Client,
    url: str,
    *,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    retryable: Callable[[httpx.Response], bool] | None = None,
) -> dict[str, Any]:
    """POST `body` and answer the gateway's JSON (an empty dict when it sent none), or raise
    `GatewayUnavailable` / `GatewayRefused`. `retryable` marks the 4xx answers of a gateway that
    mean "not now" rather than "never" (WhatsApp's throughput limits come as 400s)."""
    try:
        response = client.post(url, json=body, headers=headers)
    except httpx.TimeoutException as exc:
        raise GatewayUnavailable(f"timed out ({type(exc).__name__})") from None
    except httpx.TransportError as exc:
        raise GatewayUnavailable(f"cannot reach the gateway ({type(exc).__name__}: {exc})") from None
    status = response.status_code
    if status >= 500 or status in (408, 429) or (retryable is not None and retryable(response)):
        raise GatewayUnavailable(f"HTTP {status}: {response.text.strip()}")
    if status >= 400:
        raise GatewayRefused(f"HTTP {status}: {response.text.strip()}")
    if status >= 300:  # redirects are not followed: a moved endpoint is a configuration error
        raise GatewayRefused(f"HTTP {status} (redirect to {response.headers.get('location', '?')})")
    try:
        answer = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return answer if isinstance(answer, dict) else {}
