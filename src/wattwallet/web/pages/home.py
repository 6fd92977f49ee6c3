"""Home: balance, days left, emergency credit, state, dues, open short bills, alerts, the meter's last
reading; when disconnected, the amount needed to reconnect. A postpaid connection shows what is owed,
the due date of the oldest unpaid bill, advance, deposit and what is not billed yet instead of the
wallet; either shows a billing-mode switch still to come."""

from __future__ import annotations

import datetime as dt

from starlette.responses import Response

from wattwallet.billing import mode_switch, postpaid_payments
from wattwallet.consumers import account as account_views
from wattwallet.consumers import portal_views
from wattwallet.domain import clock, reconnection
from wattwallet.web import base


def home(page: base.Page) -> Response:
    assert page.service_no is not None
    rt = page.rt
    now = rt.now()
    number = page.service_no
    wallet = account_views.wallet(rt.ctx, service_no=number, now=now)
    bills = [b for b in account_views.short_bills(rt.ctx, service_no=number, limit=10) if b.status == "open"]
    alerts = account_views.alerts(rt.ctx, service_no=number, limit=3)
    meter = portal_views.meter_status(
        rt.ctx,
        service_no=number,
        now=now,
        stale_after=dt.timedelta(hours=page.portal.settings.meter_stale_hours),
    )
    postpaid = None
    if wallet.billing_mode == "postpaid":
        postpaid = postpaid_payments.account(rt.ctx, service_no=number)
    dues_on = [item.due_on for item in postpaid.unpaid if item.due_on is not None] if postpaid else []
    needed = 0
    if wallet.state == "disconnected" and postpaid is None:
        needed = reconnection.amount_needed(
            wallet_paise=wallet.balance, dues_paise=wallet.dues, rules=rt.ctx.policy
        )
    # After a recharge that reconnects: the tracker, followed from the home page for an hour.
    track = portal_views.recent_tracker(rt.ctx, service_no=number, now=now, within=dt.timedelta(hours=1))
    in_credit = wallet.balance < 0 and wallet.emergency_credit > 0
    return base.render(
        page,
        "home.html",
        wallet=wallet,
        bills=bills,
        alerts=alerts,
        meter=meter,
        needed=needed,
        in_credit=in_credit,
        now=now,
        track=track,
        postpaid=postpaid,
        oldest_due_on=min(dues_on) if dues_on else None,
        today=clock.ist_date(now),
        switch=mode_switch.pending(rt.ctx, service_no=number),
    )
