"""Changing the registered mobile in the app or on the website (DOMAIN.md §7), both databases: the
OTP goes to the new number, the change is made only with it, both numbers are told, the change is
audited, and access moves with the number."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.api.conftest import Api, bearer
from tests.conftest import table_counts
from wattwallet.consumers import access as consumer_access
from wattwallet.consumers import otp, self_service
from wattwallet.store import connections, schema

NEW = "+919000012345"


def urls(service_no: str) -> tuple[str, str]:
    base = f"/api/v1/me/connections/{service_no}/mobile-change"
    return base, f"{base}/confirm"


def texts_to(api: Api, mobile: str) -> int:
    return sum(1 for s in api.texts.sent if s.to == mobile)


@pytest.mark.parametrize("via", ["app", "website"])
def test_the_otp_goes_to_the_new_number_and_the_change_moves_access(
    api: Api, consumer: Any, via: str
) -> None:
    service_no, old = consumer(1, language="te")
    headers = bearer(api.consumer_token(service_no, old))
    ask, confirm = urls(service_no)
    to_old = texts_to(api, old)
    sent = api.client.post(ask, json={"new_mobile": "90000 12345", "via": via}, headers=headers)
    assert sent.status_code == 202, sent.text
    assert sent.json()["recipient"] == "+91XXXXXX2345"
    assert texts_to(api, old) == to_old and texts_to(api, NEW) == 1  # to the new number, not the old
    assert "XXXXXX" not in api.texts.last_to(NEW).text  # type: ignore[union-attr]
    with api.ctx.store.read() as conn:
        row = conn.execute(sa.select(schema.otps).where(schema.otps.c.purpose == otp.MOBILE_CHANGE)).one()
        assert connections.get(conn, service_no).mobile == old  # nothing changes before the OTP
    assert (row.recipient, row.via, row.service_no) == (NEW, via, service_no)

    done = api.client.post(confirm, json={"otp": api.last_otp(NEW)}, headers=headers)
    assert done.status_code == 200, done.text
    assert (done.json()["mobile"], done.json()["via"]) == ("+91XXXXXX2345", via)
    with api.ctx.store.read() as conn:
        assert connections.get(conn, service_no).mobile == NEW
        audit = conn.execute(sa.select(schema.mobile_changes)).one()
        told = conn.execute(
            sa.select(schema.notifications.c.recipient, schema.notifications.c.language).where(
                schema.notifications.c.kind == "mobile_changed"
            )
        ).all()
    assert (audit.old_mobile, audit.new_mobile, audit.via, audit.reference) == (old, NEW, via, None)
    assert sorted(told) == sorted([(old, "te"), (NEW, "te")])  # the old number is told too

    # The session signed in with the old number no longer reaches the connection.
    gone = api.client.get(f"/api/v1/me/connections/{service_no}/wallet", headers=headers)
    assert gone.status_code == 404 and gone.json()["code"] == "connection_not_found"
    assert api.client.get("/api/v1/me", headers=headers).json()["connections"] == []
    # The new number signs in (its OTP goes to the new number) and sees it.
    api.clock.advance(minutes=15, seconds=1)  # past the OTP send limit of the connection
    fresh = bearer(api.consumer_token(service_no, NEW))
    assert [c["service_no"] for c in api.client.get("/api/v1/me", headers=fresh).json()["connections"]] == [
        service_no
    ]


def test_wrong_and_expired_otps_change_nothing(api: Api, consumer: Any) -> None:
    service_no, old = consumer(1)
    headers = bearer(api.consumer_token(service_no, old))
    ask, confirm = urls(service_no)
    api.client.post(ask, json={"new_mobile": NEW, "via": "app"}, headers=headers)
    right = api.last_otp(NEW)
    before = table_counts(api.ctx.store)
    for wrong in (f"{(int(right) + 1) % 1_000_000:06d}", "abc", api.last_otp(old)):
        answer = api.client.post(confirm, json={"otp": wrong}, headers=headers)
        assert answer.status_code == 401 and answer.json()["code"] == "otp_invalid", wrong
    # Only the failures are counted (the daily guess caps), nothing else is written.
    assert table_counts(api.ctx.store) == {**before, "auth_failures": 3}
    api.clock.advance(minutes=5, seconds=1)  # the right code, too late
    late = api.client.post(confirm, json={"otp": right}, headers=headers)
    assert late.status_code == 401 and late.json()["code"] == "otp_invalid"
    assert table_counts(api.ctx.store) == {**before, "auth_failures": 4}
    with api.ctx.store.read() as conn:
        assert connections.get(conn, service_no).mobile == old
    assert api.client.get("/api/v1/me", headers=headers).json()["connections"][0]["service_no"] == service_no


def test_a_sign_in_otp_does_not_confirm_a_mobile_change(api: Api, consumer: Any) -> None:
    service_no, old = consumer(1)
    headers = bearer(api.consumer_token(service_no, old))
    api.client.post("/api/v1/auth/otp", json={"service_no": service_no})
    answer = api.client.post(urls(service_no)[1], json={"otp": api.last_otp(old)}, headers=headers)
    assert answer.status_code == 401 and answer.json()["code"] == "otp_invalid"


@pytest.mark.parametrize(
    ("new_mobile", "code"),
    [
        ("040 2345 6789", "phone_not_mobile"),  # a Hyderabad landline
        ("12345", "phone_malformed"),
        ("call me", "phone_malformed"),
        ("+1 415 555 2671", "phone_not_indian"),
        ("+919876500001", "mobile_unchanged"),  # the registered number itself
        ("09876500001", "mobile_unchanged"),  # the same, typed another way
    ],
)
def test_a_bad_new_number_gets_a_clear_code_and_nothing_is_sent(
    api: Api, consumer: Any, new_mobile: str, code: str
) -> None:
    service_no, old = consumer(1)
    headers = bearer(api.consumer_token(service_no, old))
    before, sent = table_counts(api.ctx.store), len(api.texts.sent)
    answer = api.client.post(
        urls(service_no)[0], json={"new_mobile": new_mobile, "via": "app"}, headers=headers
    )
    assert answer.status_code == 422 and answer.json()["code"] == code, answer.text
    assert answer.json()["detail"]
    assert table_counts(api.ctx.store) == before and len(api.texts.sent) == sent


@pytest.mark.parametrize(
    "body", [{"new_mobile": NEW, "via": "helpline"}, {"new_mobile": NEW}, {"via": "app"}]
)
def test_only_app_and_website_are_self_service(api: Api, consumer: Any, body: dict[str, str]) -> None:
    service_no, old = consumer(1)
    headers = bearer(api.consumer_token(service_no, old))
    answer = api.client.post(urls(service_no)[0], json=body, headers=headers)
    assert answer.status_code == 422 and answer.json()["code"] == "request_invalid"


def test_otps_to_a_new_number_back_off(api: Api, consumer: Any) -> None:
    """A second OTP to the same new number from the same caller within 30 seconds is held back
    (the answer does not say so); after the back-off it goes."""
    service_no, old = consumer(1)
    headers = bearer(api.consumer_token(service_no, old))
    ask = urls(service_no)[0]
    for _ in range(2):
        answer = api.client.post(ask, json={"new_mobile": NEW, "via": "app"}, headers=headers)
        assert answer.status_code == 202
    assert texts_to(api, NEW) == 1
    api.clock.advance(seconds=31)
    assert api.client.post(ask, json={"new_mobile": NEW, "via": "app"}, headers=headers).status_code == 202
    assert texts_to(api, NEW) == 2


def test_the_otp_is_spent_only_when_the_change_is_made(api: Api, consumer: Any) -> None:
    """If the change fails after the OTP matched (here: the number was moved away meanwhile), the
    whole transaction rolls back: no change, and the OTP is still unused."""
    service_no, old = consumer(1)
    headers = bearer(api.consumer_token(service_no, old))
    api.client.post(urls(service_no)[0], json={"new_mobile": NEW, "via": "app"}, headers=headers)
    code = api.last_otp(NEW)
    before = table_counts(api.ctx.store)
    with pytest.raises(consumer_access.NotYourConnection):
        self_service.confirm_mobile_change(
            api.ctx,
            holder="+919999900000",
            service_no=service_no,
            code=code,
            caller="testclient",
            now=api.clock(),
            events=[],
        )
    with api.ctx.store.read() as conn:
        used = conn.execute(
            sa.select(schema.otps.c.used_at).where(schema.otps.c.recipient == NEW)
        ).scalar_one()
        assert used is None and connections.get(conn, service_no).mobile == old
    assert table_counts(api.ctx.store) == before
    # The consumer can still use it.
    done = api.client.post(urls(service_no)[1], json={"otp": code}, headers=headers)
    assert done.status_code == 200, done.text
    again = self_service.confirm_mobile_change
    with pytest.raises(otp.OtpRejected):  # and now it is spent
        again(
            api.ctx,
            holder=NEW,
            service_no=service_no,
            code=code,
            caller="testclient",
            now=api.clock(),
            events=[],
        )
