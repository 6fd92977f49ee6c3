"""Staff routes for prepaid or postpaid on one meter: a switch on the consumer's behalf, counter
payments of postpaid bills, the deposit, the account and the overdue list (both databases)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.api.conftest import Api
from tests.api.test_staff_support import Desk, refused
from tests.conftest import table_counts
from wattwallet.billing import service as bills
from wattwallet.domain import clock


@pytest.fixture
def desk(api: Api) -> Desk:
    return Desk(api)


def test_a_switch_asked_at_the_helpline_is_audited_and_settled_on_its_day(
    api: Api, desk: Desk, consumer: Any
) -> None:
    service_no, _ = consumer(1, first_recharge_done=True, opening_balance_paise=45_000)
    asked = desk("helpline", "POST", f"/connections/{service_no}/billing-mode", json={"to": "postpaid"})
    assert asked.status_code == 201, asked.text
    body = asked.json()
    tomorrow = clock.ist_date(api.clock()) + dt.timedelta(days=1)
    assert (body["from"], body["to"], body["effective_on"], body["via"]) == (
        "prepaid",
        "postpaid",
        tomorrow.isoformat(),
        "staff",
    )
    again = desk("billing", "POST", f"/connections/{service_no}/billing-mode", json={"to": "postpaid"})
    refused(again, 409, "mode_switch_pending")
    refused(
        desk("field", "POST", f"/connections/{service_no}/billing-mode", json={"to": "postpaid"}),
        403,
        "forbidden",
    )
    # The day comes: the wallet's ₹450 becomes an advance.
    api.clock.advance(days=1, hours=1)
    from wattwallet.billing import mode_switch

    assert mode_switch.run_due(api.ctx, now=api.clock()) == 1
    account = desk("billing", "GET", f"/connections/{service_no}/postpaid").json()
    assert (account["mode"], account["advance_paise"], account["outstanding_paise"]) == (
        "postpaid",
        45_000,
        0,
    )


def test_counter_payments_of_postpaid_bills_are_idempotent_and_refused_cleanly(
    api: Api, desk: Desk, consumer: Any
) -> None:
    service_no, _ = consumer(2, mode="postpaid", arrears_paise=30_000)
    prepaid, _ = consumer(3)
    pay = {"service_no": service_no, "amount_paise": 12_345, "reference": "CTR-1"}
    first = desk("service_centre", "POST", "/postpaid-payments", json=pay)
    assert first.status_code == 201, first.text
    assert (first.json()["applied_paise"], first.json()["outstanding_paise"]) == (12_345, 30_000 - 12_345)
    repeat = desk("service_centre", "POST", "/postpaid-payments", json=pay)
    assert (repeat.status_code, repeat.json()["replayed"]) == (200, True)
    before = table_counts(api.ctx.store)
    refused(
        desk("service_centre", "POST", "/postpaid-payments", json={**pay, "amount_paise": 100}),
        409,
        "duplicate_conflict",
    )
    refused(
        desk(
            "service_centre",
            "POST",
            "/postpaid-payments",
            json={**pay, "reference": "CTR-2", "amount_paise": 99},
        ),
        422,
        "payment_below_minimum",
    )
    refused(
        desk(
            "service_centre",
            "POST",
            "/postpaid-payments",
            json={**pay, "service_no": prepaid, "reference": "CTR-3"},
        ),
        422,
        "payment_connection_prepaid",
    )
    assert table_counts(api.ctx.store) == before
    # More than is owed: the rest is an advance for the next bill.
    more = desk(
        "service_centre",
        "POST",
        "/postpaid-payments",
        json={**pay, "reference": "CTR-4", "amount_paise": 20_000},
    )
    assert (more.json()["applied_paise"], more.json()["to_advance_paise"]) == (
        30_000 - 12_345,
        20_000 - 17_655,
    )


def test_the_deposit_and_the_overdue_list(api: Api, desk: Desk, consumer: Any) -> None:
    service_no, _ = consumer(4, mode="postpaid", arrears_paise=5_000)
    put = desk("billing", "PUT", f"/connections/{service_no}/deposit", json={"amount_paise": 150_000})
    assert put.json() == {"service_no": service_no, "before_paise": 0, "deposit_paise": 150_000}
    refused(
        desk("billing", "PUT", f"/connections/{service_no}/deposit", json={"amount_paise": -1}),
        422,
        "request_invalid",
    )
    # A month's bill, not paid by its due date: on the overdue list.
    month = bills.previous_month(api.clock() + dt.timedelta(days=40))
    api.clock.advance(days=40)
    bills.run_month(api.ctx, month=month, now=api.clock())
    api.clock.advance(days=20)
    overdue = desk("billing", "GET", "/postpaid/overdue").json()
    assert [row["service_no"] for row in overdue] == [service_no]
    assert (overdue[0]["label"], overdue[0]["owed_paise"]) == ("arrears brought forward", 5_000)
