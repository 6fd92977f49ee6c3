"""Usage: daily kWh and ₹ for the last 30 or 90 billed days, and the half-hourly load of a chosen day."""

from __future__ import annotations

import datetime as dt

from starlette.responses import Response

from wattwallet.consumers import account as account_views
from wattwallet.consumers import portal_views
from wattwallet.domain import clock, money
from wattwallet.messaging import formatting
from wattwallet.web import base, charts

PERIODS = (30, 90)


def usage(page: base.Page) -> Response:
    assert page.service_no is not None
    rt = page.rt
    days = 90 if page.query("days") == "90" else 30
    found = account_views.deductions(rt.ctx, service_no=page.service_no, limit=days)
    daily = list(reversed(found))  # oldest first, as a chart reads
    every = max(1, len(daily) // 6)
    kwh_chart = charts.bars(
        [
            charts.Bar(
                label=f"{d.day.day}" if n % every == 0 else "",
                value=d.wh / 1000,
                title=(
                    f"{formatting.day_text(d.day, page.lang)}: {d.wh / 1000:.2f} kWh, {money.inr(d.amount)}"
                ),
            )
            for n, d in enumerate(daily)
        ],
        title=page._("Units (kWh) a day, last %(days)s days", days=days),
        unit="kWh",
    )
    chosen = _day(page.query("day")) or (
        found[0].day if found else clock.ist_date(rt.now()) - dt.timedelta(days=1)
    )
    slots = portal_views.half_hourly(rt.ctx, service_no=page.service_no, day=chosen)
    slot_rows = []
    slot_chart = None
    if slots is not None:
        slot_rows = [(f"{n // 2:02d}:{30 * (n % 2):02d}", wh) for n, wh in enumerate(slots)]
        slot_chart = charts.bars(
            [
                charts.Bar(label=t[:2] if n % 12 == 0 else "", value=wh / 1000, title=f"{t}: {wh} Wh")
                for n, (t, wh) in enumerate(slot_rows)
            ],
            title=page._("Half-hourly units (kWh) on %(day)s", day=formatting.day_text(chosen, page.lang)),
            unit="kWh",
        )
    return base.render(
        page,
        "usage.html",
        days=days,
        periods=PERIODS,
        daily=found,
        kwh_chart=kwh_chart,
        total_wh=sum(d.wh for d in found),
        total_paise=sum(d.amount for d in found),
        chosen=chosen,
        slot_rows=slot_rows,
        slot_chart=slot_chart,
    )


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None
