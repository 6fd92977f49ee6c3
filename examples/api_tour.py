"""A walk through the HTTP API against a running `wattwallet serve` with run.sh's demo data.

Signs a consumer in with the OTP from the development SMS inbox, reads the wallet, pays online
through a payment intent and a signed gateway webhook, takes a cash recharge as a retail agent, and
looks at the helpline's queue and the compliance report as staff. Every step prints what was sent
and what came back, so a new user sees the API's shape.

    python examples/api_tour.py --base http://127.0.0.1:8000 --var var
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from wattwallet.domain import clock
from wattwallet.wallet import payments

SERVICE_NO = "1234567890123"  # run.sh's demo consumer, Lakshmi Devi (Telugu)


def show(title: str, answer: httpx.Response) -> Any:
    body = answer.json() if answer.content else None
    print(f"\n-- {title}: {answer.request.method} {answer.request.url.path} -> {answer.status_code}")
    print(json.dumps(body, ensure_ascii=False, indent=2)[:1500])
    if answer.status_code >= 400:
        sys.exit(f"tour stopped: {title} failed")
    return body


def last_otp(texts: list[dict[str, Any]], mobile_tail: str) -> str:
    for text in reversed(texts):
        if str(text.get("to", "")).endswith(mobile_tail):
            found = re.search(r"(?<!\d)(\d{6})(?!\d)", str(text.get("text", "")))
            if found:
                return found.group(1)
    raise SystemExit("no OTP arrived")


def texts_sent(gateway: str | None, inbox: Path) -> list[dict[str, Any]]:
    """What reached the consumer's phone: the fake SMS gateway's log, or the development inbox."""
    if gateway:
        received = httpx.get(f"{gateway}/_received", timeout=5).json()["received"]
        return [r["body"] for r in received if r["channel"] == "sms"]
    return [json.loads(line) for line in inbox.read_text(encoding="utf-8").splitlines()]


def wait_for_otp(gateway: str | None, inbox: Path, mobile_tail: str) -> str:
    """The dispatcher's OTP courier sends the text just after the answer: wait for it (10 s)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return last_otp(texts_sent(gateway, inbox), mobile_tail)
        except (SystemExit, FileNotFoundError, json.JSONDecodeError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--var", type=Path, default=Path("var"))
    parser.add_argument("--gateway", help="the fake SMS gateway's base URL, when messages go there")
    args = parser.parse_args()
    creds = json.loads((args.var / "demo-credentials.json").read_text())
    inbox = args.var / "sms-inbox.jsonl"
    run = uuid.uuid4().hex[:6]

    with httpx.Client(base_url=args.base, timeout=10) as api:
        show("ask for a sign-in OTP", api.post("/api/v1/auth/otp", json={"service_no": SERVICE_NO}))
        code = wait_for_otp(args.gateway, inbox, "43210")
        where = "at the fake SMS gateway" if args.gateway else f"in {inbox}"
        print(f"   (the OTP arrived {where}: {code})")
        session = show(
            "sign in", api.post("/api/v1/auth/session", json={"service_no": SERVICE_NO, "otp": code})
        )
        me = {"Authorization": f"Bearer {session['token']}"}
        show("the wallet", api.get(f"/api/v1/me/connections/{SERVICE_NO}/wallet", headers=me))

        intent = show(
            "start an online recharge of ₹200",
            api.post(
                f"/api/v1/me/connections/{SERVICE_NO}/payment-intents",
                json={"amount_paise": 20_000, "channel": "app"},
                headers=me,
            ),
        )
        event = {
            "event_id": f"evt_demo_{run}",
            "type": "payment.succeeded",
            "intent_id": intent["id"],
            "amount_paise": intent["amount_paise"],
            "paid_at": dt.datetime.now(dt.UTC).isoformat(),
            "gateway_payment_id": f"pay_demo_{run}",
        }
        body = json.dumps(event).encode()
        signature = payments.sign(
            secret=creds["gateway_webhook_secret"], timestamp=int(time.time()), body=body
        )
        headers = {"Content-Type": "application/json", "X-Gateway-Signature": signature}
        show(
            "the gateway confirms it (signed webhook)",
            api.post("/api/v1/payments/webhook", content=body, headers=headers),
        )
        show(
            "the same event again: answered, not applied twice",
            api.post("/api/v1/payments/webhook", content=body, headers=headers),
        )

        agent = {"X-API-Key": creds["agent_key"]}
        show(
            "a retail outlet takes ₹300 in cash",
            api.post(
                "/api/v1/agent/recharges",
                json={"service_no": SERVICE_NO, "amount_paise": 30_000, "reference": f"SHOP-{run}"},
                headers=agent,
            ),
        )
        show("the wallet now", api.get(f"/api/v1/me/connections/{SERVICE_NO}/wallet", headers=me))
        show("its receipts", api.get(f"/api/v1/me/connections/{SERVICE_NO}/recharges?limit=5", headers=me))

        staff = show(
            "staff sign-in (admin)",
            api.post(
                "/api/v1/auth/staff/session",
                json={"username": creds["staff_username"], "password": creds["staff_password"]},
            ),
        )
        desk = {"Authorization": f"Bearer {staff['token']}"}
        show("the helpline's complaint queue", api.get("/api/v1/staff/complaints", headers=desk))
        today = clock.ist_date(dt.datetime.now(dt.UTC))
        show(
            "this month's compliance report",
            api.get(
                "/api/v1/staff/reports/compliance",
                params={"from": today.replace(day=1).isoformat(), "to": today.isoformat()},
                headers=desk,
            ),
        )
        refused = api.get("/api/v1/me/connections/2234567890001/wallet", headers=me)
        print(f"\n-- someone else's connection: {refused.status_code} {refused.json()['code']}")
    print(f"\nTour done. Interactive docs: {args.base}/api/v1/docs")


if __name__ == "__main__":
    main()
