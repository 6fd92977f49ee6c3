"""axe-core (npm, tests/web/package.json) injected into every signed-in page and the sign-in pages,
in English and Telugu, at a phone size: no serious or critical violation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI
from tests.web.conftest import PHONE, Portal
from tests.web.test_portal_browser import sign_in_by_keyboard

AXE = Path(__file__).with_name("node_modules") / "axe-core" / "axe.min.js"
PAGES = ("", "usage", "passbook", "bills", "recharge", "complaints", "profile", "billing-mode")


def serious(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def test_no_serious_or_critical_axe_violation_on_any_page_in_either_language(
    portal: Portal, browser: Any
) -> None:
    if not AXE.exists():
        message = "axe-core is not installed (scripts/bootstrap.sh runs npm ci in tests/web)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    number = portal.add("6234567890005", mobile="+919844455566", language="en", name="Axe Check")
    # The CSP refuses inline scripts, axe's injected one included: only this test's context bypasses it.
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    problems: dict[str, list[dict[str, Any]]] = {}
    page.goto(f"{portal.base}/sign-in")
    problems["en /sign-in"] = serious(page)
    sign_in_by_keyboard(page, portal, number, "+919844455566")
    for lang in ("en", "te"):
        for tail in PAGES:
            page.goto(f"{portal.base}/c/{number}/{tail}")
            problems[f"{lang} /{tail}"] = serious(page)
        page.click("form.lang button")
        page.wait_for_load_state()
    # The Billing mode page with a switch booked (the Withdraw form instead of the request form).
    page.goto(f"{portal.base}/c/{number}/billing-mode")
    page.click("form[action$='/billing-mode'] button[type=submit]")
    page.wait_for_selector("form[action$='/withdraw']")
    problems["te /billing-mode booked"] = serious(page)
    context.close()
    found = {where: v for where, v in problems.items() if v}
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)
