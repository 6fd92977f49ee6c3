"""The API in-process (httpx over ASGI, the real app and routers) on both databases, with a clock
the test moves, an SMS recorder to read OTPs from (reading it first runs the OTP courier, as the
dispatcher would after the answer), and helpers to sign people in."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import argon2
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tests.conftest import NOW, AddConnection
from wattwallet import config
from wattwallet.api import app as api_app
from wattwallet.api import deps
from wattwallet.consumers import otp
from wattwallet.context import Context
from wattwallet.messaging import sms
from wattwallet.staff import accounts as staff
from wattwallet.wallet import agents

STAFF_PASSWORD = "correct horse battery staple"
WEBHOOK_SECRET = "whsec_test_only_not_a_real_secret"


class Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclasses.dataclass
class Api:
    client: TestClient
    ctx: Context
    clock: Clock
    recorder: sms.Recorder
    settings: config.ApiSettings

    def deliver_otps(self) -> otp.Delivered:
        """What the dispatcher's OTP courier does after the answers: issue and send what was asked."""
        return otp.deliver_due(self.ctx, now=self.clock(), limit=1000)

    @property
    def texts(self) -> sms.Recorder:
        """The texts sent, once the OTPs asked for so far have been delivered."""
        self.deliver_otps()
        return self.recorder

    def last_otp(self, mobile: str) -> str:
        found = self.texts.last_to(mobile)
        assert found is not None, f"no text went to {mobile}"
        match = re.search(r"\b(\d{6})\b", found.text)
        assert match, found.text
        return match.group(1)

    def consumer_token(self, service_no: str, mobile: str) -> str:
        assert self.client.post("/api/v1/auth/otp", json={"service_no": service_no}).status_code == 202
        answer = self.client.post(
            "/api/v1/auth/session", json={"service_no": service_no, "otp": self.last_otp(mobile)}
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["token"]
        return token

    def agent_key(self, name: str = "Sri Sai Kirana", limit_paise: int = 5_000_000) -> str:
        """A new retail agent's API key."""
        issued = agents.create(
            self.ctx, name=name, kind_name="retail", daily_limit_paise=limit_paise, now=self.clock()
        )
        return issued.key

    def staff_token(self, role: str) -> str:
        username = f"{role.replace('_', '-')}.user"
        with contextlib.suppress(staff.StaffExists):
            staff.add(
                self.ctx,
                username=username,
                name=f"{role} user",
                role_name=role,
                password=STAFF_PASSWORD,
                now=self.clock(),
            )
        answer = self.client.post(
            "/api/v1/auth/staff/session", json={"username": username, "password": STAFF_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["token"]
        return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its production cost takes ~0.4 s a sign-in on this machine; the tests sign in
    hundreds of times. Same algorithm and code path, lower cost."""
    cheap = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(staff, "_HASHER", cheap)
    monkeypatch.setattr(staff, "_DUMMY_HASH", cheap.hash("not a password of anyone"))


@pytest.fixture
def api(ctx: Context) -> Iterator[Api]:
    texts = sms.Recorder()
    ctx = dataclasses.replace(ctx, sms=texts)
    clock = Clock(NOW)
    settings = config.ApiSettings(gateway_webhook_secret=SecretStr(WEBHOOK_SECRET))
    app = api_app.create_app(ctx, settings, runtime=deps.Runtime(ctx=ctx, settings=settings, clock=clock))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client=client, ctx=ctx, clock=clock, recorder=texts, settings=settings)


@pytest.fixture
def consumer(add_connection: AddConnection) -> Any:
    """Register a connection with its own mobile: consumer(n) -> (service_no, mobile)."""

    def make(n: int, **overrides: Any) -> tuple[str, str]:
        mobile = f"+9198765{n:05d}"
        service_no = add_connection(mobile=mobile, **overrides)
        return service_no, mobile

    return make


@pytest.fixture
def credentials(api: Api, consumer: Any) -> dict[str, dict[str, str]]:
    """Headers that sign in whoever may use a route, by path prefix (a consumer on /me, an admin on
    /staff, an agent on /agent): junk and fuzz tests then reach the routes' own checks."""
    service_no, mobile = consumer(1)
    found = {
        "/api/v1/me": bearer(api.consumer_token(service_no, mobile)),
        "/api/v1/staff": bearer(api.staff_token("admin")),
    }
    found["/api/v1/agent"] = {"X-API-Key": api.agent_key()}
    return found


def headers_for(credentials: dict[str, dict[str, str]], path: str) -> dict[str, str]:
    return next((h for prefix, h in credentials.items() if path.startswith(prefix)), {})
