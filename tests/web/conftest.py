"""Browser tests of the portal: Debian's chromium driven by Playwright for Python (never
`playwright install`) against a real `wattwallet serve` (uvicorn) on SQLite, with the stand-in SMS
gateway and the stand-in checkout in this process. One server per test module.

Without chromium the tests are skipped, except under CI=true, where that fails the run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.api.conftest import api  # noqa: F401  (the in-process API fixture, for test_pages)
from tests.conftest import IN_CI, free_port
from wattwallet import tariffs
from wattwallet.consumers import registration
from wattwallet.context import Context
from wattwallet.domain import policy
from wattwallet.messaging import fake_checkout, fake_gateway
from wattwallet.store import db, migrate, schema

WEBHOOK_SECRET = "web-test-webhook-secret"  # a test-only value no real gateway uses
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@dataclasses.dataclass
class Portal:
    base: str
    url: str  # the store's URL
    gateway: fake_gateway.FakeGateway
    checkout: fake_checkout.FakeCheckout
    ctx: Context
    process: subprocess.Popen[bytes]

    def add(
        self,
        service_no: str,
        *,
        mobile: str,
        language: str = "en",
        name: str = "Lakshmi Devi",
        at: dt.datetime | None = None,
    ) -> str:
        """Register a prepaid connection, today unless `at` says when (for a history in the past)."""
        now = at or dt.datetime.now(dt.UTC)
        new = registration.parse(
            self.ctx,
            service_no=service_no,
            consumer_name=name,
            category="LT-I",
            load_kw="2",
            mode="prepaid",
            mobile=mobile,
            language=language,
            meter_serial=f"SM-{service_no[-6:]}",
            today=now.date(),
        )
        registration.add(self.ctx, new, now=now)
        return service_no

    def otp_for(self, mobile: str, *, after: int = 0, timeout: float = 15) -> str:
        """The newest OTP texted to `mobile` among the messages after the first `after`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in reversed(self.gateway.received("sms")[after:]):
                if message["body"]["to"] == mobile:
                    found = re.search(r"\b(\d{6})\b", message["body"]["text"])
                    if found:
                        return found.group(1)
            time.sleep(0.05)
        raise AssertionError(f"no OTP reached {mobile}")

    def texts_to(self, mobile: str) -> list[str]:
        return [m["body"]["text"] for m in self.gateway.received("sms") if m["body"]["to"] == mobile]

    def mobile_of(self, service_no: str) -> str:
        with self.ctx.store.read() as conn:
            c = schema.connections
            return str(conn.execute(sa.select(c.c.mobile).where(c.c.service_no == service_no)).scalar_one())

    def language_of(self, service_no: str) -> str:
        with self.ctx.store.read() as conn:
            c = schema.connections
            return str(conn.execute(sa.select(c.c.language).where(c.c.service_no == service_no)).scalar_one())


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        message = "Debian's chromium is not installed (scripts/bootstrap.sh installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    chromium_path()
    folder = tmp_path_factory.mktemp("portal")
    url = f"sqlite:///{folder / 'portal.db'}"
    store = db.Store.from_url(url)
    migrate.upgrade(store.engine)
    ctx = Context(store=store, tariffs=tariffs.book("sample"), policy=policy.Policy())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gateway = fake_gateway.FakeGateway().start()
    checkout = fake_checkout.FakeCheckout(portal=base, secret=WEBHOOK_SECRET).start()
    env = {
        **os.environ,
        "WATTWALLET_DATABASE_URL": url,
        "WATTWALLET_API__GATEWAY_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "WATTWALLET_WEB_CHECKOUT_URL": f"{checkout.base_url}/checkout",
        "WATTWALLET_JOBS_TICK_SECONDS": "0.5",
        "WATTWALLET_DELIVERY__SMS__BASE_URL": gateway.base_url,
        "WATTWALLET_DELIVERY__SMS__API_KEY": fake_gateway.SMS_KEY,
        "WATTWALLET_DELIVERY__WHATSAPP__BASE_URL": gateway.base_url,
        "WATTWALLET_DELIVERY__WHATSAPP__PHONE_NUMBER_ID": fake_gateway.PHONE_NUMBER_ID,
        "WATTWALLET_DELIVERY__WHATSAPP__ACCESS_TOKEN": fake_gateway.WHATSAPP_TOKEN,
        "WATTWALLET_DELIVERY__PUSH__BASE_URL": gateway.base_url,
        "WATTWALLET_DELIVERY__PUSH__API_KEY": fake_gateway.PUSH_KEY,
    }
    wattwallet = Path(sys.executable).with_name("wattwallet")
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(wattwallet), "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/sign-in", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("wattwallet serve did not come up:\n" + (folder / "serve.log").read_text())
            time.sleep(0.1)
        yield Portal(base=base, url=url, gateway=gateway, checkout=checkout, ctx=ctx, process=process)
    finally:
        process.terminate()
        process.wait(timeout=10)
        checkout.stop()
        gateway.stop()
        store.dispose()


@pytest.fixture(scope="module")
def browser(portal: Portal) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def shot(page: Any, name: str) -> None:
    """A full-page screenshot for review, in the git-ignored var/screenshots/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
