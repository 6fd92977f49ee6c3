"""Staff routes about one connection: look-up, the helpline mobile change, short bills, dues and
counter recharges (both databases)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from tests.api.conftest import Api
from tests.api.test_staff_support import Desk, refused
from tests.conftest import table_counts
from wattwallet.store import schema


@pytest.fixture
def desk(api: Api) -> Desk:
    return Desk(api)


def test_a_connection_as_staff_see_it_with_the_mobile_masked_for_field_staff(
    api: Api, desk: Desk, consumer: Any
) -> None:
    service_no, mobile = consumer(1, arrears_paise=12_345, language="te")
    answer = desk("helpline", "GET", f"/connections/{service_no}")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "service_no": service_no,
        "consumer_name": "Consumer 1",
        "category": "LT-I",
        "load_kw": "2",
        "mode": "prepaid",
        "language": "te",
        "state": "active",
        "relay": "closed",
        "meter_serial": "SM000001",
        "mobile": mobile,
        "mobile_masked": False,
        "balance_paise": 0,
        "dues_paise": 12_345,
        "adc_paise": 2_000,  # the LT-I default: ₹10 a kW a day, 2 kW
        "emergency_credit_paise": 0,
        "disconnect_due_at": None,
        "open_complaints": 0,
        "open_holds": 0,
    }
    assert desk("helpline", "POST", f"/connections/{service_no}/complaints", json={"ref": "D1"}).is_success

    seen_in_the_field = desk("field", "GET", f"/connections/{service_no}").json()
    assert (seen_in_the_field["mobile"], seen_in_the_field["mobile_masked"]) == ("+91XXXXXX0001", True)
    assert mobile not in str(seen_in_the_field)
    assert seen_in_the_field["open_complaints"] == 1
    assert desk("admin", "GET", f"/connections/{service_no}").json()["mobile"] == mobile

    refused(desk("billing", "GET", "/connections/9999999999999"), 404, "unknown_connection")
    refused(desk("billing", "GET", "/connections/12ab"), 422, "service_number_invalid")


def test_connections_are_found_by_the_callers_mobile(api: Api, desk: Desk, consumer: Any) -> None:
    first, mobile = consumer(1)
    second, _ = consumer(1)  # the same consumer's second connection, same number
    consumer(2)
    answer = desk("helpline", "GET", "/connections", params={"mobile": mobile.removeprefix("+91")})
    assert answer.status_code == 200, answer.text
    assert [(c["service_no"], c["state"], c["mode"]) for c in answer.json()] == [
        (first, "active", "prepaid"),
        (second, "active", "prepaid"),
    ]
    assert desk("billing", "GET", "/connections", params={"mobile": "+919111111111"}).json() == []
    refused(desk("service_centre", "GET", "/connections", params={"mobile": "12ab"}), 422, "phone_malformed")
    landline = desk("helpline", "GET", "/connections", params={"mobile": "+914023456789"})
    refused(landline, 422, "phone_not_mobile")
    refused(desk("helpline", "GET", "/connections"), 422, "request_invalid")


def test_helpline_mobile_change_is_checked_audited_and_told_to_both_numbers(
    api: Api, desk: Desk, consumer: Any
) -> None:
    service_no, old = consumer(1)
    path = f"/connections/{service_no}/mobile"
    new = "+919000012345"
    desk.token("helpline")
    before = table_counts(api.ctx.store)

    wrong_old = {"old_mobile": "+919876500002", "new_mobile": new, "reference": "1912-CALL-77"}
    refused(desk("helpline", "POST", path, json=wrong_old), 422, "old_mobile_mismatch")
    no_reference = desk("helpline", "POST", path, json={"old_mobile": old, "new_mobile": new})
    refused(no_reference, 422, "request_invalid")
    assert ["body", "reference"] in [e["loc"] for e in no_reference.json()["errors"]]
    blank = {"old_mobile": old, "new_mobile": new, "reference": "   "}
    refused(desk("helpline", "POST", path, json=blank), 422, "reference_invalid")
    other_channel = {"old_mobile": old, "new_mobile": new, "reference": "R1", "via": "service_centre"}
    refused(desk("helpline", "POST", path, json=other_channel), 422, "mobile_change_channel_invalid")
    refused(
        desk(
            "helpline",
            "POST",
            path,
            json={"old_mobile": old, "new_mobile": "+914023456789", "reference": "R1"},
        ),
        422,
        "phone_not_mobile",
    )
    assert table_counts(api.ctx.store) == before

    api.clock.advance(minutes=3)
    # The executive types the old number as the caller says it.
    body = {"old_mobile": "98765 00001", "new_mobile": new, "reference": "1912-CALL-77"}
    answer = desk("helpline", "POST", path, json=body)
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert dt.datetime.fromisoformat(record.pop("changed_at")) == api.clock.now
    assert record == {
        "service_no": service_no,
        "old_mobile": old,
        "new_mobile": new,
        "via": "helpline",
        "reference": "1912-CALL-77",
        "changed_by": "helpline.user",
    }
    with api.ctx.store.read() as conn:
        [audit] = conn.execute(sa.select(schema.mobile_changes)).all()
        told = conn.execute(
            sa.select(schema.notifications.c.recipient).where(schema.notifications.c.kind == "mobile_changed")
        ).scalars()
        told_to = sorted(told)
    assert (audit.service_no, audit.old_mobile, audit.new_mobile) == (service_no, old, new)
    assert (audit.via, audit.reference, audit.changed_by, audit.changed_at) == (
        "helpline",
        "1912-CALL-77",
        "helpline.user",
        api.clock.now,
    )
    assert told_to == sorted([old, new])
    assert desk("helpline", "GET", f"/connections/{service_no}").json()["mobile"] == new

    # The old number no longer matches.
    refused(desk("helpline", "POST", path, json=body), 422, "old_mobile_mismatch")


def test_the_channel_of_a_staff_mobile_change_comes_from_the_role(
    api: Api, desk: Desk, consumer: Any
) -> None:
    service_no, old = consumer(1)
    path = f"/connections/{service_no}/mobile"
    counter = {"old_mobile": old, "new_mobile": "+919000000001", "reference": "TOKEN-9"}
    done = desk("service_centre", "POST", path, json=counter).json()
    assert (done["via"], done["changed_by"]) == ("service_centre", "service-centre.user")

    by_admin = {"old_mobile": "+919000000001", "new_mobile": "+919000000002", "reference": "TOKEN-10"}
    refused(desk("admin", "POST", path, json=by_admin), 422, "mobile_change_channel_invalid")
    done = desk("admin", "POST", path, json={**by_admin, "via": "helpline"}).json()
    assert (done["via"], done["changed_by"]) == ("helpline", "admin.user")


def test_billing_raises_short_bills_and_dues_once_per_reference(api: Api, desk: Desk, consumer: Any) -> None:
    service_no, _ = consumer(1)
    bill = {"amount_paise": 35_000, "reason": "back-billing April", "reference": "SB-1"}
    first = desk("billing", "POST", f"/connections/{service_no}/short-bills", json=bill)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "reference": "SB-1",
        "service_no": service_no,
        "amount_paise": 35_000,
        "reason": "back-billing April",
        "raised_on": "2025-06-02",
        "due_on": "2025-06-17",
        "status": "open",
        "replayed": False,
    }
    before = table_counts(api.ctx.store)
    again = desk("billing", "POST", f"/connections/{service_no}/short-bills", json=bill)
    assert (again.status_code, again.json()["replayed"]) == (200, True)
    assert table_counts(api.ctx.store) == before
    other = desk(
        "billing", "POST", f"/connections/{service_no}/short-bills", json={**bill, "amount_paise": 1}
    )
    refused(other, 409, "duplicate_conflict")
    refused(
        desk(
            "billing", "POST", f"/connections/{service_no}/short-bills", json={**bill, "amount_paise": "350"}
        ),
        422,
        "request_invalid",
    )
    with api.ctx.store.read() as conn:
        kinds = conn.execute(sa.select(schema.notifications.c.kind)).scalars().all()
    assert kinds.count("short_bill_raised") == 1

    dues = {"kind": "arrears", "amount_paise": 20_000, "reason": "postpaid arrears", "reference": "AR-1"}
    added = desk("billing", "POST", f"/connections/{service_no}/dues", json=dues)
    assert added.status_code == 201, added.text
    assert added.json() == {
        "service_no": service_no,
        "kind": "arrears",
        "reference": "AR-1",
        "amount_paise": 20_000,
        "dues_total_paise": 20_000,
        "replayed": False,
    }
    adjustment = {"amount_paise": 5_000, "reason": "meter test fee", "reference": "TA-1"}
    added = desk("billing", "POST", f"/connections/{service_no}/dues", json=adjustment).json()
    assert (added["kind"], added["dues_total_paise"]) == ("technical_adjustment", 25_000)
    repeat = desk("billing", "POST", f"/connections/{service_no}/dues", json=adjustment)
    assert (repeat.status_code, repeat.json()["replayed"], repeat.json()["dues_total_paise"]) == (
        200,
        True,
        25_000,
    )
    refused(
        desk("billing", "POST", f"/connections/{service_no}/dues", json={**dues, "kind": "penalty"}),
        422,
        "request_invalid",
    )
    assert desk("billing", "GET", f"/connections/{service_no}").json()["dues_paise"] == 25_000


def test_counter_recharge_is_idempotent_by_reference(api: Api, desk: Desk, consumer: Any) -> None:
    service_no, _ = consumer(1, arrears_paise=20_000)
    other_service_no, _ = consumer(2)
    desk.token("service_centre")
    payment = {"service_no": service_no, "amount_paise": 50_000, "reference": "CTR-0001"}
    first = desk("service_centre", "POST", "/recharges", json=payment)
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["receipt_no"].startswith("WW") and receipt["channel"] == "counter"
    assert (receipt["to_dues_paise"], receipt["to_wallet_paise"], receipt["balance_after_paise"]) == (
        20_000,
        30_000,
        30_000,
    )
    assert (receipt["dues_remaining_paise"], receipt["first_recharge"], receipt["replayed"]) == (
        0,
        True,
        False,
    )
    assert receipt["taken_by"] == "service-centre.user"  # the executive who took the cash

    before = table_counts(api.ctx.store)
    api.clock.advance(minutes=1)
    again = desk("service_centre", "POST", "/recharges", json=payment)
    assert again.status_code == 200, again.text
    assert again.json() == {**receipt, "replayed": True}
    other_amount = desk("service_centre", "POST", "/recharges", json={**payment, "amount_paise": 60_000})
    refused(other_amount, 409, "duplicate_conflict")
    other_connection = {**payment, "service_no": other_service_no}
    refused(desk("service_centre", "POST", "/recharges", json=other_connection), 409, "duplicate_conflict")
    assert table_counts(api.ctx.store) == before
    assert desk("service_centre", "GET", f"/connections/{service_no}").json()["balance_paise"] == 30_000

    fresh = {"service_no": other_service_no, "amount_paise": 40_000, "reference": "CTR-0002"}
    refused(desk("service_centre", "POST", "/recharges", json=fresh), 422, "first_recharge_below_minimum")
    naive = {**fresh, "amount_paise": 50_000, "paid_at": "2025-06-02T08:00:00"}
    refused(desk("service_centre", "POST", "/recharges", json=naive), 422, "request_invalid")
    future = {**fresh, "amount_paise": 50_000, "paid_at": (api.clock.now + dt.timedelta(hours=1)).isoformat()}
    refused(desk("service_centre", "POST", "/recharges", json=future), 422, "paid_at_in_future")
    earlier = (api.clock.now - dt.timedelta(minutes=20)).isoformat()
    paid = desk(
        "service_centre", "POST", "/recharges", json={**fresh, "amount_paise": 50_000, "paid_at": earlier}
    )
    assert paid.status_code == 201 and dt.datetime.fromisoformat(
        paid.json()["paid_at"]
    ) == dt.datetime.fromisoformat(earlier)
    assert table_counts(api.ctx.store)["recharges"] == before["recharges"] + 1
