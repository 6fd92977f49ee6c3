"""Consumer sign-in by customer ID and OTP; staff sign-in by password (both databases)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import STAFF_PASSWORD, Api, bearer


def test_otp_goes_to_the_registered_mobile_and_signs_in(api: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1)
    other_service_no, _ = consumer(2)
    answer = api.client.post("/api/v1/auth/otp", json={"service_no": service_no})
    assert answer.status_code == 202
    sent = api.texts.last_to(mobile)
    assert sent is not None and "sign in" in sent.text and sent.dlt_template_id
    answer = api.client.post(
        "/api/v1/auth/session", json={"service_no": service_no, "otp": api.last_otp(mobile)}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["connections"] == [service_no]
    assert other_service_no not in body["connections"]


def test_unknown_customer_id_gets_the_same_answer(api: Api, consumer: Any) -> None:
    service_no, _ = consumer(1)
    known = api.client.post("/api/v1/auth/otp", json={"service_no": service_no})
    unknown = api.client.post("/api/v1/auth/otp", json={"service_no": "9999999999999"})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    wrong = api.client.post("/api/v1/auth/session", json={"service_no": "9999999999999", "otp": "123456"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "otp_invalid"
    assert wrong.headers["content-type"] == "application/problem+json"


def test_brute_force_voids_the_otp_after_five_tries(api: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1)
    api.client.post("/api/v1/auth/otp", json={"service_no": service_no})
    right = api.last_otp(mobile)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(5):
        answer = api.client.post("/api/v1/auth/session", json={"service_no": service_no, "otp": wrong})
        assert answer.status_code == 401
    # Locked out: even the right code no longer works.
    answer = api.client.post("/api/v1/auth/session", json={"service_no": service_no, "otp": right})
    assert answer.status_code == 401 and answer.json()["code"] == "otp_invalid"


def test_expired_and_reused_otps_fail(api: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1)
    api.client.post("/api/v1/auth/otp", json={"service_no": service_no})
    code = api.last_otp(mobile)
    api.clock.advance(minutes=5, seconds=1)
    assert (
        api.client.post("/api/v1/auth/session", json={"service_no": service_no, "otp": code}).status_code
        == 401
    )
    api.client.post("/api/v1/auth/otp", json={"service_no": service_no})
    code = api.last_otp(mobile)
    assert (
        api.client.post("/api/v1/auth/session", json={"service_no": service_no, "otp": code}).status_code
        == 200
    )
    assert (
        api.client.post("/api/v1/auth/session", json={"service_no": service_no, "otp": code}).status_code
        == 401
    )


def test_otps_to_a_number_back_off_progressively(api: Api, consumer: Any) -> None:
    """Unused OTPs to one number from one caller: the 2nd waits 30 s, the 3rd 2 minutes, the 4th
    10 minutes, the 5th 30 minutes, then no more that day. Requests in between get the same 202
    and send nothing."""
    service_no, mobile = consumer(1)

    def ask() -> int:
        assert api.client.post("/api/v1/auth/otp", json={"service_no": service_no}).status_code == 202
        return sum(1 for s in api.texts.sent if s.to == mobile)

    assert ask() == 1
    for wait in (30, 120, 600, 1800):
        api.clock.advance(seconds=wait - 1)
        before = ask()
        api.clock.advance(seconds=1)
        assert ask() == before + 1, wait
    api.clock.advance(hours=12)
    assert ask() == 5  # the caller's five of the day are used up
    api.clock.advance(hours=12, seconds=1)
    assert ask() == 6


def test_a_used_otp_does_not_slow_the_next_one(api: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1)
    for _ in range(3):  # signing in three times in a row: each OTP used, none held back
        api.consumer_token(service_no, mobile)
    assert sum(1 for s in api.texts.sent if s.to == mobile) == 3


def test_the_otp_is_stored_hashed_and_recorded_masked(api: Api, consumer: Any) -> None:
    import sqlalchemy as sa

    from wattwallet.store import schema

    service_no, mobile = consumer(1, language="te")
    api.client.post("/api/v1/auth/otp", json={"service_no": service_no})
    code = api.last_otp(mobile)
    assert "సైన్ ఇన్" in api.texts.last_to(mobile).text  # type: ignore[union-attr]
    with api.ctx.store.read() as conn:
        stored = conn.execute(sa.select(schema.otps)).one()
        texts = conn.execute(sa.select(schema.notifications.c.text)).scalars().all()
    assert code not in (stored.code_hash, stored.salt)
    assert all(code not in text for text in texts) and any("XXXXXX" in text for text in texts)


def test_staff_sign_in_and_lockout(api: Api) -> None:
    token = api.staff_token("billing")
    assert token
    bad = {"username": "billing.user", "password": "wrong password here"}
    for _ in range(5):
        assert api.client.post("/api/v1/auth/staff/session", json=bad).status_code == 401
    good = {"username": "billing.user", "password": STAFF_PASSWORD}
    assert api.client.post("/api/v1/auth/staff/session", json=good).status_code == 401
    api.clock.advance(minutes=15, seconds=1)
    assert api.client.post("/api/v1/auth/staff/session", json=good).status_code == 200


def test_sign_out_ends_the_session(api: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1)
    token = api.consumer_token(service_no, mobile)
    assert api.client.delete("/api/v1/auth/session", headers=bearer(token)).status_code == 204
