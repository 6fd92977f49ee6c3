"""The bill as a PDF: an HTML page rendered by WeasyPrint with the bundled Noto fonts.

Pango and HarfBuzz shape the Telugu (conjuncts, vowel signs); the fonts ship in `billing/fonts`
(SIL OFL) and are the only ones the page names, so a bill looks the same on every machine. PDFs
are made on request and kept in a small in-process cache (a million a month are not worth
storing: the bill's data is what is kept).
"""

from __future__ import annotations

import collections
import datetime as dt
import html
import threading
from pathlib import Path
from typing import Any

from wattwallet.billing import _labels
from wattwallet.billing import _repository as repo
from wattwallet.billing import settings as bill_settings
from wattwallet.domain import clock, money
from wattwallet.messaging import formatting, templates

FONTS = Path(__file__).with_name("fonts")
FONT_FILES = {
    ("WattWallet Sans", "normal"): FONTS / "NotoSans-Regular.ttf",
    ("WattWallet Sans", "bold"): FONTS / "NotoSans-Bold.ttf",
    ("WattWallet Telugu", "normal"): FONTS / "NotoSansTelugu-Regular.ttf",
    ("WattWallet Telugu", "bold"): FONTS / "NotoSansTelugu-Bold.ttf",
}
CACHE_SIZE = 256

_CSS = """
@page { size: A4; margin: 14mm 14mm 16mm 14mm;
        @bottom-center { content: counter(page) " / " counter(pages); font-size: 8pt; color: #555; } }
html { font-family: "WattWallet Sans", "WattWallet Telugu"; font-size: 9.5pt; color: #111; }
html[lang=te] { font-family: "WattWallet Telugu", "WattWallet Sans"; line-height: 1.45; }
h1 { font-size: 15pt; margin: 0 0 2pt 0; }
h2 { font-size: 10.5pt; margin: 9pt 0 3pt 0; border-bottom: 1pt solid #1b5e20; color: #1b5e20; }
.note { color: #444; font-size: 8.5pt; }
table { border-collapse: collapse; width: 100%; }
td, th { padding: 1.5pt 4pt; vertical-align: top; text-align: left; }
th { font-weight: bold; background: #eef3ee; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.total td { font-weight: bold; border-top: 1pt solid #333; }
.head td { padding: 1pt 4pt; }
.cols { display: flex; gap: 10pt; }
.cols > div { flex: 1; }
.box { border: 1pt solid #999; padding: 4pt 6pt; margin-top: 4pt; }
.code { font-weight: bold; font-size: 12pt; letter-spacing: 1pt; }
.revision { color: #b71c1c; font-weight: bold; }
svg { display: block; }
tr.gap td { padding-top: 7pt; }
table.due { margin: 6pt 0 2pt 0; border: 1.5pt solid #1b5e20; }
table.due td { width: 50%; padding: 5pt 8pt; background: #eef3ee; }
table.due .label { font-size: 10pt; font-weight: bold; color: #1b5e20; }
table.due .big { font-size: 17pt; font-weight: bold; }
"""


def _font_faces() -> str:
    return "\n".join(
        f'@font-face {{ font-family: "{family}"; font-weight: {weight}; src: url("{path.as_uri()}"); }}'
        for (family, weight), path in FONT_FILES.items()
    )


class _Renderer:
    """WeasyPrint's font configuration and the parsed stylesheet, made once per process."""

    def __init__(self) -> None:
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        self.weasyprint = weasyprint
        self.fonts = FontConfiguration()
        self.css = weasyprint.CSS(string=_font_faces() + _CSS, font_config=self.fonts)
        self.lock = threading.Lock()

    def pdf(self, page: str) -> bytes:
        with self.lock:  # Pango's font map is not shared safely across threads
            document = self.weasyprint.HTML(string=page, base_url=str(FONTS))
            result: bytes = document.write_pdf(stylesheets=[self.css], font_config=self.fonts)
        return result


_renderer: _Renderer | None = None
_cache: collections.OrderedDict[tuple[int, str, str], bytes] = collections.OrderedDict()
_cache_lock = threading.Lock()


def pdf(bill: repo.Bill, *, language: str, settings: bill_settings.BillSettings) -> bytes:
    global _renderer
    key = (bill.id, bill.content_hash, language)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    if _renderer is None:
        _renderer = _Renderer()
    made = _renderer.pdf(page(bill, language=language, settings=settings))
    with _cache_lock:
        _cache[key] = made
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return made


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# --- The page ------------------------------------------------------------------------------------


def page(bill: repo.Bill, *, language: str, settings: bill_settings.BillSettings) -> str:
    if bill.mode == "postpaid":
        return postpaid_page(bill, language=language, settings=settings)
    c = bill.content
    t = _Words(language)
    e = html.escape
    parts = _start(bill, t, "title", "discom_note")
    period = f"{_day(c['period']['from'], language)} – {_day(c['period']['to'], language)}"
    load_kw = f"{c['load_w'] / 1000:g} {t('kw')}"
    head = [
        ("bill_no", bill.bill_no),
        ("issue_date", formatting.day_text(clock.ist_date(bill.issued_at), language)),
        ("period", period),
        ("service_no", c["service_no"]),
        ("consumer", c["consumer_name"]),
        ("category", c["category"]),
        ("load", load_kw),
        ("meter", c["meter_serial"]),
    ]
    parts.append(_head_table(head, t))

    # Wallet summary and consumption, side by side.
    wallet_rows = [
        (t("opening_balance"), c["opening_balance"], ""),
        (t("recharged"), c["recharged"], "+"),
        (t("to_dues"), -c["to_dues"], "−" if c["to_dues"] else ""),
        (t("deducted"), -c["deducted"], "−" if c["deducted"] else ""),
    ]
    for adjustment in c["adjustments"]:
        label = _labels.ADJUSTMENTS.get(adjustment["kind"], {}).get(language, adjustment["memo"])
        wallet_rows.append((html.escape(label), adjustment["amount"], ""))
    wallet = "".join(
        f'<tr><td>{label}</td><td class="num">{_money(v)}</td></tr>' for label, v, _ in wallet_rows
    )
    closing = _money(c["closing_balance"])
    wallet += f'<tr class="total"><td>{t("closing_balance")}</td><td class="num">{closing}</td></tr>'
    registers = c["registers"]
    consumption = [
        (t("opening_register"), _register(registers["opening"], t, language)),
        (t("closing_register"), _register(registers["closing"], t, language)),
        (t("units"), f"{_units(c['units_wh'])} {t('units_short')}"),
        (t("days_billed"), str(c["days_billed"])),
        (t("adc"), f"{_units(c['average_daily_wh'])} {t('units_short')} · {_money(c['adc'])} {t('per_day')}"),
        (t("days_left"), "—" if c["days_left"] is None else str(c["days_left"])),
    ]
    cons_rows = "".join(f'<tr><td>{a}</td><td class="num">{e(b)}</td></tr>' for a, b in consumption)
    if c["catch_up_days"]:
        cons_rows += f'<tr><td colspan="2" class="note">{t("catch_up", n=str(c["catch_up_days"]))}</td></tr>'
    parts.append('<div class="cols">')
    parts.append(f"<div><h2>{t('wallet')}</h2><table>{wallet}</table></div>")
    parts.append(f"<div><h2>{t('consumption')}</h2><table>{cons_rows}</table></div>")
    parts.append("</div>")

    # Deductions by component.
    comp_rows = "".join(
        f"<tr><td>{e(_labels.component_name(item['component'], language))}</td>"
        f'<td class="num">{_money(item["amount"])}</td></tr>'
        for item in c["components"]
    )
    comp_rows += f'<tr class="total"><td>{t("total")}</td><td class="num">{_money(c["deducted"])}</td></tr>'
    parts.append(f"<h2>{t('charges')}</h2><table>{comp_rows}</table>")

    # Recharges.
    parts.append(f"<h2>{t('recharges')}</h2>")
    if c["recharges"]:
        header = (
            f"<tr><th>{t('date')}</th><th>{t('channel')}</th><th class='num'>{t('amount')}</th>"
            f"<th class='num'>{t('dues_col')}</th><th class='num'>{t('to_wallet')}</th></tr>"
        )
        body = "".join(
            f"<tr><td>{e(formatting.instant_text(dt.datetime.fromisoformat(r['paid_at']), language))}</td>"
            f"<td>{e(_channel(r['channel'], language))} · {e(r['reference'])}</td>"
            f'<td class="num">{_money(r["amount"])}</td><td class="num">{_money(r["to_dues"])}</td>'
            f'<td class="num">{_money(r["to_wallet"])}</td></tr>'
            for r in c["recharges"]
        )
        parts.append(f"<table>{header}{body}</table>")
    else:
        parts.append(f'<p class="note">{t("no_recharges")}</p>')

    # Dues, emergency credit, comparison.
    dues = c["dues"]
    dues_rows = [
        (t("dues_opening"), dues["opening"]),
        (t("dues_recovered"), dues["recovered"]),
        (t("dues_added"), dues["added"]),
    ]
    dues_html = "".join(f'<tr><td>{a}</td><td class="num">{_money(b)}</td></tr>' for a, b in dues_rows)
    dues_html += (
        f'<tr class="total"><td>{t("dues_left")}</td><td class="num">{_money(dues["closing"])}</td></tr>'
    )
    dues_html += (
        f'<tr><td>{t("emergency")}</td><td class="num">{_money(c["emergency_credit_used"])}</td></tr>'
    )
    compare = [
        (t("this_month"), {"units_wh": c["units_wh"], "amount": c["deducted"]}),
        (t("last_month"), c["last_month"]),
        (t("last_year"), c["last_year"]),
    ]
    units = t("units_short")
    compare_html = "".join(
        f'<tr><td>{a}</td><td class="num">{"—" if b is None else _units(b["units_wh"]) + " " + units}</td>'
        f'<td class="num">{"—" if b is None else _money(b["amount"])}</td></tr>'
        for a, b in compare
    )
    parts.append('<div class="cols">')
    parts.append(f"<div><h2>{t('dues')}</h2><table>{dues_html}</table></div>")
    parts.append(f"<div><h2>{t('compare')}</h2><table>{compare_html}</table></div>")
    parts.append("</div>")

    parts.append(f"<h2>{t('chart')}</h2>{_chart(c['daily'])}")
    if c["catch_up_days"]:
        parts.append(f'<div class="note">{t("chart_note")}</div>')

    # Short bills and holds.
    parts.append(f"<h2>{t('open_short_bills')}</h2>")
    if c["open_short_bills"]:
        body = "".join(
            f"<tr><td>{e(s['ref'])}</td><td>{e(s['reason'])}</td><td>{_day(s['raised_on'], language)}</td>"
            f'<td>{_day(s["deduction_on"], language)}</td><td class="num">{_money(s["amount"])}</td></tr>'
            for s in c["open_short_bills"]
        )
        header = (
            f"<tr><th></th><th>{t('reason')}</th><th>{t('raised_on')}</th><th>{t('deduction_on')}</th>"
            f"<th class='num'>{t('amount')}</th></tr>"
        )
        parts.append(f"<table>{header}{body}</table>")
    else:
        parts.append(f'<p class="note">{t("none")}</p>')
    if c["held"]:
        body = "".join(
            f"<tr><td>{_day(h['from'], language)} – {_day(h['to'], language)}</td>"
            f'<td class="num">{_units(h["wh"])} {t("units_short")}</td></tr>'
            for h in c["held"]
        )
        parts.append(f"<h2>{t('held')}</h2><table>{body}</table><p class='note'>{t('held_note')}</p>")

    # How to recharge, helpline, grievances, verification.
    how = settings.recharge_how if language == "en" else _labels.LABELS["recharge_te"]["te"]
    parts.append(_help_box(t("how_to_recharge"), how, t, settings))
    parts.append(_verification(bill, t, "footer"))
    parts.append("</body></html>")
    return "".join(parts)


def postpaid_page(bill: repo.Bill, *, language: str, settings: bill_settings.BillSettings) -> str:
    """The postpaid bill: the month's charges by component, arrears, advance, and what to pay by
    when (DOMAIN.md §8), on the same page as the prepaid statement."""
    c = bill.content
    t = _Words(language)
    e = html.escape
    parts = _start(bill, t, "pp_title", "pp_discom_note")
    if c["first_day"] is None:
        period = html.unescape(t("pp_no_days"))
    else:
        period = f"{_day(c['first_day'], language)} – {_day(c['last_day'], language)}"
    head = [
        ("bill_no", bill.bill_no),
        ("issue_date", html.unescape(_day(c["issued_on"], language))),
        ("service_no", c["service_no"]),
        ("consumer", c["consumer"]),
        ("category", c["category"]),
        ("load", f"{c['load_w'] / 1000:g} {html.unescape(t('kw'))}"),
        ("meter", c["meter"]),
        ("verification", bill.verification_code),
    ]
    parts.append(_head_table(head, t))

    # What to pay and by when, before anything else.
    parts.append(
        '<table class="due"><tr>'
        f'<td><div class="label">{t("pp_payable")}</div><div class="big">{_money(c["payable"])}</div></td>'
        f'<td><div class="label">{t("pp_due_on")}</div>'
        f'<div class="big">{_day(c["due_on"], language)}</div></td>'
        "</tr></table>"
    )
    if c["payable"] == 0:
        parts.append(f'<p class="note">{t("pp_nothing_to_pay")}</p>')

    # How the payable is made up, and the period billed, side by side.
    sums = [
        (t("pp_arrears"), _money(c["arrears"]), ""),
        (t("pp_charges_month"), _money(c["charges"]), "+"),
        (t("pp_advance_applied"), _money(c["advance_applied"]), "−"),
    ]
    account = "".join(_row(f"{sign} {label}", v) for label, v, sign in sums)
    account += _row(f"= {t('pp_payable')}", _money(c["payable"]), "total")
    extra = [
        (t("pp_paid_in_month"), c["paid_in_month"]),
        (t("pp_advance_left"), c["advance_left"]),
        (t("pp_deposit"), c["deposit"]),
    ]
    account += "".join(_row(a, _money(b), "gap" if i == 0 else "") for i, (a, b) in enumerate(extra))
    billed = [
        (t("pp_period"), period),
        (t("days_billed"), str(c["days"])),
        (t("units"), f"{_units(c['units_wh'])} {html.unescape(t('units_short'))}"),
    ]
    billed_rows = "".join(_row(a, e(b)) for a, b in billed)
    parts.append('<div class="cols">')
    parts.append(f"<div><h2>{t('pp_account')}</h2><table>{account}</table>")
    parts.append(f'<p class="note">{t("pp_account_note")}</p></div>')
    parts.append(f"<div><h2>{t('pp_billed')}</h2><table>{billed_rows}</table></div>")
    parts.append("</div>")

    # This month's charges by component.
    ordered = sorted(c["components"], key=lambda item: _component_order(item[0]))
    comp_rows = "".join(
        _row(e(_labels.component_name(component, language)), _money(paise)) for component, paise in ordered
    )
    comp_rows += _row(t("pp_charges_total"), _money(c["charges"]), "total")
    parts.append(f"<h2>{t('pp_charges')}</h2><table>{comp_rows}</table>")

    # Arrears, item by item.
    parts.append(f"<h2>{t('pp_arrears_items')}</h2>")
    if c["arrears_items"]:
        body = "".join(
            _row(e(_labels.arrears_item(label, language)), _money(owed)) for label, owed in c["arrears_items"]
        )
        body += _row(t("pp_arrears"), _money(c["arrears"]), "total")
        parts.append(f"<table>{body}</table>")
    else:
        parts.append(f'<p class="note">{t("pp_no_arrears")}</p>')

    how = settings.pay_how if language == "en" else _labels.LABELS["pay_te"]["te"]
    parts.append(_help_box(t("pp_how_to_pay"), how, t, settings))
    parts.append(_verification(bill, t, "pp_footer"))
    parts.append("</body></html>")
    return "".join(parts)


_COMPONENT_RANK = (
    "energy",
    "tod",
    "fixed_charge",
    "demand_charge",
    "customer_charge",
    "electricity_duty",
    "levy",
)


def _row(label: str, value: str, css: str = "") -> str:
    """A label and a figure (both HTML already)."""
    attr = f' class="{css}"' if css else ""
    return f'<tr{attr}><td>{label}</td><td class="num">{value}</td></tr>'


def _component_order(component: str) -> tuple[int, int, str]:
    """Energy slabs from the first unit up, then the fixed charges, duty and levies."""
    head, _, rest = component.partition(":")
    rank = _COMPONENT_RANK.index(head) if head in _COMPONENT_RANK else len(_COMPONENT_RANK)
    low = rest.split("-", 1)[0]
    return rank, int(low) if low.isdigit() else 0, component


def _start(bill: repo.Bill, t: _Words, title: str, note: str) -> list[str]:
    """The document's head, the title with the month, the DISCOM's note and any revision line."""
    e = html.escape
    parts = [f'<!doctype html><html lang="{t.language}"><head><meta charset="utf-8">']
    parts.append(f"<title>{e(bill.bill_no)}</title></head><body>")
    parts.append(f"<h1>{t(title)} · {e(_month(bill.month.first, t.language))}</h1>")
    parts.append(f'<div class="note">{t(note)}</div>')
    if bill.revision > 1:
        old = repo.bill_number(bill.service_no, bill.month, bill.revision - 1, mode=bill.mode)
        parts.append(f'<p class="revision">{t("revision", n=str(bill.revision), old=old)}</p>')
    return parts


def _head_table(head: list[tuple[str, str]], t: _Words) -> str:
    """The bill's particulars, two label/value pairs a row."""
    rows = "".join(
        f"<tr><th>{t(a)}</th><td>{html.escape(x)}</td><th>{t(b)}</th><td>{html.escape(y)}</td></tr>"
        for (a, x), (b, y) in zip(head[0::2], head[1::2], strict=True)
    )
    return f'<table class="head">{rows}</table>'


def _help_box(how_title: str, how: str, t: _Words, settings: bill_settings.BillSettings) -> str:
    """How to pay or recharge, the helpline and the grievance route (forum, then ombudsman)."""
    e = html.escape
    helpline = templates.Whitelisted().helpline
    ask = t("address_from_helpline", number=helpline)
    forum = e(settings.forum_address) if settings.forum_address else ask
    ombudsman = e(settings.ombudsman_address) if settings.ombudsman_address else ask
    return (
        '<div class="box">'
        f"<b>{how_title}</b>: {e(how)}<br><b>{t('helpline', number=helpline)}</b>"
        f"<br><b>{t('grievance')}</b>: {t('grievance_text')}<br>"
        f"1. {e(settings.forum_name)}, {forum}<br>"
        f"2. {e(settings.ombudsman_name)}, {ombudsman}"
        "</div>"
    )


def _verification(bill: repo.Bill, t: _Words, footer: str) -> str:
    return (
        f'<p>{t("verification")}: <span class="code">{html.escape(bill.verification_code)}</span>'
        f'<br><span class="note">{t(footer)} {html.escape(bill.content_hash[:16])}…</span></p>'
    )


class _Words:
    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, key: str, **values: str) -> str:
        text = _labels.LABELS[key][self.language]
        return html.escape(text.format(**values) if values else text)


def _channel(code: str, language: str) -> str:
    return _labels.CHANNELS.get(code, {}).get(language, code)


def _money(paise: int) -> str:
    return html.escape(money.inr(paise))


def _units(wh: int) -> str:
    return f"{wh / 1000:,.2f}"


def _day(iso: str, language: str) -> str:
    return html.escape(formatting.day_text(dt.date.fromisoformat(iso), language))


def _month(first: dt.date, language: str) -> str:
    return f"{formatting.MONTHS[language][first.month - 1]} {first.year}"


def _register(reading: dict[str, Any] | None, t: _Words, language: str) -> str:
    if reading is None:
        return html.unescape(t("not_read"))
    day = formatting.day_text(dt.date.fromisoformat(reading["date"]), language)
    return f"{reading['wh'] / 1000:,.3f} kWh ({day})"


def _chart(daily: list[list[Any]]) -> str:
    """Bars of the units of each billed day (inline SVG), catch-up days hatched. `daily` holds
    [day of the month, Wh, paise, caught up] per billed day."""
    if not daily:
        return '<svg width="500" height="20"></svg>'
    width, height, top = 500, 90, max(d[1] for d in daily) or 1
    step = width / 31  # a slot for every day of the month, so a gap shows as a gap
    bars = []
    for i, (day, wh, _paise, caught_up) in enumerate(daily):
        h = round(wh / top * (height - 14), 1)
        fill = "url(#late)" if caught_up else "#2e7d32"
        x = round((day - 1) * step + 1, 1)
        bars.append(
            f'<rect x="{x}" y="{height - 12 - h}" width="{round(step - 2, 1)}" height="{h}" fill="{fill}"/>'
        )
        if day % 5 == 0 or day == 1 or i == len(daily) - 1:
            bars.append(f'<text x="{x}" y="{height - 1}" font-size="7">{day}</text>')
    peak = f'<text x="{width - 2}" y="8" font-size="7" text-anchor="end">max {top / 1000:.1f} kWh</text>'
    pattern = (
        '<defs><pattern id="late" width="4" height="4" patternUnits="userSpaceOnUse">'
        '<rect width="4" height="4" fill="#c8e6c9"/><path d="M0,4 L4,0" stroke="#2e7d32" stroke-width="1"/>'
        "</pattern></defs>"
    )
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg">{pattern}{"".join(bars)}{peak}</svg>'
    )
