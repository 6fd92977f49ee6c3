"""The postpaid bill PDF (DOMAIN.md §8): real bills from a connection that switched from prepaid
with money in its wallet (an advance on the first bill), paid part of it, and got a second bill with
arrears; their figures in the text of both languages, the Telugu shaped, and PNG images under
var/test-bills/ for a reviewer to look at."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess

import pypdf
import pytest
import sqlalchemy as sa

from tests.billing.conftest import at
from tests.billing.test_pdf import IMAGES, TELUGU, contains, shaped, telugu_runs
from tests.conftest import NOW, AddConnection
from wattwallet.billing import _labels, deposits, mode_switch, postpaid_payments
from wattwallet.billing import service as bills
from wattwallet.context import Context
from wattwallet.domain import money
from wattwallet.domain import readings as reading_rules
from wattwallet.lifecycle import daily_cycle, readings
from wattwallet.store import schema
from wattwallet.wallet import recharges

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # rendering does not depend on the store

JUNE, JULY = bills.Month(dt.date(2025, 6, 1)), bills.Month(dt.date(2025, 7, 1))
SWITCH_ON = dt.date(2025, 6, 10)
PAID_ON = dt.date(2025, 7, 5)
# Labels every postpaid bill prints, whatever its figures.
ALWAYS = (
    "pp_title",
    "bill_no",
    "issue_date",
    "consumer",
    "verification",
    "pp_payable",
    "pp_due_on",
    "pp_arrears",
    "pp_charges_month",
    "pp_advance_applied",
    "pp_paid_in_month",
    "pp_deposit",
    "pp_period",
    "pp_charges",
    "pp_charges_total",
    "pp_arrears_items",
    "pp_how_to_pay",
    "grievance",
)


@pytest.fixture
def postpaid_bills(ctx: Context, add_connection: AddConnection) -> tuple[bills.Bill, bills.Bill]:
    return postpaid_history(ctx, add_connection(language="te", consumer_name="లక్ష్మి దేవి"))


def postpaid_history(ctx: Context, service_no: str) -> tuple[bills.Bill, bills.Bill]:
    """A prepaid connection registered on June 2 switched to postpaid on June 10 with ₹500 less
    a week's charges in its wallet: June's bill (that advance set against it), ₹300 paid on July 5,
    July's bill (June's rest as arrears). The readings run to August 1."""
    recharges.recharge_wallet(
        ctx,
        events=[],
        service_no=service_no,
        channel="portal",
        reference=f"FIRST-{service_no}",
        amount_paise=50_000,
        paid_at=None,
        now=NOW + dt.timedelta(minutes=5),
    )
    mode_switch.request(ctx, service_no=service_no, to="postpaid", effective_on=SWITCH_ON, now=NOW)
    deposits.set_deposit(ctx, service_no=service_no, amount_paise=150_000, now=NOW, by="test")
    with ctx.store.read() as conn:
        meter = conn.execute(
            sa.select(schema.meters.c.serial).where(schema.meters.c.service_no == service_no)
        ).scalar_one()
    register, day = 0, dt.date(2025, 6, 3)
    while day <= dt.date(2025, 8, 1):
        register += 6 + day.day % 5
        reading = reading_rules.parse(meter_serial=meter, read_at=at(day, 0, 15), kwh=register)
        readings.record(ctx, [reading], now=at(day, 0, 16))
        daily_cycle.run(ctx, now=at(day, 6))
        mode_switch.run_due(ctx, now=at(day, 6, 30))
        if day.day == 1:
            bills.run_month(ctx, month=bills.Month(day).previous(), now=at(day, 7))
        if day == PAID_ON:
            postpaid_payments.pay(
                ctx,
                service_no=service_no,
                amount_paise=30_000,
                channel="counter",
                reference="PAY-1",
                now=at(day, 12),
            )
        day += dt.timedelta(days=1)
    june = bills.show(ctx, service_no=service_no, month=JUNE)
    july = bills.show(ctx, service_no=service_no, month=JULY)
    assert june.mode == july.mode == "postpaid"
    return june, july


def text_of(data: bytes) -> str:
    return "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_the_bills_have_what_the_pdf_must_show(postpaid_bills: tuple[bills.Bill, bills.Bill]) -> None:
    """The history gives the cases the page must print: an advance used, arrears, a payment."""
    june, july = (b.content for b in postpaid_bills)
    assert june["advance_applied"] > 0 and june["payable"] > 0 and june["arrears"] == 0
    assert july["arrears"] == june["payable"] - 30_000 and july["paid_in_month"] == 30_000
    assert july["arrears_items"] == [[postpaid_bills[0].bill_no, july["arrears"]]]


def test_the_pdf_text_carries_the_bills_figures(
    ctx: Context, postpaid_bills: tuple[bills.Bill, bills.Bill]
) -> None:
    for bill in postpaid_bills:
        c = bill.content
        assert sum(paise for _, paise in c["components"]) == c["charges"]
        for language in ("en", "te"):
            text = text_of(bills.pdf(ctx, bill, language=language))
            for figure in (
                bill.bill_no,
                bill.service_no,
                bill.verification_code,
                c["meter"],
                money.inr(c["payable"]),
                money.inr(c["charges"]),
                money.inr(c["arrears"]),
                money.inr(c["advance_applied"]),
                money.inr(c["paid_in_month"]),
                money.inr(c["deposit"]),
                f"{c['units_wh'] / 1000:,.2f}",
                *(money.inr(paise) for _, paise in c["components"]),
                *(money.inr(owed) for _, owed in c["arrears_items"]),
            ):
                assert figure in text, f"{figure} not in the {language} PDF of {bill.bill_no}"
    june, july = postpaid_bills
    english = text_of(bills.pdf(ctx, july, language="en"))
    assert "Postpaid bill" in english and "Net payable" in english and "1912" in english
    assert "Pay by" in english and "16 Aug 2025" in english  # the due date, 15 days after issue
    assert f"Bill of Jun 2025 ({june.bill_no})" in english  # the arrears item, by month
    assert "Energy charge, units 0–30" in english and "Ombudsman" in english


def test_telugu_is_shaped_as_harfbuzz_shapes_it_with_the_bundled_font(
    ctx: Context, postpaid_bills: tuple[bills.Bill, bills.Bill]
) -> None:
    runs = telugu_runs(bills.pdf(ctx, postpaid_bills[1], language="te"))
    assert runs, "no text in the bundled Telugu font: the page fell back to another font"
    assert all(0 not in run for run in runs), "a .notdef glyph (a box) in the Telugu text"
    words = {w for key in ALWAYS for w in _labels.LABELS[key]["te"].split() if TELUGU.search(w)}
    pieces = {p for w in words for p in re.split(r"[^\u0C00-\u0C7F\u200C\u200D]+", w) if TELUGU.search(p)}
    missing = [
        piece
        for piece in sorted(pieces)
        if not any(contains(run, shaped(piece, w)) for run in runs for w in ("normal", "bold"))
    ]
    assert not missing, f"Telugu words not shaped as HarfBuzz shapes them: {missing}"


def test_a_prepaid_label_never_shows_on_a_postpaid_bill(
    ctx: Context, postpaid_bills: tuple[bills.Bill, bills.Bill]
) -> None:
    english = text_of(bills.pdf(ctx, postpaid_bills[0], language="en"))
    for key in ("title", "wallet", "how_to_recharge", "closing_balance"):
        assert _labels.LABELS[key]["en"] not in english


def test_each_language_renders_to_images_for_review(
    ctx: Context, postpaid_bills: tuple[bills.Bill, bills.Bill]
) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (poppler-utils) is missing: scripts/bootstrap.sh installs it")
    IMAGES.mkdir(parents=True, exist_ok=True)
    for language in ("en", "te"):
        name = f"postpaid-{language}"
        pdf = IMAGES / f"{name}.pdf"
        pdf.write_bytes(bills.pdf(ctx, postpaid_bills[1], language=language))
        for old in IMAGES.glob(f"{name}-*.png"):
            old.unlink()
        subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf), str(IMAGES / name)], check=True)
        pages = sorted(IMAGES.glob(f"{name}-*.png"))
        assert pages and all(p.stat().st_size > 10_000 for p in pages)
