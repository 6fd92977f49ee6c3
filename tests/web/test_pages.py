"""The portal's pages in process (no browser), on SQLite and PostgreSQL: the session cookie, bad
input answered in the reader's language with nothing written, and no telling which IDs exist."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.conftest import AddConnection, table_counts
from wattwallet.consumers import sessions
from wattwallet.messaging import formatting
from wattwallet.store import schema


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:300]
    return found.group(1)


def sign_in(
    api: Api, client: TestClient, service_no: str, mobile: str, *, form_from: str = "/sign-in"
) -> str:
    token = csrf(client.get(form_from).text)
    assert client.post("/sign-in", data={"csrf": token, "service_no": service_no}).status_code == 200
    answer = client.post(
        "/sign-in/otp", data={"csrf": token, "service_no": service_no, "otp": api.last_otp(mobile)}
    )
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"]
    return cookie


def test_the_session_cookie_is_httponly_samesite_and_secure_over_https_and_new_at_each_sign_in(
    api: Api, add_connection: AddConnection
) -> None:
    number = add_connection(mobile="+919812345678")
    with TestClient(api.client.app, base_url="https://testserver", follow_redirects=False) as client:
        first = sign_in(api, client, number, "+919812345678")
        assert "HttpOnly" in first and "SameSite=lax" in first.lower().replace("samesite=lax", "SameSite=lax")
        assert "Secure" in first
        old = client.cookies.get("ww_session")
        assert client.get(f"/c/{number}/").status_code == 200
        second = sign_in(api, client, number, "+919812345678", form_from=f"/c/{number}/")
        assert client.cookies.get("ww_session") != old and "Secure" in second
        current = client.cookies.get("ww_session") or ""
        out = client.post("/sign-out", data={"csrf": csrf(client.get(f"/c/{number}/").text)})
        assert out.status_code == 200 and client.get(f"/c/{number}/").status_code == 303
    # The earlier sessions were ended: at the new sign-in, and by signing out.
    for token in (old or "", current):
        with TestClient(api.client.app, base_url="https://testserver", follow_redirects=False) as stale:
            stale.cookies.set("ww_session", token)
            assert stale.get(f"/c/{number}/").status_code == 303


def test_a_wrong_otp_is_said_in_telugu_keeps_the_id_not_the_code_and_signs_no_one_in(
    api: Api, add_connection: AddConnection, caplog: pytest.LogCaptureFixture
) -> None:
    number = add_connection(mobile="+919812345679", language="te")
    client = TestClient(api.client.app, follow_redirects=False, headers={"Accept-Language": "te"})
    token = csrf(client.get("/sign-in").text)
    client.post("/sign-in", data={"csrf": token, "service_no": number})
    code = api.last_otp("+919812345679")
    wrong = "000000" if code != "000000" else "111111"
    before = table_counts(api.ctx.store)["api_sessions"]
    with caplog.at_level(logging.DEBUG):
        answer = client.post("/sign-in/otp", data={"csrf": token, "service_no": number, "otp": wrong})
    assert answer.status_code == 401
    assert 'lang="te"' in answer.text and "OTP తప్పు" in answer.text
    assert f'value="{number}"' in answer.text and wrong not in answer.text
    assert table_counts(api.ctx.store)["api_sessions"] == before
    assert code not in caplog.text and wrong not in caplog.text


def test_an_unregistered_id_gets_the_same_page_as_a_registered_one(
    api: Api, add_connection: AddConnection
) -> None:
    number = add_connection(mobile="+919812345670")
    client = TestClient(api.client.app, follow_redirects=False)
    token = csrf(client.get("/sign-in").text)
    known = client.post("/sign-in", data={"csrf": token, "service_no": number})
    unknown = client.post("/sign-in", data={"csrf": token, "service_no": "9876543210987"})
    assert known.status_code == unknown.status_code == 200

    def shape(text: str, n: str) -> str:
        return re.sub(r"\+91X{6}\d{4}", "MASKED", text.replace(n, "ID"))

    assert shape(known.text, number) == shape(unknown.text, "9876543210987")
    # The made-up number is the same every time for the same ID.
    again = client.post("/sign-in", data={"csrf": token, "service_no": "9876543210987"})
    assert re.findall(r"\+91X{6}\d{4}", again.text) == re.findall(r"\+91X{6}\d{4}", unknown.text)


def test_a_malformed_mobile_or_a_refused_amount_is_explained_and_writes_nothing(
    api: Api, add_connection: AddConnection
) -> None:
    number = add_connection(mobile="+919812345671")
    client = TestClient(api.client.app, follow_redirects=False)
    sign_in(api, client, number, "+919812345671")
    token = csrf(client.get(f"/c/{number}/profile").text)
    before = table_counts(api.ctx.store)
    bad = client.post(f"/c/{number}/profile/mobile", data={"csrf": token, "new_mobile": "040 2345 6789"})
    assert bad.status_code == 422 and "Indian mobile number" in bad.text and "040 2345 6789" in bad.text
    refused = client.post(f"/c/{number}/recharge", data={"csrf": token, "amount": "abc"})
    assert refused.status_code in (422, 503)
    assert table_counts(api.ctx.store) == before


def test_the_whatsapp_and_app_opt_ins_are_saved_as_the_api_shows_them(
    api: Api, add_connection: AddConnection
) -> None:
    number = add_connection(mobile="+919812345672")
    client = TestClient(api.client.app, follow_redirects=False)
    sign_in(api, client, number, "+919812345672")
    token = csrf(client.get(f"/c/{number}/profile").text)
    saved = client.post(f"/c/{number}/profile/channels", data={"csrf": token, "whatsapp": "on"})
    assert saved.status_code == 200 and "Your choices are saved." in saved.text
    with api.ctx.store.write() as conn:
        issued = sessions.issue(
            conn,
            kind=sessions.CONSUMER,
            subject="+919812345672",
            service_no=number,
            minutes=5,
            now=api.clock(),
        )
    bearer = {"Authorization": f"Bearer {issued.token}"}
    shown = api.client.get(f"/api/v1/me/connections/{number}/channels", headers=bearer)
    assert shown.status_code == 200, shown.text
    enabled = {c["channel"]: c["enabled"] for c in shown.json()["channels"]}
    assert enabled["whatsapp"] is True and enabled["app"] is False and enabled["sms"] is True


def test_home_says_when_the_meter_stopped_reporting(api: Api, add_connection: AddConnection) -> None:
    number = add_connection(mobile="+919812345673")
    client = TestClient(api.client.app, follow_redirects=False)
    sign_in(api, client, number, "+919812345673")
    home = client.get(f"/c/{number}/")
    assert "Last reading: " in home.text  # the register at commissioning counts as the first reading
    stale = api.clock() - dt.timedelta(days=3)
    with api.ctx.store.write() as conn:
        conn.execute(
            sa.update(schema.prepaid_state)
            .where(schema.prepaid_state.c.service_no == number)
            .values(last_read_at=stale)
        )
    home = client.get(f"/c/{number}/")
    assert "Meter not reporting since " + formatting.instant_text(stale, "en") in home.text
    with api.ctx.store.write() as conn:
        conn.execute(
            sa.update(schema.prepaid_state)
            .where(schema.prepaid_state.c.service_no == number)
            .values(last_read_at=api.clock() - dt.timedelta(hours=2))
        )
    assert "Last reading: " in client.get(f"/c/{number}/").text


def test_a_mobile_with_several_connections_picks_one(api: Api, add_connection: AddConnection) -> None:
    first = add_connection(mobile="+919812345674", consumer_name="Home")
    second = add_connection(mobile="+919812345674", consumer_name="Shop")
    client = TestClient(api.client.app, follow_redirects=False)
    sign_in(api, client, first, "+919812345674")
    picker = client.get("/connections")
    assert picker.status_code == 200
    assert f'href="/c/{first}/"' in picker.text and f'href="/c/{second}/"' in picker.text
    assert "Shop" in client.get(f"/c/{second}/").text
