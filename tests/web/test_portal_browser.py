"""The consumer's side in a real browser: sign in by keyboard, change the mobile by OTP to the new
number, recharge through the stand-in checkout with the tracker reaching "relay closed", switch the
language, and the portal with JavaScript off. Screenshots at phone and desktop sizes, both languages."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import httpx
import sqlalchemy as sa

from tests.web.conftest import DESKTOP, PHONE, Portal, shot
from wattwallet.domain import clock
from wattwallet.store import schema


def sign_in_by_keyboard(page: Any, portal: Portal, service_no: str, mobile: str, *, shots: str = "") -> None:
    page.goto(f"{portal.base}/sign-in")
    if shots:
        shot(page, f"sign-in-{shots}")
    before = len(portal.gateway.received("sms"))
    # The customer ID field has the focus; nothing below needs a mouse. Chromium applies autofocus
    # a frame after the load: wait for it, or the first keystroke lands on the page.
    page.wait_for_selector("input[autofocus]:focus")
    page.keyboard.type(service_no)
    page.keyboard.press("Enter")
    page.wait_for_selector("#otp:focus")
    assert re.search(r"\+91X{6}\d{4}", page.inner_text("main"))
    if shots:
        shot(page, f"sign-in-otp-{shots}")
    page.keyboard.type(portal.otp_for(mobile, after=before))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{portal.base}/c/{service_no}/", page.inner_text("main")


def usage_to_show(portal: Portal, number: str) -> None:
    """Ten billed days and one day's half-hourly profile, for the usage page to draw (display only:
    the money path is covered by the recharge test and the store tests)."""
    now = dt.datetime.now(dt.UTC)
    today = clock.ist_date(now)
    with portal.ctx.store.write() as conn:
        for n in range(10, 0, -1):
            wh = 3000 + 250 * n
            items = [
                ["energy:0-30", wh * 19 // 100],
                ["fixed_charge", 67],
                ["electricity_duty", wh * 6 // 1000],
            ]
            conn.execute(
                sa.insert(schema.daily_deductions).values(
                    service_no=number,
                    day=today - dt.timedelta(days=n),
                    wh=wh,
                    amount=sum(paise for _, paise in items),
                    balance_after=-(wh // 10),
                    items=json.dumps(items),
                    created_at=now,
                )
            )
        profile = [40 + (n % 12) * 15 for n in range(48)]
        conn.execute(
            sa.insert(schema.meter_load_profiles).values(
                msg_id=f"test-{number}",
                meter_serial=f"SM-{number[-6:]}",
                service_no=number,
                ends_at=now,
                read_date=today,
                profile_wh=",".join(map(str, profile)),
                total_wh=sum(profile),
                received_at=now,
            )
        )


def test_sign_in_by_keyboard_then_the_mobile_changes_by_otp_to_the_new_number(
    portal: Portal, browser: Any
) -> None:
    number = portal.add("1234567890123", mobile="+919876543210", language="te")
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in_by_keyboard(page, portal, number, "+919876543210", shots="phone-en")
    assert page.get_attribute("html", "lang") == "te"
    assert "బ్యాలెన్స్" in page.inner_text("main")
    shot(page, "home-phone-te")
    cookie = next(c for c in context.cookies() if c["name"] == "ww_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.click("nav >> text=ప్రొఫైల్")
    shot(page, "profile-phone-te")
    page.fill("#new_mobile", "9000012345")
    page.click("text=కొత్త నంబర్‌కు OTP పంపండి")
    page.wait_for_selector("#otp:focus")
    assert "+91XXXXXX2345" in page.inner_text("main")
    # A wrong code changes nothing and says so in Telugu.
    page.fill("#otp", "000000")
    page.press("#otp", "Enter")
    page.wait_for_selector("#form-error")
    assert "OTP తప్పు" in page.inner_text("#form-error")
    assert portal.mobile_of(number) == "+919876543210"
    page.fill("#otp", portal.otp_for("+919000012345", after=0))
    page.press("#otp", "Enter")
    page.wait_for_selector("#changed")
    assert "+91XXXXXX2345" in page.inner_text("#changed")
    assert portal.mobile_of(number) == "+919000012345"
    shot(page, "mobile-changed-phone-te")
    # The old number is told, by SMS (the dispatcher sends it after the change commits).
    page.wait_for_timeout(100)
    deadline = 50
    while deadline and len(portal.texts_to("+919876543210")) < 2:
        page.wait_for_timeout(200)
        deadline -= 1
    assert len(portal.texts_to("+919876543210")) >= 2, portal.texts_to("+919876543210")
    # The old number's session no longer reaches the connection: a plain 404 page.
    answer = page.goto(f"{portal.base}/c/{number}/")
    assert answer is not None and answer.status in (200, 404)
    assert page.url.endswith("/sign-in?next=%2Fc%2F1234567890123%2F") or answer.status == 404
    context.close()


def test_a_disconnected_consumer_recharges_through_the_checkout_and_sees_the_relay_close(
    portal: Portal, browser: Any
) -> None:
    number = portal.add(
        "2234567890001", mobile="+919848012345", language="en", name="Sri Venkateswara Stores"
    )
    with portal.ctx.store.write() as conn:
        conn.execute(
            sa.update(schema.connections)
            .where(schema.connections.c.service_no == number)
            .values(state="disconnected")
        )
        conn.execute(
            sa.update(schema.meters).where(schema.meters.c.service_no == number).values(relay="open")
        )
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in_by_keyboard(page, portal, number, "+919848012345")
    assert "Your supply is disconnected" in page.inner_text("main")
    shot(page, "home-desktop-en-disconnected")
    page.click("nav >> text=Recharge")
    assert "first recharge" in page.inner_text(".rules").lower()
    # A refused amount: said in words, the amount kept, nothing written.
    page.fill("#amount", "150")
    page.click("text=Continue")
    page.wait_for_selector("#form-error")
    assert "at least ₹500.00" in page.inner_text("#form-error")
    assert page.input_value("#amount") == "150"
    shot(page, "recharge-refused-desktop-en")
    page.fill("#amount", "600")
    page.click("text=Continue")
    page.click("text=Pay ₹600.00")
    page.wait_for_selector("text=Stand-in payment gateway")
    page.click("button:has-text('Pay ₹600.00')")
    page.wait_for_url(re.compile(rf".*/c/{number}/recharge/pi_.*"))
    # The tracker refreshes itself (JavaScript on) until the relay is closed.
    page.wait_for_selector("li.done:has-text('Relay closed')", timeout=20_000)
    assert "Reconnected within the 15-minute promise" in page.inner_text("#tracker")
    assert page.inner_text("#receipt-balance") == "₹600.00"
    assert portal.checkout.payments()[-1]["webhook_status"] == 200
    shot(page, "receipt-desktop-en")
    page.click("nav >> text=Home")
    assert "Supply on" in page.inner_text("main")
    assert "Supply back on at" in page.inner_text("main")  # the reconnection, followed from home
    page.click("nav >> text=Passbook")
    # The passbook's figures are the ledger's.
    with portal.ctx.store.read() as conn:
        r = schema.recharges
        paid = conn.execute(sa.select(sa.func.sum(r.c.amount)).where(r.c.service_no == number)).scalar_one()
    assert page.inner_text("#total-recharged") == "₹600.00" and paid == 600_00
    shot(page, "passbook-desktop-en")
    for tail, name in (("usage", "usage"), ("complaints", "complaints"), ("profile", "profile")):
        page.goto(f"{portal.base}/c/{number}/{tail}")
        shot(page, f"{name}-desktop-en")
    context.close()


def test_with_javascript_off_the_language_switch_is_remembered_for_the_connection(
    portal: Portal, browser: Any
) -> None:
    number = portal.add("3234567890002", mobile="+919811122233", language="en", name="Ravi Kumar")
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    sign_in_by_keyboard(page, portal, number, "+919811122233")
    assert page.get_attribute("html", "lang") == "en"
    shot(page, "home-phone-en")
    page.click("form.lang button")
    page.wait_for_url(f"{portal.base}/c/{number}/")
    assert page.get_attribute("html", "lang") == "te"
    assert portal.language_of(number) == "te"
    shot(page, "home-phone-te-nojs")
    usage_to_show(portal, number)
    for tail, name in (
        ("usage", "usage"),
        ("passbook", "passbook"),
        ("recharge", "recharge"),
        ("complaints", "complaints"),
    ):
        page.goto(f"{portal.base}/c/{number}/{tail}")
        assert page.get_attribute("html", "lang") == "te"
        shot(page, f"{name}-phone-te")
    # The charts are drawn on the server, each with its table.
    page.goto(
        f"{portal.base}/c/{number}/usage?day={(clock.ist_date(dt.datetime.now(dt.UTC)) - dt.timedelta(days=1)).isoformat()}"
    )
    assert page.locator("svg.chart").count() == 2
    assert page.locator("svg.chart rect").count() == 10 + 48
    assert page.locator("table tbody tr").count() == 10 + 48
    shot(page, "usage-day-phone-te")
    # A complaint, with JS off.
    page.goto(f"{portal.base}/c/{number}/complaints")
    page.click("button:has-text('ఫిర్యాదు చేయండి')")
    assert "నమోదైంది" in page.inner_text("main")
    context.close()
    # Desktop, Telugu (a browser that asks for Telugu gets the sign-in pages in Telugu).
    context = browser.new_context(viewport=DESKTOP, locale="te-IN")
    page = context.new_page()
    sign_in_by_keyboard(page, portal, number, "+919811122233", shots="desktop-te")
    assert page.get_attribute("html", "lang") == "te"
    shot(page, "home-desktop-te")
    context.close()


def test_forged_forms_are_refused_and_another_consumers_connection_is_a_plain_404(portal: Portal) -> None:
    mine = portal.add("4234567890003", mobile="+919822233344")
    theirs = portal.add("5234567890004", mobile="+919833344455")
    with httpx.Client(base_url=portal.base, timeout=10) as client:
        page = client.get("/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        client.post("/sign-in", data={"csrf": csrf.group(1), "service_no": mine})
        otp = portal.otp_for("+919822233344")
        assert otp not in str(client.cookies) and otp not in page.url.query.decode()
        signed = client.post("/sign-in/otp", data={"csrf": csrf.group(1), "service_no": mine, "otp": otp})
        assert signed.status_code == 303
        home = client.get(f"/c/{mine}/")
        assert home.status_code == 200
        assert "script-src 'self'" in home.headers["content-security-policy"]
        assert "unsafe-inline" not in home.headers["content-security-policy"]
        assert home.headers["x-frame-options"] == "DENY" and home.headers["cache-control"] == "no-store"
        assert "<script>" not in home.text
        token = re.search(r'name="csrf" value="([^"]+)"', home.text)
        assert token is not None
        # A form without the token, or with the pre-session one, writes nothing.
        for forged in ("", csrf.group(1)):
            refused = client.post(f"/c/{mine}/complaints", data={"csrf": forged, "note": "x"})
            assert refused.status_code == 403
        with portal.ctx.store.read() as conn:
            assert (
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(schema.complaints)
                    .where(schema.complaints.c.service_no == mine)
                ).scalar_one()
                == 0
            )
        # Someone else's connection looks exactly like one that does not exist.
        other = client.get(f"/c/{theirs}/")
        missing = client.get("/c/9999999999999/")
        assert other.status_code == missing.status_code == 404
        assert other.text.replace(theirs, "N") == missing.text.replace("9999999999999", "N")
        assert client.post(f"/c/{theirs}/complaints", data={"csrf": token.group(1)}).status_code == 404
        # The API keeps its own answers beside the portal.
        assert client.get("/api/v1/nope").json()["code"] == "route_not_found"


def test_bills_a_month_billed_by_the_daily_cycle_downloads_as_a_pdf_in_both_languages(
    portal: Portal, browser: Any
) -> None:
    """A June billed day by day through the real cycle (as tests/billing do), then its bill made by
    billing.service.run_month; the consumer signs in, opens Bills and downloads each PDF."""
    from tests.billing.conftest import JUNE, RUN_AT, Plan, simulate_june
    from tests.conftest import NOW
    from wattwallet.billing import service as bills
    from wattwallet.consumers import registration

    number, mobile = "1234500000077", "+919876500077"
    new = registration.parse(
        portal.ctx,
        service_no=number,
        consumer_name="Sita Ramulu",
        category="LT-I",
        load_kw="2",
        mode="prepaid",
        mobile=mobile,
        language="en",
        meter_serial=f"SM-{number[-6:]}",
        today=NOW.date(),
    )
    registration.add(portal.ctx, new, now=NOW)
    simulate_june(portal.ctx, number, Plan(daily_kwh={n: 4 for n in range(3, 32)}))
    assert bills.run_month(portal.ctx, month=JUNE, now=RUN_AT).created == 1
    bill = bills.show(portal.ctx, service_no=number, month=JUNE)
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, accept_downloads=True)
        page = context.new_page()
        sign_in_by_keyboard(page, portal, number, mobile)
        for language in ("en", "te"):
            page.click("nav >> a[href$='/bills']")
            page.wait_for_selector(".bill")
            assert bill.bill_no in page.inner_text("main")
            shot(page, f"bills-{size}-{language}")
            other = "te" if language == "en" else "en"  # each PDF once: the other language's
            with page.expect_download() as info:
                page.click(f".bill a[href$='language={other}']")
            data = info.value.path().read_bytes()
            assert data.startswith(b"%PDF"), data[:20]
            page.click(".lang button")  # on to Telugu (and back to English for the next size)
            page.wait_for_load_state()
        context.close()
