"""The bill PDF: Telugu shaped as HarfBuzz shapes it with the bundled font (no .notdef, no boxes),
the bill's figures in its text, and PNG images of both languages under var/test-bills/ for a
reviewer to look at (var/ is not in git)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest
import uharfbuzz as hb

from tests.billing.conftest import JUNE, RUN_AT, Plan, simulate_june
from tests.conftest import AddConnection
from wattwallet.billing import _labels, _render
from wattwallet.billing import service as bills
from wattwallet.context import Context
from wattwallet.domain import money

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # rendering does not depend on the store

IMAGES = Path(__file__).parents[2] / "var" / "test-bills"
TELUGU = re.compile(r"[\u0C00-\u0C7F]")
# Labels every bill prints, whatever its figures.
ALWAYS = (
    "title",
    "bill_no",
    "issue_date",
    "period",
    "consumer",
    "wallet",
    "opening_balance",
    "closing_balance",
    "charges",
    "total",
    "recharges",
    "dues",
    "dues_left",
    "emergency",
    "compare",
    "last_month",
    "last_year",
    "chart",
    "how_to_recharge",
    "grievance",
    "verification",
)


@pytest.fixture
def bill(ctx: Context, add_connection: AddConnection) -> bills.Bill:
    service_no = add_connection(language="te", consumer_name="లక్ష్మి దేవి")
    plan = Plan(daily_kwh={n: 3 + n % 7 for n in range(3, 32)}, recharges={10: 300}, short_bill=(5, 15_000))
    simulate_june(ctx, service_no, plan)
    bills.run_month(ctx, month=JUNE, now=RUN_AT)
    return bills.show(ctx, service_no=service_no, month=JUNE)


def telugu_runs(data: bytes) -> list[list[int]]:
    """The glyph ids of every text run the PDF shows in the bundled Telugu font."""
    reader = pypdf.PdfReader(io.BytesIO(data))
    runs: list[list[int]] = []
    for page in reader.pages:
        fonts = page["/Resources"]["/Font"]
        telugu = {
            name.lstrip("/") for name, f in fonts.items() if "Telugu" in str(f.get_object()["/BaseFont"])
        }
        content = page.get_contents().get_data().decode("latin-1")
        font = None  # the font set by the last Tf: it carries over to every TJ after it
        for found in re.finditer(r"/(\S+) [\d.]+ Tf|\[(.*?)\] TJ", content, flags=re.S):
            if found.group(1) is not None:
                font = found.group(1)
            elif font in telugu:
                hexes = re.findall(r"<([0-9a-fA-F]+)>", found.group(2))
                runs.append([int(h, 16) for group in hexes for h in _pairs(group)])
    return runs


def _pairs(hexes: str) -> list[str]:
    return [hexes[i : i + 4] for i in range(0, len(hexes), 4)]


def shaped(text: str, weight: str = "normal") -> list[int]:
    face = hb.Face(hb.Blob.from_file_path(str(_render.FONT_FILES[("WattWallet Telugu", weight)])))
    buf = hb.Buffer()
    buf.add_str(text)
    buf.guess_segment_properties()
    hb.shape(hb.Font(face), buf)
    glyphs = [info.codepoint for info in buf.glyph_infos]
    # HarfBuzz shows a zero-width non-joiner as an invisible space glyph; Pango drops it from the
    # output (it is default-ignorable). A piece holds no real space, so its space glyphs are those.
    space = hb.Font(face).get_nominal_glyph(ord(" "))
    return [g for g in glyphs if g != space] if " " not in text else glyphs


def contains(run: list[int], part: list[int]) -> bool:
    return any(run[i : i + len(part)] == part for i in range(len(run) - len(part) + 1))


def test_telugu_is_shaped_as_harfbuzz_shapes_it_with_the_bundled_font(ctx: Context, bill: bills.Bill) -> None:
    data = bills.pdf(ctx, bill, language="te")
    runs = telugu_runs(data)
    assert runs, "no text in the bundled Telugu font: the page fell back to another font"
    assert all(0 not in run for run in runs), "a .notdef glyph (a box) in the Telugu text"
    words = {w for key in ALWAYS for w in _labels.LABELS[key]["te"].split() if TELUGU.search(w)}
    words |= {"లక్ష్మి", "దేవి"}
    missing = []
    pieces = {p for w in words for p in re.split(r"[^\u0C00-\u0C7F\u200C\u200D]+", w) if TELUGU.search(p)}
    for clean in sorted(pieces):
        word = clean
        # Headings and table heads are bold: either weight's shaping, as long as one is there.
        if not any(contains(run, shaped(clean, w)) for run in runs for w in ("normal", "bold")):
            missing.append(word)
        assert 0 not in shaped(clean)
    assert not missing, f"Telugu words not shaped as HarfBuzz shapes them: {missing}"
    # Conjuncts really formed: క్ష (ka + virama + ssa) is not three separate glyphs in a row.
    assert shaped("క్ష") != [shaped("క")[0], shaped("్")[0], shaped("ష")[0]]


def test_the_pdf_text_carries_the_bills_figures(ctx: Context, bill: bills.Bill) -> None:
    c = bill.content
    for language in ("en", "te"):
        text = "".join(
            p.extract_text()
            for p in pypdf.PdfReader(io.BytesIO(bills.pdf(ctx, bill, language=language))).pages
        )
        for figure in (
            bill.bill_no,
            bill.service_no,
            bill.verification_code,
            money.inr(c["opening_balance"]),
            money.inr(c["recharged"]),
            money.inr(c["deducted"]),
            money.inr(c["closing_balance"]),
            *(money.inr(x["amount"]) for x in c["components"]),
        ):
            assert figure in text, f"{figure} not in the {language} PDF"
    english = "".join(
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(bills.pdf(ctx, bill, language="en"))).pages
    )
    assert "Short-bill deductions" in english and "Total deducted" in english and "1912" in english


def test_each_language_renders_to_images_for_review(ctx: Context, bill: bills.Bill) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (poppler-utils) is missing: scripts/bootstrap.sh installs it")
    IMAGES.mkdir(parents=True, exist_ok=True)
    for language in ("en", "te"):
        pdf = IMAGES / f"bill-{language}.pdf"
        pdf.write_bytes(bills.pdf(ctx, bill, language=language))
        for old in IMAGES.glob(f"bill-{language}-*.png"):
            old.unlink()
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", str(pdf), str(IMAGES / f"bill-{language}")], check=True
        )
        pages = sorted(IMAGES.glob(f"bill-{language}-*.png"))
        assert pages and all(p.stat().st_size > 10_000 for p in pages)


def test_renders_are_cached_and_the_cache_is_keyed_by_content_and_language(
    ctx: Context, bill: bills.Bill
) -> None:
    _render.clear_cache()
    first = bills.pdf(ctx, bill, language="en")
    assert bills.pdf(ctx, bill, language="en") is first
    assert bills.pdf(ctx, bill, language="te") is not first
    assert bills.pdf(ctx, bill) == bills.pdf(ctx, bill, language="te")  # the consumer's language
