"""The Bills page in process, on SQLite and PostgreSQL: a month billed through the real daily cycle
and billing.service.run_month, listed newest first, each PDF in English and Telugu under the session;
a bad month or language said in the reader's language; another consumer's connection a plain 404."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.billing.conftest import JUNE, RUN_AT, Plan, simulate_june
from tests.conftest import AddConnection
from tests.web.test_pages import sign_in
from wattwallet.billing import service as bills


def billed_june(api: Api, add_connection: AddConnection, mobile: str, language: str = "en") -> str:
    number = add_connection(mobile=mobile, language=language)
    simulate_june(api.ctx, number, Plan(daily_kwh={n: 5 for n in range(3, 32)}))
    report = bills.run_month(api.ctx, month=JUNE, now=RUN_AT)
    assert report.created >= 1
    api.clock.now = RUN_AT
    return number


def test_bills_lists_the_month_and_serves_both_pdfs_under_the_session(
    api: Api, add_connection: AddConnection
) -> None:
    number = billed_june(api, add_connection, "+919812345601")
    bill = bills.show(api.ctx, service_no=number, month=JUNE)
    client = TestClient(api.client.app, follow_redirects=False)
    sign_in(api, client, number, "+919812345601")
    home = client.get(f"/c/{number}/")
    assert f'href="/c/{number}/bills"' in home.text
    page = client.get(f"/c/{number}/bills")
    assert page.status_code == 200 and 'aria-current="page">Bills' in page.text
    assert bill.bill_no in page.text and "Jun 2025" in page.text
    for language in ("en", "te"):
        link = f"/c/{number}/bills/2025-06.pdf?language={language}"
        assert link in page.text
        answer = client.get(link)
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
        assert answer.content.startswith(b"%PDF")
        assert f"{bill.bill_no}-{language}.pdf" in answer.headers["content-disposition"]
    # No session: to the sign-in page, no PDF.
    anonymous = TestClient(api.client.app, follow_redirects=False)
    assert anonymous.get(f"/c/{number}/bills/2025-06.pdf").status_code == 303


def test_a_bad_month_or_language_is_said_in_telugu_and_a_missing_bill_is_404(
    api: Api, add_connection: AddConnection
) -> None:
    number = billed_june(api, add_connection, "+919812345602", language="te")
    client = TestClient(api.client.app, follow_redirects=False)
    sign_in(api, client, number, "+919812345602")
    bad_month = client.get(f"/c/{number}/bills/2025-13.pdf")
    assert bad_month.status_code == 400 and 'lang="te"' in bad_month.text
    assert "అది నెల కాదు" in bad_month.text and 'role="alert"' in bad_month.text
    bad_language = client.get(f"/c/{number}/bills/2025-06.pdf?language=fr")
    assert bad_language.status_code == 400 and "తెలుగు (te)" in bad_language.text
    assert client.get(f"/c/{number}/bills/2025-05.pdf").status_code == 404
    page = client.get(f"/c/{number}/bills")
    assert "బిల్లులు" in page.text and "తెలుగులో PDF" in page.text


def test_another_consumers_bills_are_a_plain_404_and_no_bills_is_a_friendly_page(
    api: Api, add_connection: AddConnection
) -> None:
    theirs = billed_june(api, add_connection, "+919812345603")
    mine = add_connection(mobile="+919812345604")
    client = TestClient(api.client.app, follow_redirects=False)
    sign_in(api, client, mine, "+919812345604")
    empty = client.get(f"/c/{mine}/bills")
    assert empty.status_code == 200 and "No bills yet" in empty.text and ".pdf" not in empty.text
    unknown = client.get("/c/9999999999999/")
    for path in (f"/c/{theirs}/bills", f"/c/{theirs}/bills/2025-06.pdf?language=en"):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.status_code == unknown.status_code
        assert "Not found" in answer.text and "Jun 2025" not in answer.text
