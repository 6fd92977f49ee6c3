"""Every recharge rule, rejection and idempotency case, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
import sqlalchemy as sa

from tests.conftest import AddConnection, table_counts, take_recharge
from wattwallet.consumers import registration
from wattwallet.context import Context
from wattwallet.domain import errors, money, policy, recharge, tariff
from wattwallet.ledger import postings, verify
from wattwallet.store import connections, schema
from wattwallet.wallet import dues, recharges
from wattwallet.wallet import views as wallets


def pay(
    ctx: Context,
    service_no: str,
    rupees: object,
    ref: str,
    *,
    channel: str = "portal",
    now: dt.datetime,
    paid_at: dt.datetime | None = None,
) -> recharges.Receipt:
    return take_recharge(
        ctx,
        service_no=service_no,
        channel=channel,
        reference=ref,
        amount_paise=money.parse_rupees(rupees),
        now=now,
        paid_at=paid_at,
    )


def assert_ledger_ok(ctx: Context) -> None:
    with ctx.store.read() as conn:
        report = verify.verify(conn)
    assert report.ok, report.discrepancies


def test_first_recharge_of_500_goes_to_the_wallet(ctx: Context, add_connection: AddConnection, now) -> None:
    sn = add_connection()
    receipt = pay(ctx, sn, 500, "PG-1", now=now)
    assert (receipt.amount, receipt.to_dues, receipt.to_wallet, receipt.balance) == (
        50_000,
        0,
        50_000,
        50_000,
    )
    assert receipt.first_recharge and not receipt.replayed
    assert receipt.receipt_no.startswith("WW")
    view = wallets.view(ctx, service_no=sn, now=now)
    assert view.balance == 50_000 and view.connection.first_recharge_done
    assert view.first_recharge_minimum is None
    assert_ledger_ok(ctx)


def test_first_recharge_below_500_is_refused_with_the_minimum(
    ctx: Context, add_connection: AddConnection, now
) -> None:
    sn = add_connection()
    before = table_counts(ctx.store)
    with pytest.raises(recharge.BelowFirstRechargeMinimum) as caught:
        pay(ctx, sn, "499.99", "PG-1", now=now)
    assert caught.value.code == "first_recharge_below_minimum"
    assert caught.value.details["minimum"] == "500.00"
    assert table_counts(ctx.store) == before
    assert wallets.view(ctx, service_no=sn, now=now).first_recharge_minimum == 50_000


def test_first_recharge_may_be_any_rupee_amount_above_the_minimum(
    ctx: Context, add_connection: AddConnection, now
) -> None:
    sn = add_connection()
    assert pay(ctx, sn, "512.75", "PG-1", now=now).balance == 51_275


def test_first_recharge_minimum_is_the_mandatory_charges_when_higher(
    ctx: Context, add_connection: AddConnection, now
) -> None:
    # LT-II, 12 kW: demand charge ₹75/kW/month = ₹900 > ₹500
    sn = add_connection(category="LT-II", load_kw="12")
    with pytest.raises(recharge.BelowFirstRechargeMinimum) as caught:
        pay(ctx, sn, 800, "PG-1", now=now)
    assert caught.value.details["minimum"] == "900.00"
    assert wallets.view(ctx, service_no=sn, now=now).first_recharge_minimum == 90_000
    assert pay(ctx, sn, 900, "PG-2", now=now).balance == 90_000


def test_later_recharges_in_multiples_of_100(ctx: Context, add_connection: AddConnection, now) -> None:
    sn = add_connection()
    pay(ctx, sn, 500, "PG-1", now=now)
    assert pay(ctx, sn, 100, "PG-2", now=now).balance == 60_000
    assert pay(ctx, sn, 250_000, "PG-3", now=now).balance == 25_060_000  # no upper limit
    before = table_counts(ctx.store)
    with pytest.raises(recharge.NotMultipleOf100) as not_multiple:
        pay(ctx, sn, 150, "PG-4", now=now)
    assert not_multiple.value.details["minimum"] == "200.00"
    with pytest.raises(recharge.BelowMinimum):
        pay(ctx, sn, 50, "PG-5", now=now)
    assert table_counts(ctx.store) == before
    assert_ledger_ok(ctx)


def test_dues_are_deducted_first_and_shown_on_the_receipt(
    ctx: Context, add_connection: AddConnection, now
) -> None:
    sn = add_connection(arrears_paise=70_000)
    first = pay(ctx, sn, 500, "PG-1", now=now)
    assert (first.to_dues, first.to_wallet, first.balance, first.dues_remaining) == (50_000, 0, 0, 20_000)
    second = pay(ctx, sn, 300, "PG-2", now=now)
    assert (second.to_dues, second.to_wallet, second.balance, second.dues_remaining) == (
        20_000,
        10_000,
        10_000,
        0,
    )
    third = pay(ctx, sn, 100, "PG-3", now=now)
    assert (third.to_dues, third.to_wallet) == (0, 10_000)
    assert_ledger_ok(ctx)


@pytest.mark.parametrize("rules", [policy.Policy(dues_max_share_percent=25)])
def test_a_setting_caps_the_share_of_each_recharge_going_to_dues(
    ctx: Context, add_connection: AddConnection, now
) -> None:
    sn = add_connection(arrears_paise=100_000)
    receipt = pay(ctx, sn, 800, "PG-1", now=now)
    assert (receipt.to_dues, receipt.to_wallet, receipt.dues_remaining) == (20_000, 60_000, 80_000)


def test_technical_adjustment_dues_are_recovered_like_arrears(
    ctx: Context, add_connection: AddConnection, now
) -> None:
    sn = add_connection()
    pay(ctx, sn, 500, "PG-1", now=now)
    added = dues.add(
        ctx,
        service_no=sn,
        kind="technical_adjustment",
        amount_paise=12_345,
        reason="meter replaced: units not billed",
        reference="ADJ-1",
        now=now,
    )
    assert added.dues_total == 12_345 and not added.replayed
    again = dues.add(
        ctx,
        service_no=sn,
        kind="technical_adjustment",
        amount_paise=12_345,
        reason="meter replaced: units not billed",
        reference="ADJ-1",
        now=now,
    )
    assert again.replayed and again.dues_total == 12_345
    with pytest.raises(dues.DuesReferenceConflict):
        dues.add(
            ctx,
            service_no=sn,
            kind="technical_adjustment",
            amount_paise=1,
            reason="x",
            reference="ADJ-1",
            now=now,
        )
    receipt = pay(ctx, sn, 200, "PG-2", now=now)
    assert (receipt.to_dues, receipt.to_wallet, receipt.balance) == (12_345, 7_655, 57_655)
    assert_ledger_ok(ctx)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"kind": "fine"}, dues.DuesKindInvalid),
        ({"amount_paise": 0}, money.AmountNotPositive),
        ({"reason": "  "}, dues.ReasonMissing),
        ({"reference": "bad ref"}, recharge.ReferenceInvalid),
        ({"service_no": "9999999999999"}, postings.UnknownWallet),
        ({"service_no": "12AB"}, errors.InvalidInput),
    ],
)
def test_bad_dues_write_nothing(ctx: Context, add_connection: AddConnection, now, kwargs, error) -> None:
    sn = add_connection()
    call = {
        "service_no": sn,
        "kind": "arrears",
        "amount_paise": 100,
        "reason": "r",
        "reference": "D-1",
    } | kwargs
    before = table_counts(ctx.store)
    with pytest.raises(error):
        dues.add(ctx, now=now, **call)
    assert table_counts(ctx.store) == before


def test_the_same_request_twice_is_one_recharge(ctx: Context, add_connection: AddConnection, now) -> None:
    sn = add_connection()
    first = pay(ctx, sn, 500, "PG-1", now=now)
    later = now + dt.timedelta(hours=1)
    pay(ctx, sn, 100, "PG-2", now=later)
    again = pay(ctx, sn, 500, "PG-1", now=later)
    assert again.replayed
    assert dataclasses.replace(again, replayed=False) == first  # the first result, balance then included
    assert wallets.view(ctx, service_no=sn, now=now).balance == 60_000
    assert_ledger_ok(ctx)


def test_the_same_reference_on_another_channel_is_another_recharge(
    ctx: Context, add_connection: AddConnection, now
) -> None:
    sn = add_connection()
    pay(ctx, sn, 500, "REF-1", channel="portal", now=now)
    assert not pay(ctx, sn, 100, "REF-1", channel="kiosk", now=now).replayed
    assert wallets.view(ctx, service_no=sn, now=now).balance == 60_000


@pytest.mark.parametrize("change", ["amount", "connection"])
def test_the_same_reference_for_something_else_is_a_conflict(
    ctx: Context, add_connection: AddConnection, now, change: str
) -> None:
    sn, other = add_connection(), add_connection()
    pay(ctx, sn, 500, "PG-1", now=now)
    before = table_counts(ctx.store)
    with pytest.raises(recharge.DuplicateConflict) as caught:
        if change == "amount":
            pay(ctx, sn, 600, "PG-1", now=now)
        else:
            pay(ctx, other, 500, "PG-1", now=now)
    assert caught.value.code == "duplicate_conflict"
    assert table_counts(ctx.store) == before


def test_a_rejected_recharge_can_be_retried_with_the_same_reference(
    ctx: Context, add_connection: AddConnection, now
) -> None:
    sn = add_connection()
    with pytest.raises(recharge.BelowFirstRechargeMinimum):
        pay(ctx, sn, 400, "PG-1", now=now)
    assert pay(ctx, sn, 500, "PG-1", now=now).balance == 50_000


def _set_state(ctx: Context, sn: str, state: str) -> None:
    with ctx.store.write() as conn:
        c = schema.connections
        conn.execute(sa.update(c).where(c.c.service_no == sn).values(state=state))


def test_a_terminated_connection_cannot_be_recharged(
    ctx: Context, add_connection: AddConnection, now
) -> None:
    sn = add_connection()
    first = pay(ctx, sn, 500, "PG-1", now=now)
    _set_state(ctx, sn, "terminated")
    before = table_counts(ctx.store)
    with pytest.raises(recharge.ConnectionTerminated):
        pay(ctx, sn, 100, "PG-2", now=now)
    assert table_counts(ctx.store) == before
    assert pay(ctx, sn, 500, "PG-1", now=now) == dataclasses.replace(first, replayed=True)


def test_a_postpaid_connection_has_no_wallet_to_recharge(
    ctx: Context, add_connection: AddConnection, now
) -> None:
    sn = add_connection(mode="postpaid")
    with pytest.raises(recharge.ConnectionNotPrepaid):
        pay(ctx, sn, 500, "PG-1", now=now)


def test_a_connection_in_service_recharges_without_the_first_recharge_rule(
    ctx: Context, add_connection: AddConnection, now
) -> None:
    sn = add_connection(first_recharge_done=True, opening_balance_paise=-4_500)
    assert wallets.view(ctx, service_no=sn, now=now).balance == -4_500
    assert pay(ctx, sn, 100, "PG-1", now=now).balance == 5_500
    assert_ledger_ok(ctx)


def test_payment_time_is_kept_and_may_be_earlier_than_the_confirmation(
    ctx: Context, add_connection: AddConnection, now
) -> None:
    sn = add_connection()
    paid = now - dt.timedelta(minutes=9)
    receipt = pay(ctx, sn, 500, "PG-1", now=now, paid_at=paid)
    assert receipt.paid_at == paid and receipt.recorded_at == now
    with pytest.raises(recharges.PaidInFuture):
        pay(ctx, sn, 100, "PG-2", now=now, paid_at=now + dt.timedelta(seconds=1))


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"service_no": "9999999999999"}, "unknown_connection"),
        ({"service_no": "not-a-number"}, "service_number_invalid"),
        ({"channel": "bank"}, "unknown_channel"),
        ({"reference": ""}, "reference_invalid"),
        ({"reference": "x" * 200}, "reference_invalid"),
        ({"amount_paise": 0}, "amount_not_positive"),
        ({"amount_paise": -50_000}, "amount_not_positive"),
    ],
)
def test_bad_recharge_requests_get_a_specific_code_and_write_nothing(
    ctx: Context, add_connection: AddConnection, now, kwargs, code: str
) -> None:
    sn = add_connection()
    call = {"service_no": sn, "channel": "portal", "reference": "PG-1", "amount_paise": 50_000} | kwargs
    before = table_counts(ctx.store)
    with pytest.raises(errors.WattWalletError) as caught:
        recharges.recharge_wallet(ctx, now=now, **call)
    assert caught.value.code == code
    assert table_counts(ctx.store) == before


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("service_no", "12-34", "service_number_invalid"),
        ("consumer_name", "", "consumer_name_invalid"),
        ("category", "LT-IX", "unknown_category"),
        ("load_kw", "0", "load_invalid"),
        ("load_kw", "abc", "load_invalid"),
        ("load_kw", "1.0005", "load_invalid"),
        ("mode", "prepay", "billing_mode_invalid"),
        ("mobile", "+914023456789", "phone_not_mobile"),
        ("mobile", "+14155552671", "phone_not_indian"),
        ("mobile", "12", "phone_malformed"),
        ("language", "hi", "language_invalid"),
        ("meter_serial", "!", "meter_serial_invalid"),
        ("register_kwh", "-1", "register_invalid"),
    ],
)
def test_bad_connection_fields_get_a_specific_code_and_write_nothing(
    ctx: Context, add_connection: AddConnection, field: str, value: str, code: str
) -> None:
    before = table_counts(ctx.store)
    with pytest.raises(errors.WattWalletError) as caught:
        add_connection(**{field: value})
    assert caught.value.code == code
    assert table_counts(ctx.store) == before


def test_duplicate_connection_or_meter_is_refused(ctx: Context, add_connection: AddConnection) -> None:
    sn = add_connection(meter_serial="SM-A")
    before = table_counts(ctx.store)
    with pytest.raises(registration.ConnectionExists):
        add_connection(service_no=sn, meter_serial="SM-B")
    with pytest.raises(registration.MeterInUse):
        add_connection(meter_serial="SM-A")
    assert table_counts(ctx.store) == before


def test_connection_is_stored_as_registered(ctx: Context, add_connection: AddConnection, now) -> None:
    sn = add_connection(mobile="098765 43210", language="te", load_kw="3.5", category="LT-II")
    with ctx.store.read() as conn:
        row = connections.get(conn, sn)
    assert (row.mobile, row.language.value, str(row.load_kw), row.category, row.relay) == (
        "+919876543210",
        "te",
        "3.5",
        "LT-II",
        "closed",
    )


def test_unknown_category_is_an_error_before_anything_is_written(ctx: Context) -> None:
    with pytest.raises(tariff.UnknownCategory):
        ctx.tariffs.category("LT-IX", on=dt.date(2025, 6, 1))
