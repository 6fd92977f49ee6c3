"""Home: balance, days left, emergency credit, state, dues, open short bills, alerts, the meter's last
reading; when disconnected, the amount needed to reconnect."""

from __future__ import annotations

import datetime as dt

from starlette.responses import Response

from wattwallet.consumers import account as account_views
from wattwallet.consumers import portal_views
from wattwallet.domain import reconnection
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
    needed = 0
    if wallet.state == "disconnected":
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
    )
