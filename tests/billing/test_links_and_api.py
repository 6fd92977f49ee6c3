"""The SMS link opens exactly its bill until it expires; the consumer sees only their own bills;
staff look bills up and reprint them by role. Bad input: specific errors, nothing written."""

from __future__ import annotations

import datetime as dt
import io
import re

import pypdf
import pytest
import sqlalchemy as sa

from tests.api.conftest import Api, bearer
from tests.billing.conftest import JUNE, RUN_AT, Plan, simulate_june
from tests.conftest import AddConnection, table_counts
from wattwallet.billing import _links
from wattwallet.billing import service as bills
from wattwallet.context import Context
from wattwallet.store import schema


def bill_of(ctx: Context, add_connection: AddConnection, **overrides: object) -> bills.Bill:
    service_no = add_connection(**overrides)
    simulate_june(ctx, service_no, Plan(daily_kwh={n: 6 for n in range(3, 32)}))
    bills.run_month(ctx, month=JUNE, now=RUN_AT)
    return bills.show(ctx, service_no=service_no, month=JUNE)


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def sms_token(ctx: Context, service_no: str) -> str:
    with ctx.store.read() as conn:
        text = conn.execute(
            sa.select(schema.notifications.c.sms_text).where(
                schema.notifications.c.service_no == service_no, schema.notifications.c.kind == "bill_ready"
            )
        ).scalar_one()
    found = re.search(r"/api/v1/bills/([A-Za-z0-9_-]{23})\.pdf$", text)
    assert found, text
    return found.group(1)


def test_the_sms_link_opens_its_bill_without_sign_in(api: Api, add_connection: AddConnection) -> None:
    bill = bill_of(api.ctx, add_connection, language="te")
    token = sms_token(api.ctx, bill.service_no)
    api.clock.now = RUN_AT + dt.timedelta(hours=1)
    answer = api.client.get(f"/api/v1/bills/{token}.pdf")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF") and bill.bill_no in pdf_text(answer.content)
    assert "no-store" in answer.headers.get("cache-control", "")


def test_an_expired_forged_or_other_link_is_one_404(api: Api, add_connection: AddConnection) -> None:
    first = bill_of(api.ctx, add_connection)
    second = bill_of(api.ctx, add_connection)
    token = sms_token(api.ctx, first.service_no)
    with api.ctx.store.read() as conn:
        secret = _links.key(conn, configured=None, now=RUN_AT)
    # Expired: the day after its last day.
    api.clock.now = RUN_AT + dt.timedelta(days=api.ctx.policy.bill_link_days + 1)
    expired = api.client.get(f"/api/v1/bills/{token}.pdf")
    api.clock.now = RUN_AT
    forged_key = _links.sign(b"not the key", bill_id=first.id, expires_on=dt.date(2030, 1, 1))
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    other_id = _links.sign(secret, bill_id=second.id + 1000, expires_on=dt.date(2030, 1, 1))
    answers = [
        expired,
        api.client.get(f"/api/v1/bills/{forged_key}.pdf"),
        api.client.get(f"/api/v1/bills/{altered}.pdf"),
        api.client.get(f"/api/v1/bills/{other_id}.pdf"),
        api.client.get("/api/v1/bills/short.pdf"),
    ]
    for answer in answers:
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] == "bill_link_invalid"
    assert len({a.json()["detail"] for a in answers}) == 1  # no hint which
    # A token names one bill: the second bill's own link opens the second, never the first.
    own = _links.sign(secret, bill_id=second.id, expires_on=dt.date(2030, 1, 1))
    opened = api.client.get(f"/api/v1/bills/{own}.pdf")
    text = pdf_text(opened.content)
    assert second.bill_no in text and first.bill_no not in text


def test_links_verify_exactly() -> None:
    secret = b"k" * 32
    token = _links.sign(secret, bill_id=42, expires_on=dt.date(2025, 8, 30))
    assert len(token) == _links.TOKEN_CHARS <= 30
    assert _links.verify(secret, token, today=dt.date(2025, 8, 30)) == 42
    assert _links.verify(secret, token, today=dt.date(2025, 8, 31)) is None
    assert _links.verify(b"x" * 32, token, today=dt.date(2025, 7, 1)) is None


def test_the_consumer_lists_and_downloads_only_their_own_bills(
    api: Api, add_connection: AddConnection
) -> None:
    mine = bill_of(api.ctx, add_connection, mobile="+919876500001")
    theirs = bill_of(api.ctx, add_connection, mobile="+919876500002")
    token = api.consumer_token(mine.service_no, "+919876500001")
    listed = api.client.get(f"/api/v1/me/connections/{mine.service_no}/bills", headers=bearer(token))
    assert listed.status_code == 200, listed.text
    [only] = listed.json()
    assert (only["bill_no"], only["amount_paise"]) == (mine.bill_no, mine.amount)
    pdf = api.client.get(
        f"/api/v1/me/connections/{mine.service_no}/bills/2025-06.pdf?language=te", headers=bearer(token)
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    for path in (f"{theirs.service_no}/bills", f"{theirs.service_no}/bills/2025-06.pdf"):
        other = api.client.get(f"/api/v1/me/connections/{path}", headers=bearer(token))
        assert other.status_code == 404 and other.json()["code"] == "connection_not_found"
    missing = api.client.get(
        f"/api/v1/me/connections/{mine.service_no}/bills/2025-05.pdf", headers=bearer(token)
    )
    assert missing.status_code == 404 and missing.json()["code"] == "bill_not_found"
    bad = api.client.get(
        f"/api/v1/me/connections/{mine.service_no}/bills/2025-06.pdf?language=hi", headers=bearer(token)
    )
    assert bad.status_code == 422


def test_staff_look_up_and_reprint_by_role(api: Api, add_connection: AddConnection) -> None:
    bill = bill_of(api.ctx, add_connection)
    helpline = bearer(api.staff_token("helpline"))
    field = bearer(api.staff_token("field"))
    base = f"/api/v1/staff/connections/{bill.service_no}/bills"
    assert api.client.get(base, headers=field).status_code == 403
    listed = api.client.get(base, headers=helpline)
    assert listed.status_code == 200 and listed.json()[0]["verification_code"] == bill.verification_code
    shown = api.client.get(f"{base}/2025-06", headers=helpline).json()
    assert shown["intact"] is True and shown["statement"]["deducted"] == bill.amount
    assert shown["link"].startswith("https://bills.apspdcl.in/api/v1/bills/")
    reprint = api.client.get(f"{base}/2025-06.pdf?language=en", headers=helpline)
    assert reprint.status_code == 200 and reprint.content.startswith(b"%PDF")
    found = api.client.get(f"/api/v1/staff/bills/verify/{bill.verification_code}", headers=helpline)
    assert [b["bill_no"] for b in found.json()] == [bill.bill_no]


def test_bad_requests_name_their_error_and_write_nothing(ctx: Context, add_connection: AddConnection) -> None:
    bill = bill_of(ctx, add_connection)
    before = table_counts(ctx.store)
    cases = [
        (
            lambda: bills.run_month(ctx, month=bills.Month(dt.date(2025, 7, 1)), now=RUN_AT),
            "bill_month_not_over",
        ),
        (lambda: bills.parse_month("2025-13"), "bill_month_invalid"),
        (lambda: bills.parse_month("June"), "bill_month_invalid"),
        (
            lambda: bills.run_one(ctx, service_no="9999999999999", month=JUNE, now=RUN_AT),
            "unknown_connection",
        ),
        (
            lambda: bills.run_one(
                ctx, service_no=bill.service_no, month=bills.Month(dt.date(2025, 5, 1)), now=RUN_AT
            ),
            "bill_month_before_connection",
        ),
        (lambda: bills.parse_language("hi"), "bill_language_invalid"),
        (
            lambda: bills.show(ctx, service_no=bill.service_no, month=bills.Month(dt.date(2025, 5, 1))),
            "bill_not_found",
        ),
        (lambda: bills.open_link(ctx, "x" * 23, now=RUN_AT), "bill_link_invalid"),
    ]
    for call, code in cases:
        with pytest.raises(bills.errors.WattWalletError) as raised:
            call()
        assert raised.value.code == code
    assert table_counts(ctx.store) == before
