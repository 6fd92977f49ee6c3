"""Issue 17, finding 4: money the gateway took that the wallet never got is in a staff refund queue
(API and CLI), on the consumer's own view, and the consumer is told (both databases)."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from tests.api import gateway
from tests.api.conftest import Api, bearer
from wattwallet.cli import main as cli
from wattwallet.store import schema


def _refused_550(api: Api, consumer: Any) -> tuple[str, dict[str, str], dict[str, Any], dict[str, Any]]:
    """₹550 is a valid first recharge when the intent is made; the first recharge is then made at an
    outlet, so when the gateway reports the ₹550 paid it is a later recharge, not a multiple of ₹100."""
    service_no, mobile = consumer(1)
    auth = bearer(api.consumer_token(service_no, mobile))
    made = api.client.post(
        f"/api/v1/me/connections/{service_no}/payment-intents",
        json={"amount_paise": 55_000, "channel": "app"},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    outlet = api.client.post(
        "/api/v1/agent/recharges",
        json={"service_no": service_no, "amount_paise": 50_000, "reference": "SLIP-1"},
        headers={"X-API-Key": api.agent_key()},
    )
    assert outlet.status_code == 201, outlet.text
    event = gateway.event(made.json(), paid_at=api.clock())
    answer = gateway.deliver(api, event)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert (got["result"], got["code"], got["refund_due"]) == ("refused", "not_multiple_of_100", True)
    return service_no, auth, made.json(), event


def _notifications(api: Api, service_no: str, kind: str) -> list[Any]:
    n = schema.notifications
    with api.ctx.store.read() as conn:
        return list(conn.execute(sa.select(n).where(n.c.service_no == service_no, n.c.kind == kind)))


def test_a_refused_payment_is_queued_shown_to_the_consumer_and_told(api: Api, consumer: Any) -> None:
    service_no, auth, intent, event = _refused_550(api, consumer)
    billing = bearer(api.staff_token("billing"))
    (queued,) = api.client.get("/api/v1/staff/refunds", headers=billing).json()
    assert (queued["service_no"], queued["intent_id"], queued["amount_paise"], queued["code"]) == (
        service_no,
        intent["id"],
        55_000,
        "not_multiple_of_100",
    )
    assert queued["status"] == "due" and queued["event_id"] == event["event_id"]
    assert queued["gateway_payment_id"] == event["gateway_payment_id"]
    (told,) = _notifications(api, service_no, "refund_due")  # the kind; its text is the template's
    assert told.language == "en"
    (seen,) = api.client.get(f"/api/v1/me/connections/{service_no}/refunds", headers=auth).json()
    assert seen["summary"] == "₹550.00 payment refused; refund due"
    assert (seen["status"], seen["amount_paise"], seen["payment_intent_id"]) == ("due", 55_000, intent["id"])
    # The same event again, or another event about the same payment: still one refund, one message.
    assert gateway.deliver(api, event).json()["replayed"]
    again = gateway.deliver(api, gateway.event(intent, paid_at=api.clock()))
    assert again.json()["result"] == "refused"
    assert len(api.client.get("/api/v1/staff/refunds", headers=billing).json()) == 1
    assert len(_notifications(api, service_no, "refund_due")) == 1


def test_marking_refunded_is_audited_and_once_only(api: Api, consumer: Any) -> None:
    service_no, auth, _, _ = _refused_550(api, consumer)
    billing = bearer(api.staff_token("billing"))
    (queued,) = api.client.get("/api/v1/staff/refunds", headers=billing).json()
    url = f"/api/v1/staff/refunds/{queued['id']}/refunded"
    api.clock.advance(minutes=10)
    done = api.client.post(url, json={"reference": "rfnd_ABC123"}, headers=billing)
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["refund_reference"], body["refunded_by"]) == (
        "refunded",
        "rfnd_ABC123",
        "billing.user",
    )
    assert body["refunded_at"] is not None
    twice = api.client.post(url, json={"reference": "rfnd_OTHER"}, headers=billing)
    assert (twice.status_code, twice.json()["code"]) == (409, "refund_already_refunded")
    assert "rfnd_ABC123" in twice.json()["detail"]
    unknown = api.client.post(
        "/api/v1/staff/refunds/999999/refunded", json={"reference": "r1"}, headers=billing
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "refund_not_found")
    huge = api.client.post(
        f"/api/v1/staff/refunds/{2**63}/refunded", json={"reference": "r1"}, headers=billing
    )
    assert huge.status_code == 422
    assert api.client.get("/api/v1/staff/refunds", headers=billing).json() == []
    (kept,) = api.client.get("/api/v1/staff/refunds", params={"status": "all"}, headers=billing).json()
    assert kept["refund_reference"] == "rfnd_ABC123"
    (seen,) = api.client.get(f"/api/v1/me/connections/{service_no}/refunds", headers=auth).json()
    assert seen["status"] == "refunded" and seen["refund_reference"] == "rfnd_ABC123"
    # Only billing (and admins) work the queue.
    helpline = bearer(api.staff_token("helpline"))
    assert api.client.get("/api/v1/staff/refunds", headers=helpline).status_code == 403


def test_another_amount_than_the_intents_is_queued_for_what_was_taken(api: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1)
    auth = bearer(api.consumer_token(service_no, mobile))
    intent = api.client.post(
        f"/api/v1/me/connections/{service_no}/payment-intents",
        json={"amount_paise": 50_000, "channel": "portal"},
        headers=auth,
    ).json()
    answer = gateway.deliver(api, gateway.event(intent, amount_paise=40_000, paid_at=api.clock()))
    assert (answer.status_code, answer.json()["code"]) == (422, "amount_mismatch")
    billing = bearer(api.staff_token("billing"))
    (queued,) = api.client.get("/api/v1/staff/refunds", headers=billing).json()
    assert (queued["amount_paise"], queued["code"]) == (40_000, "amount_mismatch")
    assert len(_notifications(api, service_no, "refund_due")) == 1
    # A failure report of another amount took no money: nothing to refund.
    other, other_mobile = consumer(2)
    other_auth = bearer(api.consumer_token(other, other_mobile))
    second = api.client.post(
        f"/api/v1/me/connections/{other}/payment-intents",
        json={"amount_paise": 50_000, "channel": "portal"},
        headers=other_auth,
    ).json()
    failed = gateway.event(second, type="payment.failed", amount_paise=1)
    assert gateway.deliver(api, failed).status_code == 422
    assert len(api.client.get("/api/v1/staff/refunds", headers=billing).json()) == 1


def test_refund_commands_list_and_mark(api: Api, consumer: Any, store_url: str) -> None:
    service_no, _, intent, _ = _refused_550(api, consumer)

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli.app, list(args), env={"WATTWALLET_DATABASE_URL": store_url})

    listed = run("refunds", "list", "--json")
    assert listed.exit_code == 0, listed.output
    (entry,) = json.loads(listed.stdout)
    assert (entry["service_no"], entry["intent_id"], entry["amount_paise"], entry["status"]) == (
        service_no,
        intent["id"],
        55_000,
        "due",
    )
    text = run("refunds", "list")
    assert (
        f"#{entry['id']}" in text.stdout and "₹550.00" in text.stdout and "not_multiple_of_100" in text.stdout
    )
    marked = run("refunds", "mark", str(entry["id"]), "--reference", "rfnd_CLI1", "--by", "Ravi Kumar")
    assert marked.exit_code == 0, marked.output
    assert "marked refunded" in marked.stdout and "rfnd_CLI1" in marked.stdout
    twice = run("refunds", "mark", str(entry["id"]), "--reference", "rfnd_CLI2", "--by", "Ravi Kumar")
    assert twice.exit_code == 2 and "[refund_already_refunded]" in twice.output
    unknown = run("refunds", "mark", "424242", "--reference", "rfnd_X", "--by", "Ravi Kumar")
    assert unknown.exit_code == 2 and "[refund_not_found]" in unknown.output
    assert run("refunds", "list").stdout.strip() == "no refunds due"
    (kept,) = json.loads(run("refunds", "list", "--all", "--json").stdout)
    assert (kept["refunded_by"], kept["refund_reference"]) == ("Ravi Kumar", "rfnd_CLI1")
