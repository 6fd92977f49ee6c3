"""Installed as an app: the manifest and service worker are served, and once the server is gone the
app shows the last balance it saw, with its time, and says it is offline. (Its own module: it stops
the module's server.)"""

from __future__ import annotations

from typing import Any

import httpx

from tests.web.conftest import PHONE, Portal, shot
from tests.web.test_portal_browser import sign_in_by_keyboard


def test_the_app_installs_and_shows_the_last_balance_offline_after_the_server_stops(
    portal: Portal, browser: Any
) -> None:
    manifest = httpx.get(f"{portal.base}/manifest.webmanifest", timeout=10).json()
    assert manifest["display"] == "standalone" and {i["sizes"] for i in manifest["icons"]} >= {
        "192x192",
        "512x512",
    }
    for icon in manifest["icons"]:
        assert httpx.get(portal.base + icon["src"], timeout=10).headers["content-type"] == "image/png"
    number = portal.add("7234567890006", mobile="+919855566677", language="te", name="Offline Check")
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in_by_keyboard(page, portal, number, "+919855566677")
    # The service worker is in control once it has activated: load the page once more under it.
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    balance = page.inner_text("#balance .big")

    portal.process.terminate()
    portal.process.wait(timeout=10)
    page.goto(f"{portal.base}/c/{number}/")
    page.wait_for_selector("#last:not([hidden])")
    assert "offline" in page.inner_text("h1").lower()
    assert page.inner_text("#last-balance") == balance
    assert page.inner_text("#last-at")  # with its time
    shot(page, "offline-phone")
    context.close()
