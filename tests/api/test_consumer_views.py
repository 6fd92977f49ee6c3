"""What a signed-in consumer sees and does on their own connections (both databases): wallet,
itemised deductions, receipts, alerts, short bills, complaints, language."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from tests.api.conftest import Api, bearer
from tests.conftest import NOW
from wattwallet.domain import clock
from wattwallet.domain import readings as reading_rules
from wattwallet.lifecycle import daily_cycle, readings, short_bills
from wattwallet.store import connections, schema
from wattwallet.wallet import counter, recharges

BASE = "/api/v1/me/connections"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=clock.IST)


def read_and_bill(api: Api, serial: str, kwh: str, *, day: str = "2025-06-03") -> None:
    """The midnight register of `day`, then the daily cycle that bills the day before."""
    reading = reading_rules.parse(meter_serial=serial, read_at=at(f"{day}T00:10"), kwh=kwh)
    readings.record(api.ctx, [reading], now=at(f"{day}T00:10"))
    daily_cycle.run(api.ctx, now=at(f"{day}T06:00"))


def signed_in(api: Api, consumer: Any, n: int, **overrides: Any) -> tuple[str, dict[str, str]]:
    service_no, mobile = consumer(n, **overrides)
    return service_no, bearer(api.consumer_token(service_no, mobile))


def test_me_shows_the_masked_mobile_and_own_connections_only(api: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1, consumer_name="Lakshmi Devi", language="te")
    consumer(2)
    answer = api.client.get("/api/v1/me", headers=bearer(api.consumer_token(service_no, mobile)))
    assert answer.status_code == 200
    assert answer.json() == {
        "mobile": "+91XXXXXX0001",
        "connections": [
            {"service_no": service_no, "consumer_name": "Lakshmi Devi", "state": "active", "language": "te"}
        ],
    }


def test_two_connections_on_one_mobile_are_both_seen(api: Api, consumer: Any, add_connection: Any) -> None:
    first, mobile = consumer(1)
    second = add_connection(mobile=mobile, consumer_name="Shop")
    headers = bearer(api.consumer_token(first, mobile))
    listed = api.client.get("/api/v1/me", headers=headers).json()["connections"]
    assert [c["service_no"] for c in listed] == sorted([first, second])
    for number in (first, second):
        assert api.client.get(f"{BASE}/{number}/wallet", headers=headers).status_code == 200


def test_wallet_before_and_after_the_first_recharge_and_a_billed_day(api: Api, consumer: Any) -> None:
    service_no, headers = signed_in(api, consumer, 1, meter_serial="SM-W1")
    before = api.client.get(f"{BASE}/{service_no}/wallet", headers=headers).json()
    assert before["first_recharge_minimum_paise"] == 50_000  # ₹500: LT-I 2 kW charges are below it
    assert (before["balance_paise"], before["state"], before["relay"]) == (0, "active", "closed")
    assert before["estimated_days_left"] == 0
    counter.recharge(
        api.ctx, by="sc.test", service_no=service_no, reference="R-1", amount_paise=100_000, now=NOW
    )
    read_and_bill(api, "SM-W1", "8")
    after = api.client.get(f"{BASE}/{service_no}/wallet", headers=headers).json()
    with api.ctx.store.read() as conn:
        adc = conn.execute(
            sa.select(schema.prepaid_state.c.adc_paise).where(schema.prepaid_state.c.service_no == service_no)
        ).scalar_one()
        deducted = conn.execute(sa.select(schema.daily_deductions.c.amount)).scalar_one()
    assert after["first_recharge_minimum_paise"] is None
    assert after["balance_paise"] == 100_000 - deducted and deducted > 0
    assert after["adc_paise"] == adc > 0
    assert after["estimated_days_left"] == after["balance_paise"] // adc
    assert (after["dues_paise"], after["emergency_credit_paise"], after["billing_mode"]) == (0, 0, "prepaid")


def test_deductions_are_itemised_newest_first_and_page_back(api: Api, consumer: Any) -> None:
    service_no, headers = signed_in(api, consumer, 1, meter_serial="SM-D1")
    counter.recharge(
        api.ctx, by="sc.test", service_no=service_no, reference="R-1", amount_paise=100_000, now=NOW
    )
    read_and_bill(api, "SM-D1", "6", day="2025-06-03")
    read_and_bill(api, "SM-D1", "14", day="2025-06-04")
    answer = api.client.get(f"{BASE}/{service_no}/deductions", headers=headers)
    assert answer.status_code == 200
    days = answer.json()
    assert [d["day"] for d in days] == ["2025-06-03", "2025-06-02"]
    assert [d["energy_wh"] for d in days] == [8_000, 6_000]
    for d in days:
        assert d["items"] and sum(i["amount_paise"] for i in d["items"]) == d["amount_paise"]
        assert {"component", "amount_paise", "label"} == set(d["items"][0])
    assert days[0]["items"][0]["label"].startswith("Energy charges")  # the consumer's language: en
    assert days[0]["balance_after_paise"] == 100_000 - days[0]["amount_paise"] - days[1]["amount_paise"]
    older = api.client.get(f"{BASE}/{service_no}/deductions?before=2025-06-03&limit=5", headers=headers)
    assert [d["day"] for d in older.json()] == ["2025-06-02"]
    one = api.client.get(f"{BASE}/{service_no}/deductions?limit=1", headers=headers)
    assert [d["day"] for d in one.json()] == ["2025-06-03"]
    for bad in ("limit=0", "limit=101", "limit=x", "before=yesterday"):
        refused = api.client.get(f"{BASE}/{service_no}/deductions?{bad}", headers=headers)
        assert refused.status_code == 422 and refused.json()["code"] == "request_invalid", bad


def test_recharge_receipts_show_the_split_newest_first(api: Api, consumer: Any) -> None:
    service_no, headers = signed_in(api, consumer, 1, arrears_paise=20_000)
    for n, amount in ((1, 60_000), (2, 30_000)):
        recharges.recharge_wallet(
            api.ctx,
            service_no=service_no,
            channel="app",
            reference=f"PAY-{n}",
            amount_paise=amount,
            now=NOW + dt.timedelta(minutes=n),
        )
    receipts = api.client.get(f"{BASE}/{service_no}/recharges", headers=headers).json()
    assert [r["reference"] for r in receipts] == ["PAY-2", "PAY-1"]
    first = receipts[1]
    assert (first["amount_paise"], first["to_dues_paise"], first["to_wallet_paise"]) == (
        60_000,
        20_000,
        40_000,
    )
    assert (first["dues_remaining_paise"], first["first_recharge"], first["channel"]) == (0, True, "app")
    assert receipts[0]["balance_after_paise"] == 70_000
    assert dt.datetime.fromisoformat(first["paid_at"]) == NOW + dt.timedelta(minutes=1)


def test_alerts_and_emergency_credit_after_a_day_that_empties_the_wallet(api: Api, consumer: Any) -> None:
    service_no, headers = signed_in(
        api, consumer, 1, meter_serial="SM-A1", first_recharge_done=True, opening_balance_paise=500
    )
    read_and_bill(api, "SM-A1", "20")
    alerts = api.client.get(f"{BASE}/{service_no}/alerts", headers=headers).json()
    assert {a["kind"] for a in alerts} == {"low_balance_3_days", "low_balance_2_days", "zero_balance"}
    assert all(a["balance_paise"] < 0 for a in alerts)
    wallet = api.client.get(f"{BASE}/{service_no}/wallet", headers=headers).json()
    assert wallet["balance_paise"] < 0 and wallet["emergency_credit_paise"] > 0
    assert wallet["estimated_days_left"] == 0


def test_short_bills_show_their_due_day(api: Api, consumer: Any) -> None:
    service_no, headers = signed_in(api, consumer, 1)
    short_bills.raise_bill(
        api.ctx,
        service_no=service_no,
        amount_paise=25_000,
        reason="back-billing: CT ratio error",
        ref="SB-7",
        now=NOW,
        events=[],
    )
    [bill] = api.client.get(f"{BASE}/{service_no}/short-bills", headers=headers).json()
    assert bill == {
        "ref": "SB-7",
        "amount_paise": 25_000,
        "reason": "back-billing: CT ratio error",
        "raised_on": "2025-06-02",
        "due_on": "2025-06-17",
        "status": "open",
        "deducted_at": None,
    }


def test_a_reconnection_complaint_gets_a_four_hour_deadline_once(api: Api, consumer: Any) -> None:
    service_no, headers = signed_in(api, consumer, 1)
    url = f"{BASE}/{service_no}/complaints"
    opened = api.client.post(
        url, json={"kind": "reconnection", "note": "  power still off  "}, headers=headers
    )
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert (body["kind"], body["source"], body["overdue"], body["resolved_at"]) == (
        "reconnection",
        "consumer",
        False,
        None,
    )
    due = dt.datetime.fromisoformat(body["due_at"])
    assert due - dt.datetime.fromisoformat(body["opened_at"]) == dt.timedelta(hours=4)
    # Asking again while it is open gives the same complaint back: no duplicate, same deadline.
    api.clock.advance(minutes=20)
    again = api.client.post(url, json={"kind": "reconnection"}, headers=headers)
    assert again.status_code == 200 and again.json()["ref"] == body["ref"]
    assert dt.datetime.fromisoformat(again.json()["due_at"]) == due
    api.clock.advance(hours=4)  # past the deadline (and the session): sign in again to look
    headers = bearer(api.consumer_token(service_no, "+919876500001"))
    [listed] = api.client.get(url, headers=headers).json()
    assert listed["ref"] == body["ref"] and listed["overdue"] is True
    with api.ctx.store.read() as conn:
        assert conn.execute(sa.select(schema.complaints.c.note)).scalar_one() == "power still off"


def test_complaint_requests_that_break_a_rule_are_refused(api: Api, consumer: Any) -> None:
    service_no, headers = signed_in(api, consumer, 1)
    url = f"{BASE}/{service_no}/complaints"
    for body in ({"kind": "billing"}, {"kind": "reconnection", "note": "x" * 501}, {}):
        answer = api.client.post(url, json=body, headers=headers)
        assert answer.status_code == 422 and answer.json()["code"] == "request_invalid", body
    with api.ctx.store.write() as conn:
        c = schema.connections
        conn.execute(sa.update(c).where(c.c.service_no == service_no).values(state="terminated"))
    refused = api.client.post(url, json={"kind": "reconnection"}, headers=headers)
    assert refused.status_code == 422 and refused.json()["code"] == "complaint_not_allowed"
    with api.ctx.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.complaints)).scalar_one() == 0


def test_language_can_be_changed_any_time(api: Api, consumer: Any) -> None:
    service_no, headers = signed_in(api, consumer, 1)
    url = f"{BASE}/{service_no}/language"
    answer = api.client.put(url, json={"language": "te"}, headers=headers)
    assert answer.status_code == 200 and answer.json()["language"] == "te"
    with api.ctx.store.read() as conn:
        assert connections.get(conn, service_no).language.value == "te"
    refused = api.client.put(url, json={"language": "hi"}, headers=headers)
    assert refused.status_code == 422 and refused.json()["code"] == "request_invalid"
    assert api.client.put(url, json={"language": "en"}, headers=headers).json()["language"] == "en"
