"""Postpaid in the browser (Debian's chromium, a real `wattwallet serve`): a connection that
switched to postpaid in June 2025 and has two bills sees what it owes on the home page, its
postpaid bills, and the Billing mode page, where it books a switch back to prepaid and withdraws
it with JavaScript off (plain forms). Phone and desktop screenshots in both languages go to
var/screenshots/ for review."""

from __future__ import annotations

from typing import Any

from tests.billing.test_postpaid_pdf import postpaid_history
from tests.conftest import NOW
from tests.web.conftest import PHONE, Portal, shot
from tests.web.test_portal_browser import sign_in_by_keyboard
from wattwallet.domain import money

DESKTOP = {"width": 1280, "height": 800}


def test_a_postpaid_consumer_sees_what_is_owed_and_books_then_withdraws_a_switch(
    portal: Portal, browser: Any
) -> None:
    number, mobile = "1234500000088", "+919876500088"
    portal.add(number, mobile=mobile, name="లక్ష్మి దేవి", at=NOW)
    june, july = postpaid_history(portal.ctx, number)
    owed = june.content["payable"] - 30_000 + july.content["charges"]
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, java_script_enabled=False)
        page = context.new_page()
        sign_in_by_keyboard(page, portal, number, mobile)
        for language in ("en", "te"):
            page.goto(f"{portal.base}/c/{number}/")
            main = page.inner_text("main")
            assert money.inr(owed) in main and money.inr(150_000) in main
            assert page.locator("nav a[href$='/recharge']").count() == 0
            assert page.locator(".owed .warn").count() == 1  # June's bill is long past its due date
            shot(page, f"postpaid-home-{size}-{language}")
            page.click("nav >> a[href$='/bills']")
            assert july.bill_no in page.inner_text("main") and money.inr(july.amount) in page.inner_text(
                "main"
            )
            shot(page, f"postpaid-bills-{size}-{language}")
            page.goto(f"{portal.base}/c/{number}/billing-mode")
            assert page.locator("input[name=effective_on]").count() == 1
            shot(page, f"billing-mode-{size}-{language}")
            page.click("form[action$='/billing-mode'] button[type=submit]")
            page.wait_for_selector("form[action$='/withdraw']")
            assert page.locator("[role=status]").count() == 1
            shot(page, f"billing-mode-booked-{size}-{language}")
            page.click("form[action$='/withdraw'] button")
            page.wait_for_selector("input[name=effective_on]")
            page.click("form.lang button")
            page.wait_for_load_state()
        context.close()
