"""A postpaid consumer pays a bill online: the same intent and signed webhook as a recharge, any
amount of at least ₹1, applied to the oldest bill first, credited once however often the gateway
delivers (both databases)."""

from __future__ import annotations

from typing import Any

from tests.api import gateway
from tests.api.conftest import Api
from tests.api.test_payments import signed_in, start
from wattwallet.billing import postpaid_payments


def test_a_postpaid_bill_paid_online_is_credited_once_to_the_oldest_bill(api: Api, consumer: Any) -> None:
    service_no, auth = signed_in(api, consumer, 1, mode="postpaid", arrears_paise=50_000)
    refused = start(api, service_no, auth, 99)
    assert (refused.status_code, refused.json()["code"]) == (422, "payment_below_minimum")
    answer = start(api, service_no, auth, 12_345)  # not a multiple of ₹100: a bill, not a recharge
    assert answer.status_code == 201, answer.text
    intent = answer.json()
    body = gateway.event(intent, paid_at=api.clock(), gateway_payment_id="pay_PP1")
    first = gateway.deliver(api, body)
    assert first.status_code == 200, first.text
    assert (first.json()["result"], first.json()["receipt_no"]) == ("credited", None)
    again = gateway.deliver(api, body)
    assert again.json()["replayed"] is True
    account = postpaid_payments.account(api.ctx, service_no=service_no)
    assert account.outstanding == 50_000 - 12_345
    [item] = account.unpaid
    assert (item.label, item.paid) == ("arrears brought forward", 12_345)
