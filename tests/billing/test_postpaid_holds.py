"""Held consumption on a postpaid connection: released, it is owed on the next bill (not taken from
a wallet the connection does not use), and the ledger still balances item by item."""

from __future__ import annotations

import datetime as dt

from tests.conftest import AddConnection
from wattwallet.billing import postpaid_payments
from wattwallet.context import Context
from wattwallet.domain import clock
from wattwallet.domain import readings as reading_rules
from wattwallet.ledger import verify
from wattwallet.lifecycle import daily_cycle, holds, readings
from wattwallet.store import connections


def test_released_consumption_of_a_postpaid_connection_is_owed_on_its_bill(
    ctx: Context, add_connection: AddConnection, now: dt.datetime
) -> None:
    sn = add_connection(mode="postpaid", meter_serial="SMHOLD01")
    with ctx.store.read() as conn:
        assert connections.get(conn, sn).mode.value == "postpaid"
    day = clock.ist_date(now) + dt.timedelta(days=1)
    read_at = dt.datetime.combine(day, dt.time(0, 15), tzinfo=clock.IST)
    # 400 kWh in a day on a 2 kW connection: implausible, held for staff.
    readings.record(
        ctx, [reading_rules.parse(meter_serial="SMHOLD01", read_at=read_at, kwh=400)], now=read_at
    )
    daily_cycle.run(ctx, now=read_at + dt.timedelta(hours=6))
    [held] = holds.listing(ctx)
    before = postpaid_payments.account(ctx, service_no=sn)
    released = holds.release(
        ctx, hold_id=held.id, by="billing.officer", note="meter checked", now=read_at + dt.timedelta(hours=8)
    )
    after = postpaid_payments.account(ctx, service_no=sn)
    assert released.deducted > 0 and released.balance == 0  # the wallet is untouched
    assert after.outstanding == before.outstanding + released.deducted
    assert [item.label for item in after.unpaid][-1].startswith("held consumption")
    with ctx.store.read() as conn:
        report = verify.verify(conn)
    assert report.ok, report.discrepancies
