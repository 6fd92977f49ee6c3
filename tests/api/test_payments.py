"""Online recharges: payment intents check the rules up front; the gateway's webhook credits each
payment once, only with a valid fresh signature, and never drops money a rule refuses (both databases)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.api import gateway
from tests.api.conftest import WEBHOOK_SECRET, Api, bearer
from tests.conftest import table_counts
from wattwallet import config
from wattwallet.api import app as api_app
from wattwallet.api import deps
from wattwallet.store import schema
from wattwallet.wallet import payments
from wattwallet.wallet import views as wallets


def signed_in(api: Api, consumer: Any, n: int, **overrides: Any) -> tuple[str, dict[str, str]]:
    service_no, mobile = consumer(n, **overrides)
    return service_no, bearer(api.consumer_token(service_no, mobile))


def start(api: Api, service_no: str, auth: dict[str, str], paise: int, channel: str = "portal") -> Any:
    return api.client.post(
        f"/api/v1/me/connections/{service_no}/payment-intents",
        json={"amount_paise": paise, "channel": channel},
        headers=auth,
    )


def intent_for(api: Api, consumer: Any, paise: int = 50_000, **overrides: Any) -> tuple[str, dict[str, Any]]:
    service_no, auth = signed_in(api, consumer, 1, **overrides)
    answer = start(api, service_no, auth, paise)
    assert answer.status_code == 201, answer.text
    return service_no, answer.json()


def recharge_rows(api: Api, service_no: str) -> list[sa.Row[Any]]:
    r = schema.recharges
    with api.ctx.store.read() as conn:
        return list(conn.execute(sa.select(r).where(r.c.service_no == service_no)))


def intent_row(api: Api, intent_id: str) -> Any:
    p = schema.payment_intents
    with api.ctx.store.read() as conn:
        return conn.execute(sa.select(p).where(p.c.id == intent_id)).one()


def balance(api: Api, service_no: str) -> int:
    return wallets.view(api.ctx, service_no=service_no, now=api.clock()).balance


def set_state(api: Api, service_no: str, state: str) -> None:
    c = schema.connections
    with api.ctx.store.write() as conn:
        conn.execute(sa.update(c).where(c.c.service_no == service_no).values(state=state))


# --- intents --------------------------------------------------------------------------------------


def test_an_intent_is_stored_and_read_back_by_its_owner_only(api: Api, consumer: Any) -> None:
    service_no, auth = signed_in(api, consumer, 1)
    answer = start(api, service_no, auth, 50_000, channel="app")
    assert answer.status_code == 201, answer.text
    intent = answer.json()
    assert intent["id"].startswith("pi_") and len(intent["id"]) == 27
    assert (intent["service_no"], intent["channel"], intent["amount_paise"], intent["status"]) == (
        service_no,
        "app",
        50_000,
        "created",
    )
    expires = dt.datetime.fromisoformat(intent["expires_at"])
    assert expires == api.clock() + dt.timedelta(minutes=api.settings.payment_intent_minutes)
    mine = api.client.get(f"/api/v1/me/payment-intents/{intent['id']}", headers=auth)
    assert mine.status_code == 200 and mine.json() == intent
    _, other = signed_in(api, consumer, 2)
    theirs = api.client.get(f"/api/v1/me/payment-intents/{intent['id']}", headers=other)
    assert theirs.status_code == 404 and theirs.json()["code"] == "payment_intent_not_found"
    unknown = api.client.get("/api/v1/me/payment-intents/pi_nothing", headers=auth)
    assert unknown.json() == {**theirs.json()}
    assert api.client.get(f"/api/v1/me/payment-intents/{intent['id']}").status_code == 401
    api.clock.advance(minutes=api.settings.payment_intent_minutes)
    auth = bearer(api.consumer_token(service_no, f"+9198765{1:05d}"))  # the first session has lapsed too
    later = api.client.get(f"/api/v1/me/payment-intents/{intent['id']}", headers=auth)
    assert later.json()["status"] == "expired"


def test_an_intent_for_someone_elses_connection_is_not_found(api: Api, consumer: Any) -> None:
    _, auth = signed_in(api, consumer, 1)
    other, _ = consumer(2)
    before = table_counts(api.ctx.store)
    answer = start(api, other, auth, 50_000)
    assert answer.status_code == 404 and answer.json()["code"] == "connection_not_found"
    assert table_counts(api.ctx.store) == before


@pytest.mark.parametrize(
    ("overrides", "paise", "code", "minimum"),
    [
        ({}, 49_999, "first_recharge_below_minimum", "500.00"),
        ({"first_recharge_done": True}, 15_000, "not_multiple_of_100", "200.00"),
        ({"first_recharge_done": True}, 5_000, "below_minimum", "100.00"),
        ({"mode": "postpaid"}, 99, "payment_below_minimum", "1.00"),  # a bill payment: at least ₹1
    ],
)
def test_an_intent_the_recharge_rules_would_refuse_is_refused_up_front(
    api: Api, consumer: Any, overrides: dict[str, Any], paise: int, code: str, minimum: str | None
) -> None:
    service_no, auth = signed_in(api, consumer, 1, **overrides)
    before = table_counts(api.ctx.store)
    answer = start(api, service_no, auth, paise)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == code
    assert answer.json().get("minimum") == minimum
    assert table_counts(api.ctx.store) == before


def test_an_intent_meets_the_mandatory_charges_minimum_where_it_is_higher(api: Api, consumer: Any) -> None:
    service_no, auth = signed_in(api, consumer, 1, category="LT-II", load_kw="10")
    minimum = wallets.view(api.ctx, service_no=service_no, now=api.clock()).first_recharge_minimum
    assert minimum is not None and minimum > 50_000
    refused = start(api, service_no, auth, minimum - 1)
    assert refused.status_code == 422 and refused.json()["code"] == "first_recharge_below_minimum"
    assert refused.json()["minimum"] == f"{minimum / 100:.2f}"
    assert start(api, service_no, auth, minimum).status_code == 201


def test_an_intent_for_a_terminated_connection_is_refused(api: Api, consumer: Any) -> None:
    service_no, auth = signed_in(api, consumer, 1)
    set_state(api, service_no, "terminated")
    answer = start(api, service_no, auth, 50_000)
    assert answer.status_code == 422 and answer.json()["code"] == "connection_terminated"


def test_an_intent_is_only_for_online_channels(api: Api, consumer: Any) -> None:
    service_no, auth = signed_in(api, consumer, 1)
    answer = start(api, service_no, auth, 50_000, channel="retail")
    assert answer.status_code == 422 and answer.json()["code"] == "request_invalid"
    assert start(api, service_no, auth, 0).status_code == 422


def test_one_consumer_may_start_only_so_many_intents_per_window(api: Api, consumer: Any) -> None:
    service_no, auth = signed_in(api, consumer, 1)
    limit = api.settings.payment_intents_per_window
    assert limit == 10  # the default
    for _ in range(limit):
        assert start(api, service_no, auth, 50_000).status_code == 201
    before = table_counts(api.ctx.store)
    refused = start(api, service_no, auth, 50_000)
    assert (refused.status_code, refused.json()["code"]) == (429, "payment_intents_rate_limited")
    assert 0 < int(refused.headers["Retry-After"]) <= 600
    assert table_counts(api.ctx.store) == before
    other, other_auth = signed_in(api, consumer, 2)
    assert start(api, other, other_auth, 50_000).status_code == 201  # per consumer, not global
    api.clock.advance(minutes=api.settings.payment_intent_window_minutes, seconds=1)
    assert start(api, service_no, auth, 50_000).status_code == 201


# --- the webhook: the happy path and its repeats ----------------------------------------------------


def test_a_paid_intent_credits_the_wallet_from_when_the_payer_paid(api: Api, consumer: Any) -> None:
    service_no, intent = intent_for(api, consumer)
    paid = api.clock() - dt.timedelta(minutes=7)
    answer = gateway.deliver(api, gateway.event(intent, paid_at=paid, gateway_payment_id="pay_ABC"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["result"], body["intent_status"], body["replayed"]) == ("credited", "succeeded", False)
    assert body["receipt_no"].startswith("WW")
    assert balance(api, service_no) == 50_000
    (row,) = recharge_rows(api, service_no)
    assert (row.channel, row.reference, row.amount) == ("portal", intent["id"], 50_000)
    assert row.paid_at == paid and row.recorded_at == api.clock()
    stored = intent_row(api, intent["id"])
    assert (stored.status, stored.receipt_no, stored.paid_at, stored.gateway_payment_id) == (
        "succeeded",
        body["receipt_no"],
        paid,
        "pay_ABC",
    )


def test_a_replayed_event_is_answered_as_before_and_credits_once(api: Api, consumer: Any) -> None:
    service_no, intent = intent_for(api, consumer)
    body = gateway.event(intent, paid_at=api.clock())
    first = gateway.deliver(api, body)
    assert first.status_code == 200
    before = table_counts(api.ctx.store)
    api.clock.advance(seconds=30)
    again = gateway.deliver(api, body)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "replayed": True}
    assert table_counts(api.ctx.store) == before
    assert balance(api, service_no) == 50_000


def test_two_events_for_one_intent_are_one_recharge(api: Api, consumer: Any) -> None:
    service_no, intent = intent_for(api, consumer)
    paid = api.clock()
    first = gateway.deliver(api, gateway.event(intent, paid_at=paid))
    second = gateway.deliver(api, gateway.event(intent, paid_at=paid))
    assert [a.status_code for a in (first, second)] == [200, 200]
    assert first.json()["event_id"] != second.json()["event_id"]
    assert first.json()["receipt_no"] == second.json()["receipt_no"]
    assert second.json()["result"] == "credited" and not second.json()["replayed"]
    assert len(recharge_rows(api, service_no)) == 1
    assert balance(api, service_no) == 50_000


def test_a_second_success_keeps_the_first_paid_at_and_records_the_disagreement(
    api: Api, consumer: Any
) -> None:
    service_no, intent = intent_for(api, consumer)
    paid = api.clock() - dt.timedelta(minutes=3)
    first = gateway.deliver(api, gateway.event(intent, paid_at=paid))
    assert first.json()["result"] == "credited"
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    second = gateway.deliver(api, gateway.event(intent, paid_at=epoch))
    assert second.status_code == 200, second.text
    got = second.json()
    assert (got["result"], got["receipt_no"], got["code"]) == (
        "credited",
        first.json()["receipt_no"],
        "paid_at_disagrees",
    )
    assert "1970-01-01" in got["detail"]
    assert intent_row(api, intent["id"]).paid_at == paid
    (row,) = recharge_rows(api, service_no)
    assert row.paid_at == paid
    e = schema.gateway_events
    with api.ctx.store.read() as conn:
        stored = conn.execute(sa.select(e.c.outcome).where(e.c.event_id == got["event_id"])).scalar_one()
    assert '"paid_at_disagrees"' in stored
    # The same time again is no disagreement.
    third = gateway.deliver(api, gateway.event(intent, paid_at=paid))
    assert third.json()["code"] is None


# --- the webhook: what it refuses, writing nothing --------------------------------------------------


def _header_cases(api: Api, raw: bytes) -> dict[str, tuple[dict[str, Any], str]]:
    now = int(api.clock().timestamp())
    good = payments.sign(secret=WEBHOOK_SECRET, timestamp=now, body=raw)
    forged = good[:-4] + ("0000" if not good.endswith("0000") else "1111")
    return {
        "missing": ({"header": ""}, "webhook_signature_invalid"),
        "malformed": ({"header": "sha256=abc"}, "webhook_signature_invalid"),
        "no v1": ({"header": f"t={now}"}, "webhook_signature_invalid"),
        "forged": ({"header": forged}, "webhook_signature_invalid"),
        "wrong secret": ({"secret": "whsec_some_other_test_secret"}, "webhook_signature_invalid"),
        "signed for another body": (
            {"header": payments.sign(secret=WEBHOOK_SECRET, timestamp=now, body=raw + b" ")},
            "webhook_signature_invalid",
        ),
        "stale": ({"signed_at": api.clock() - dt.timedelta(seconds=301)}, "webhook_timestamp_stale"),
        "from the future": (
            {"signed_at": api.clock() + dt.timedelta(seconds=301)},
            "webhook_timestamp_stale",
        ),
    }


def test_a_bad_or_stale_signature_is_refused_and_writes_nothing(api: Api, consumer: Any) -> None:
    service_no, intent = intent_for(api, consumer)
    raw = gateway.encode(gateway.event(intent, paid_at=api.clock()))
    before = table_counts(api.ctx.store)
    for case, (kwargs, code) in _header_cases(api, raw).items():
        answer = gateway.deliver(api, raw, **kwargs)
        assert (answer.status_code, answer.json()["code"]) == (401, code), case
        assert answer.headers["content-type"] == "application/problem+json"
    assert table_counts(api.ctx.store) == before
    assert intent_row(api, intent["id"]).status == "created"
    # Within the tolerance, the same bytes are taken.
    late = gateway.deliver(api, raw, signed_at=api.clock() - dt.timedelta(seconds=299))
    assert late.status_code == 200 and late.json()["result"] == "credited"
    assert balance(api, service_no) == 50_000


def test_without_a_configured_secret_the_webhook_is_unavailable(api: Api, consumer: Any) -> None:
    _, intent = intent_for(api, consumer)
    settings = config.ApiSettings()
    app = api_app.create_app(
        api.ctx, settings, runtime=deps.Runtime(ctx=api.ctx, settings=settings, clock=api.clock)
    )
    raw = gateway.encode(gateway.event(intent, paid_at=api.clock()))
    header = payments.sign(secret=WEBHOOK_SECRET, timestamp=int(api.clock().timestamp()), body=raw)
    before = table_counts(api.ctx.store)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.post(gateway.WEBHOOK, content=raw, headers={"X-Gateway-Signature": header})
    assert answer.status_code == 503 and answer.json()["code"] == "webhook_not_configured"
    assert table_counts(api.ctx.store) == before


def test_a_body_over_64_kib_is_refused(api: Api, consumer: Any) -> None:
    _, intent = intent_for(api, consumer)
    body = gateway.event(intent, paid_at=api.clock(), padding="x" * (64 * 1024))
    before = table_counts(api.ctx.store)
    answer = gateway.deliver(api, body)
    assert answer.status_code == 413 and answer.json()["code"] == "payload_too_large"
    # Sent in chunks without a length up front, it is cut off as it arrives.
    chunks = (b"x" * 8192 for _ in range(10))
    streamed = api.client.post(gateway.WEBHOOK, content=chunks, headers={"X-Gateway-Signature": "t=1,v1=00"})
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413
    assert table_counts(api.ctx.store) == before


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b'{"event_id": "evt_1"}',
        b'{"event_id": "e", "type": "payment.succeeded", '
        b'"intent_id": "pi_x", "amount_paise": 100, "paid_at": "2025-06-02T09:00:00"}',
    ],
    ids=["not json", "fields missing", "naive paid_at"],
)
def test_a_signed_but_malformed_event_is_refused(api: Api, raw: bytes) -> None:
    before = table_counts(api.ctx.store)
    answer = gateway.deliver(api, raw)
    assert answer.status_code == 422 and answer.json()["code"] == "webhook_event_invalid"
    assert table_counts(api.ctx.store) == before


def test_an_unknown_intent_is_not_found_and_not_recorded(api: Api) -> None:
    before = table_counts(api.ctx.store)
    body = gateway.event({"id": "pi_unknown", "amount_paise": 50_000}, paid_at=api.clock())
    answer = gateway.deliver(api, body)
    assert answer.status_code == 404 and answer.json()["code"] == "payment_intent_not_found"
    assert table_counts(api.ctx.store) == before


def test_a_payment_time_in_the_future_is_refused_until_it_is_not(api: Api, consumer: Any) -> None:
    service_no, intent = intent_for(api, consumer)
    body = gateway.event(intent, paid_at=api.clock() + dt.timedelta(seconds=20))
    before = table_counts(api.ctx.store)
    answer = gateway.deliver(api, body)
    assert answer.status_code == 422 and answer.json()["code"] == "paid_at_in_future"
    assert table_counts(api.ctx.store) == before
    api.clock.advance(seconds=60)  # the gateway retries the same event later
    assert gateway.deliver(api, body).json()["result"] == "credited"
    assert balance(api, service_no) == 50_000


# --- the webhook: money that cannot be credited ------------------------------------------------------


def test_another_amount_than_the_intents_is_left_for_staff(api: Api, consumer: Any) -> None:
    service_no, intent = intent_for(api, consumer)
    body = gateway.event(intent, amount_paise=40_000, paid_at=api.clock())
    answer = gateway.deliver(api, body)
    assert answer.status_code == 422 and answer.json()["code"] == "amount_mismatch"
    assert recharge_rows(api, service_no) == [] and balance(api, service_no) == 0
    assert intent_row(api, intent["id"]).status == "created"
    with api.ctx.store.read() as conn:
        (event,) = conn.execute(sa.select(schema.gateway_events)).all()
    assert (event.event_id, event.intent_id) == (body["event_id"], intent["id"])
    again = gateway.deliver(api, body)
    assert (again.status_code, again.json()["code"]) == (422, "amount_mismatch")
    auth = bearer(api.consumer_token(service_no, f"+9198765{1:05d}"))
    seen = api.client.get(f"/api/v1/me/payment-intents/{intent['id']}", headers=auth).json()
    assert seen["status"] == "created" and seen["problem"]["code"] == "amount_mismatch"


def test_paid_for_a_connection_terminated_meanwhile_fails_the_intent_for_a_refund(
    api: Api, consumer: Any
) -> None:
    service_no, auth = signed_in(api, consumer, 1, first_recharge_done=True)
    intent = start(api, service_no, auth, 20_000).json()
    set_state(api, service_no, "terminated")
    body = gateway.event(intent, paid_at=api.clock())
    answer = gateway.deliver(api, body)
    assert answer.status_code == 200, answer.text  # taken: the gateway must stop retrying
    got = answer.json()
    assert (got["result"], got["intent_status"], got["code"], got["refund_due"]) == (
        "refused",
        "failed",
        "connection_terminated",
        True,
    )
    assert recharge_rows(api, service_no) == [] and balance(api, service_no) == 0
    stored = intent_row(api, intent["id"])
    assert (stored.status, stored.paid_at, stored.gateway_payment_id) == (
        "failed",
        api.clock(),
        body["gateway_payment_id"],
    )
    seen = api.client.get(f"/api/v1/me/payment-intents/{intent['id']}", headers=auth).json()
    assert seen["status"] == "failed"
    assert seen["problem"]["code"] == "connection_terminated" and seen["problem"]["refund_due"]
    assert gateway.deliver(api, body).json() == {**got, "replayed": True}


def test_a_failed_payment_fails_the_intent_and_a_late_failure_never_undoes_a_credit(
    api: Api, consumer: Any
) -> None:
    service_no, intent = intent_for(api, consumer)
    failed = gateway.deliver(api, gateway.event(intent, type="payment.failed"))
    assert failed.status_code == 200 and failed.json()["result"] == "payment_failed"
    assert intent_row(api, intent["id"]).status == "failed"
    # The payer tries again on the gateway's page and it goes through: the money is credited.
    paid = gateway.deliver(api, gateway.event(intent, paid_at=api.clock()))
    assert paid.json()["result"] == "credited"
    late = gateway.deliver(api, gateway.event(intent, type="payment.failed"))
    assert late.status_code == 200
    assert (late.json()["result"], late.json()["intent_status"]) == ("ignored", "succeeded")
    assert intent_row(api, intent["id"]).status == "succeeded"
    assert balance(api, service_no) == 50_000


def test_a_webhook_recharge_reconnects_a_disconnected_connection(api: Api, consumer: Any) -> None:
    service_no, auth = signed_in(api, consumer, 1, first_recharge_done=True, opening_balance_paise=-4_500)
    set_state(api, service_no, "disconnected")
    intent = start(api, service_no, auth, 10_000).json()
    paid = api.clock() - dt.timedelta(minutes=2)
    assert gateway.deliver(api, gateway.event(intent, paid_at=paid)).json()["result"] == "credited"
    h = schema.hes_commands
    with api.ctx.store.read() as conn:
        (command,) = conn.execute(sa.select(h).where(h.c.service_no == service_no)).all()
    assert (command.command, command.status, command.paid_at) == ("reconnect", "sent", paid)
    assert command.sent_at == api.clock()
