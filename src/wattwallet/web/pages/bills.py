"""Bills: the signed-in consumer's monthly e-bills (prepaid statements and postpaid bills with what to
pay by when), newest first, each as a PDF in English or Telugu, served under the session.
Everything comes from `billing.service` (the bills' only public API)."""

from __future__ import annotations

from starlette.responses import Response

from wattwallet.billing import service as bills
from wattwallet.domain import errors
from wattwallet.messaging import formatting
from wattwallet.web import base, i18n

KNOWN = {
    "bill_month_invalid": i18n.N_("That is not a month. A bill's month is written like 2025-06."),
    "bill_language_invalid": i18n.N_("A bill is in English (en) or Telugu (te)."),
    "bill_mode_invalid": i18n.N_("A bill is prepaid or postpaid."),
}


def show(page: base.Page, *, error: str | None = None, status: int = 200) -> Response:
    assert page.service_no is not None
    found = sorted(
        bills.listing(page.rt.ctx, service_no=page.service_no),
        key=lambda b: (b.month.first, b.revision),
        reverse=True,
    )
    # A month with a switch has a prepaid statement and a postpaid bill: their links name which.
    modes: dict[str, set[str]] = {}
    for b in found:
        modes.setdefault(str(b.month), set()).add(b.mode)
    rows = [
        {
            "bill": b,
            "month": f"{b.month}",
            "month_name": f"{formatting.MONTHS[page.lang][b.month.first.month - 1]} {b.month.first.year}",
            "replaces": bills.replaces_bill_no(b),
            "both": len(modes[str(b.month)]) > 1,
        }
        for b in found
    ]
    return base.render(page, "bills.html", status=status, rows=rows, error=error)


def pdf(page: base.Page) -> Response:
    assert page.service_no is not None
    try:
        month = bills.parse_month(str(page.request.path_params.get("month", "")))
        language = bills.parse_language(page.query("language") or None)
        mode = bills.parse_mode(page.query("mode") or None)
    except errors.InvalidInput as exc:
        return show(page, error=base.problem_text(page, exc, KNOWN), status=400)
    bill = bills.show(page.rt.ctx, service_no=page.service_no, month=month, mode=mode)  # missing: 404
    chosen = language or bill.language
    data = bills.pdf(page.rt.ctx, bill, language=chosen)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{bill.bill_no}-{chosen}.pdf"'},
    )
