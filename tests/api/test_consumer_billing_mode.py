"""The consumer's billing mode over HTTP (DOMAIN.md §8, both databases): the mode and its history,
asking for a switch from a chosen day, withdrawing it, every refusal with its code and nothing
written, and a postpaid connection's account once the switch has settled."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from tests.api.conftest import Api, bearer
from tests.api.test_consumer_views import at, read_and_bill, signed_in
from tests.conftest import NOW, table_counts
from wattwallet.billing import deposits, mode_switch
from wattwallet.store import schema
from wattwallet.wallet import counter

BASE = "/api/v1/me/connections"
TOMORROW = (NOW + dt.timedelta(days=1)).date().isoformat()


def refused(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code


def test_a_prepaid_connection_with_nothing_asked(api: Api, consumer: Any) -> None:
    service_no, headers = signed_in(api, consumer, 1)
    answer = api.client.get(f"{BASE}/{service_no}/billing-mode", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"service_no": service_no, "mode": "prepaid", "pending": None, "history": []}


def test_ask_for_a_switch_from_tomorrow_then_withdraw_it(api: Api, consumer: Any) -> None:
    service_no, headers = signed_in(api, consumer, 1)
    made = api.client.post(f"{BASE}/{service_no}/billing-mode", headers=headers, json={"to": "postpaid"})
    assert made.status_code == 201, made.text
    switch = made.json()
    assert (switch["from"], switch["to"], switch["effective_on"]) == ("prepaid", "postpaid", TOMORROW)
    assert (switch["status"], switch["via"], switch["carried_paise"]) == ("pending", "consumer", None)
    assert switch["requested_at"] == "2025-06-02T09:00:00+05:30"
    seen = api.client.get(f"{BASE}/{service_no}/billing-mode", headers=headers).json()
    assert seen["mode"] == "prepaid" and seen["pending"] == switch and seen["history"] == [switch]

    gone = api.client.delete(f"{BASE}/{service_no}/billing-mode/pending", headers=headers)
    assert gone.status_code == 200, gone.text
    assert (gone.json()["id"], gone.json()["status"]) == (switch["id"], "withdrawn")
    seen = api.client.get(f"{BASE}/{service_no}/billing-mode", headers=headers).json()
    assert seen["pending"] is None and [s["status"] for s in seen["history"]] == ["withdrawn"]


def test_a_chosen_day_is_kept(api: Api, consumer: Any) -> None:
    service_no, headers = signed_in(api, consumer, 1)
    body = {"to": "postpaid", "effective_on": "2025-07-01"}
    made = api.client.post(f"{BASE}/{service_no}/billing-mode", headers=headers, json=body)
    assert made.status_code == 201 and made.json()["effective_on"] == "2025-07-01"


def test_every_refusal_has_its_code_and_writes_nothing(api: Api, consumer: Any) -> None:
    service_no, headers = signed_in(api, consumer, 1, meter_serial="SM-R1")
    url = f"{BASE}/{service_no}/billing-mode"
    before = table_counts(api.ctx.store)
    refused(api.client.post(url, headers=headers, json={"to": "prepaid"}), 422, "mode_unchanged")
    today = {"to": "postpaid", "effective_on": NOW.date().isoformat()}
    refused(api.client.post(url, headers=headers, json=today), 422, "mode_switch_date_past")
    refused(api.client.delete(f"{url}/pending", headers=headers), 404, "mode_switch_not_found")
    refused(api.client.post(url, headers=headers, json={"to": "credit"}), 422, "request_invalid")
    refused(
        api.client.post(url, headers=headers, json={"to": "postpaid", "effective_on": "soon"}),
        422,
        "request_invalid",
    )
    assert table_counts(api.ctx.store) == before

    assert api.client.post(url, headers=headers, json={"to": "postpaid"}).status_code == 201
    before = table_counts(api.ctx.store)
    refused(api.client.post(url, headers=headers, json={"to": "postpaid"}), 409, "mode_switch_pending")
    assert table_counts(api.ctx.store) == before


def test_a_terminated_connection_or_consumption_held_for_review_is_refused(api: Api, consumer: Any) -> None:
    ended, ended_headers = signed_in(api, consumer, 2)
    with api.ctx.store.write() as conn:
        c = schema.connections
        conn.execute(sa.update(c).where(c.c.service_no == ended).values(state="terminated"))
    before = table_counts(api.ctx.store)
    answer = api.client.post(f"{BASE}/{ended}/billing-mode", headers=ended_headers, json={"to": "postpaid"})
    refused(answer, 422, "mode_switch_connection_terminated")
    assert table_counts(api.ctx.store) == before

    held, held_mobile = consumer(1, meter_serial="SM-H1")
    read_and_bill(api, "SM-H1", "1000")  # 1000 kWh in a day on 2 kW: held for staff
    api.clock.now = at("2025-06-03T09:00")
    held_headers = bearer(api.consumer_token(held, held_mobile))
    before = table_counts(api.ctx.store)
    answer = api.client.post(f"{BASE}/{held}/billing-mode", headers=held_headers, json={"to": "postpaid"})
    refused(answer, 422, "mode_switch_consumption_held")
    assert table_counts(api.ctx.store) == before


def test_another_consumers_connection_is_not_found(api: Api, consumer: Any) -> None:
    mine, headers = signed_in(api, consumer, 1)
    theirs, _ = consumer(2)
    for method, tail, body in (
        ("GET", "billing-mode", None),
        ("POST", "billing-mode", {"to": "postpaid"}),
        ("DELETE", "billing-mode/pending", None),
        ("GET", "postpaid", None),
    ):
        answer = api.client.request(method, f"{BASE}/{theirs}/{tail}", headers=headers, json=body)
        refused(answer, 404, "connection_not_found")
    assert mode_switch.pending(api.ctx, service_no=theirs) is None
    assert api.client.get(f"{BASE}/{mine}/postpaid", headers=headers).status_code == 200


def test_after_the_switch_the_postpaid_account_shows_advance_deposit_and_unbilled(
    api: Api, consumer: Any
) -> None:
    service_no, headers = signed_in(api, consumer, 1, meter_serial="SM-P1")
    counter.recharge(
        api.ctx, by="sc.test", service_no=service_no, reference="R-1", amount_paise=100_000, now=NOW
    )
    api.client.post(f"{BASE}/{service_no}/billing-mode", headers=headers, json={"to": "postpaid"})
    mode_switch.run_due(api.ctx, now=at("2025-06-03T06:30"))
    deposits.set_deposit(api.ctx, service_no=service_no, amount_paise=150_000, now=NOW, by="test")
    read_and_bill(api, "SM-P1", "0", day="2025-06-03")
    read_and_bill(api, "SM-P1", "8", day="2025-06-04")  # June 3, rated postpaid: not billed yet
    api.clock.now = at("2025-06-04T09:00")
    headers = bearer(api.consumer_token(service_no, f"+9198765{1:05d}"))

    seen = api.client.get(f"{BASE}/{service_no}/billing-mode", headers=headers).json()
    [done] = seen["history"]
    assert seen["mode"] == "postpaid" and seen["pending"] is None
    assert (done["status"], done["carried_paise"], done["to_bill_paise"]) == ("done", 100_000, 0)

    account = api.client.get(f"{BASE}/{service_no}/postpaid", headers=headers)
    assert account.status_code == 200, account.text
    body = account.json()
    with api.ctx.store.read() as conn:
        pc = schema.postpaid_charges
        unbilled = conn.execute(
            sa.select(sa.func.sum(pc.c.amount)).where(pc.c.service_no == service_no)
        ).scalar()
    assert unbilled and unbilled > 0
    assert body == {
        "service_no": service_no,
        "mode": "postpaid",
        "outstanding_paise": 0,
        "oldest_due_on": None,
        "advance_paise": 100_000,
        "deposit_paise": 150_000,
        "unbilled_paise": unbilled,
        "unpaid": [],
    }
    # Back to prepaid is asked the same way; the first switch is in the history below it.
    again = api.client.post(f"{BASE}/{service_no}/billing-mode", headers=headers, json={"to": "prepaid"})
    assert again.status_code == 201 and again.json()["from"] == "postpaid"
