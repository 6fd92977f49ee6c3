"""A stand-in for the payment gateway's hosted checkout page, on 127.0.0.1, beside the stand-in SMS
gateway (`fake_gateway`).

The portal sends the consumer's browser to `GET /checkout?intent=...&amount_paise=...&return=...`.
The page shows the amount and two buttons. "Pay" posts back here; this server then calls WattWallet's
real webhook (`POST {portal}/api/v1/payments/webhook`) with a `payment.succeeded` event signed exactly
as a real gateway signs it (X-Gateway-Signature: t=<unix>,v1=<HMAC-SHA256(secret, t + "." + body)>),
and only then sends the browser back to the portal's return address. "Decline" does the same with
`payment.failed`. The return address must be on the portal it was started with (no open redirect).

`python -m wattwallet.messaging.fake_checkout --port 8002 --portal http://127.0.0.1:8000` (the secret
from WATTWALLET_API__GATEWAY_WEBHOOK_SECRET). GET /_payments answers what it did.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import html
import itertools
import json
import os
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx

from wattwallet.domain import money
from wattwallet.messaging import stand_in

WEBHOOK_PATH = "/api/v1/payments/webhook"


def sign(secret: str, body: bytes, *, at: dt.datetime) -> str:
    timestamp = str(int(at.timestamp()))
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class FakeCheckout(stand_in.StandIn):
    """Thread-safe; every payment it handled is kept as {"intent_id", "outcome", "webhook_status"}."""

    def __init__(self, *, portal: str, secret: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.portal = portal.rstrip("/")
        self.secret = secret
        self._lock = threading.Lock()
        self._payments: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        super().__init__(_handler(self), name="fake-checkout", host=host, port=port)

    def payments(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(p) for p in self._payments]

    def return_allowed(self, url: str) -> bool:
        return url.startswith(self.portal + "/") and "\\" not in url and "\n" not in url

    def pay(self, *, intent_id: str, amount_paise: int, succeeded: bool) -> int:
        """Call the portal's webhook as the gateway would; the webhook's HTTP status."""
        n = next(self._ids)
        now = dt.datetime.now(dt.UTC)
        event: dict[str, Any] = {
            "event_id": f"evt_fake_{os.getpid()}_{n}",
            "type": "payment.succeeded" if succeeded else "payment.failed",
            "intent_id": intent_id,
            "amount_paise": amount_paise,
            "gateway_payment_id": f"pay_fake_{os.getpid()}_{n}",
        }
        if succeeded:
            event["paid_at"] = now.isoformat()
        body = json.dumps(event).encode()
        try:
            answer = httpx.post(
                self.portal + WEBHOOK_PATH,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Gateway-Signature": sign(self.secret, body, at=now),
                },
                timeout=10,
            )
            status = answer.status_code
        except httpx.HTTPError:
            status = 0
        with self._lock:
            self._payments.append(
                {
                    "intent_id": intent_id,
                    "outcome": event["type"],
                    "amount_paise": amount_paise,
                    "webhook_status": status,
                }
            )
        return status


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stand-in payment gateway: checkout</title></head>
<body><main>
<h1>Stand-in payment gateway</h1>
<p>This page stands in for the payment gateway's checkout (UPI, card, net banking). No money moves.</p>
<p>Pay <strong>{amount}</strong> for payment {intent}.</p>
<form method="post" action="/checkout/pay">
<input type="hidden" name="intent" value="{intent}"><input type="hidden" name="amount_paise" value="{paise}">
<input type="hidden" name="return" value="{ret}">
<button type="submit" name="outcome" value="pay">Pay {amount}</button>
<button type="submit" name="outcome" value="decline">Decline</button>
</form></main></body></html>"""


def _handler(gateway: FakeCheckout) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, body: bytes, content_type: str, location: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            if location:
                self.send_header("Location", location)
            self.end_headers()
            self.wfile.write(body)

        def _refuse(self, status: int, reason: str) -> None:
            self._send(status, reason.encode(), "text/plain; charset=utf-8")

        def _params(self, fields: dict[str, list[str]]) -> tuple[str, int, str] | None:
            intent = (fields.get("intent") or [""])[0]
            paise = (fields.get("amount_paise") or [""])[0]
            ret = (fields.get("return") or [""])[0]
            if not (
                intent.startswith("pi_")
                and len(intent) <= 40
                and paise.isdigit()
                and gateway.return_allowed(ret)
            ):
                return None
            return intent, int(paise), ret

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/_payments":
                self._send(200, json.dumps({"payments": gateway.payments()}).encode(), "application/json")
                return
            if url.path != "/checkout":
                self._refuse(404, "no such page")
                return
            found = self._params(urllib.parse.parse_qs(url.query))
            if found is None:
                self._refuse(400, "checkout needs intent, amount_paise and a return address on the portal")
                return
            intent, paise, ret = found
            page = _PAGE.format(
                amount=html.escape(money.inr(paise)),
                intent=html.escape(intent),
                paise=paise,
                ret=html.escape(ret),
            )
            self._send(200, page.encode(), "text/html; charset=utf-8")

        def do_POST(self) -> None:
            if self.path != "/checkout/pay":
                self._refuse(404, "no such page")
                return
            length = min(int(self.headers.get("Content-Length") or 0), 8192)
            fields = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            found = self._params(fields)
            if found is None:
                self._refuse(400, "the checkout form is incomplete")
                return
            intent, paise, ret = found
            gateway.pay(
                intent_id=intent, amount_paise=paise, succeeded=(fields.get("outcome") or [""])[0] == "pay"
            )
            self._send(303, b"", "text/plain", location=ret)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument(
        "--portal", required=True, help="The portal's base address, e.g. http://127.0.0.1:8000"
    )
    args = parser.parse_args(argv)
    secret = os.environ.get("WATTWALLET_API__GATEWAY_WEBHOOK_SECRET", "")
    if not secret:
        parser.error("set WATTWALLET_API__GATEWAY_WEBHOOK_SECRET (the webhook's shared secret)")
    checkout = FakeCheckout(portal=args.portal, secret=secret, port=args.port).start()
    print(f"fake checkout on {checkout.base_url} (GET {checkout.base_url}/_payments)", flush=True)
    print(f"export WATTWALLET_WEB_CHECKOUT_URL={checkout.base_url}/checkout", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        checkout.stop()


if __name__ == "__main__":
    main()
