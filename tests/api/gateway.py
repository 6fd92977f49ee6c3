"""A stand-in for the payment gateway: builds events and signs them as the real one would.

It signs with tests.api.conftest.WEBHOOK_SECRET, a test-only value that no real gateway uses.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import httpx

from tests.api.conftest import WEBHOOK_SECRET, Api
from wattwallet.wallet import payments

WEBHOOK = "/api/v1/payments/webhook"
_ids = itertools.count(1)


def event(
    intent: dict[str, Any],
    *,
    type: str = payments.SUCCEEDED_EVENT,
    event_id: str | None = None,
    amount_paise: int | None = None,
    paid_at: dt.datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    n = next(_ids)
    body = {
        "event_id": event_id or f"evt_test_{n}",
        "type": type,
        "intent_id": intent["id"],
        "amount_paise": intent["amount_paise"] if amount_paise is None else amount_paise,
        "gateway_payment_id": f"pay_test_{n}",
        **extra,
    }
    if paid_at is not None:
        body["paid_at"] = paid_at.isoformat()
    return body


def encode(body: dict[str, Any]) -> bytes:
    # Not the canonical JSON form on purpose: the signature covers the bytes as sent.
    return json.dumps(body, indent=1).encode()


def deliver(
    api: Api,
    body: dict[str, Any] | bytes,
    *,
    secret: str = WEBHOOK_SECRET,
    signed_at: dt.datetime | None = None,
    header: str | None = None,
) -> httpx.Response:
    """POST the event signed at `signed_at` (default: the API's clock), or with `header` as given."""
    raw = body if isinstance(body, bytes) else encode(body)
    timestamp = int((signed_at or api.clock()).timestamp())
    headers = {"Content-Type": "application/json"}
    signature = header if header is not None else payments.sign(secret=secret, timestamp=timestamp, body=raw)
    if signature:
        headers["X-Gateway-Signature"] = signature
    answer: httpx.Response = api.client.post(WEBHOOK, content=raw, headers=headers)
    return answer
