"""Staff sign-in under attack (issue 17, finding 7): unknown users, locked users and wrong passwords
cost the same argon2 work; a lock-out holds for (username, caller) only; common passwords are
refused when an account is made."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import STAFF_PASSWORD, Api
from wattwallet.staff import accounts as staff

SIGN_IN = "/api/v1/auth/staff/session"


def from_address(api: Api, address: str) -> TestClient:
    """Another client of the same app, calling from `address`."""
    return TestClient(api.client.app, raise_server_exceptions=False, client=(address, 40000))


@pytest.fixture
def known(api: Api) -> str:
    api.staff_token("helpline")  # makes helpline.user with STAFF_PASSWORD
    return "helpline.user"


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every argon2 verification the sign-in runs, by the hash it checked against."""
    seen: list[str] = []
    real = staff._HASHER

    class Counting:
        def verify(self, password_hash: str, password: Any) -> bool:
            seen.append(password_hash)
            return real.verify(password_hash, password)

        def hash(self, password: str) -> str:
            return real.hash(password)

    monkeypatch.setattr(staff, "_HASHER", Counting())
    yield seen


def test_unknown_locked_and_wrong_cost_one_argon2_verification_each(
    api: Api, known: str, verifications: list[str]
) -> None:
    """Today a locked account answers without any argon2 work (3 ms against 130 ms): every case
    must run exactly one verification, so the time tells nothing."""
    cases = [("nobody.here", "whatever password"), (known, "wrong password 1"), ("x", "y")]
    for username, password in cases:
        verifications.clear()
        answer = api.client.post(SIGN_IN, json={"username": username, "password": password})
        assert answer.status_code == 401 and answer.json()["code"] == "login_invalid"
        assert len(verifications) == 1, username
    for n in range(5):  # lock it from this caller
        api.client.post(SIGN_IN, json={"username": known, "password": f"wrong password {n}"})
    verifications.clear()
    locked = api.client.post(SIGN_IN, json={"username": known, "password": STAFF_PASSWORD})
    assert locked.status_code == 401 and locked.json()["code"] == "login_invalid"
    assert len(verifications) == 1
    # The same answer as an unknown user, to the byte.
    unknown = api.client.post(SIGN_IN, json={"username": "nobody.here", "password": STAFF_PASSWORD})
    assert locked.json() == unknown.json()


def test_a_stranger_locks_the_username_only_for_their_own_address(api: Api, known: str) -> None:
    stranger = from_address(api, "203.0.113.66")
    for n in range(5):
        wrong = stranger.post(SIGN_IN, json={"username": known, "password": f"guess number {n}"})
        assert wrong.status_code == 401
    # Locked for the stranger, even with the right password ...
    assert stranger.post(SIGN_IN, json={"username": known, "password": STAFF_PASSWORD}).status_code == 401
    # ... but the colleague at their own desk signs in.
    colleague = from_address(api, "10.20.0.15")
    assert colleague.post(SIGN_IN, json={"username": known, "password": STAFF_PASSWORD}).status_code == 200
    # The stranger's lock lasts its 15 minutes.
    api.clock.advance(minutes=15, seconds=1)
    assert stranger.post(SIGN_IN, json={"username": known, "password": STAFF_PASSWORD}).status_code == 200


def test_a_right_password_clears_the_callers_count(api: Api, known: str) -> None:
    for n in range(4):
        api.client.post(SIGN_IN, json={"username": known, "password": f"guess number {n}"})
    assert api.client.post(SIGN_IN, json={"username": known, "password": STAFF_PASSWORD}).status_code == 200
    for n in range(4):
        api.client.post(SIGN_IN, json={"username": known, "password": f"guess number {n}"})
    assert api.client.post(SIGN_IN, json={"username": known, "password": STAFF_PASSWORD}).status_code == 200


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "passwordpassword", "qwertyuiop123", "asha.k@123456"])
def test_common_and_easily_guessed_passwords_are_refused(api: Api, password: str) -> None:
    """Both passed the old length-only rule; the list of breached and common passwords that
    zxcvbn ships refuses them (the last one: the username and a sequence)."""
    admin = {"Authorization": f"Bearer {api.staff_token('admin')}"}
    new = {"username": "asha.k", "name": "Asha Kumari", "role": "helpline", "password": password}
    answer = api.client.post("/api/v1/staff/users", json=new, headers=admin)
    assert (answer.status_code, answer.json()["code"]) == (422, "password_too_weak"), answer.text
    assert "too common or too easy to guess" in answer.json()["detail"]
    assert password not in answer.text
    with pytest.raises(staff.PasswordTooWeak):
        staff.add(
            api.ctx,
            username="asha.k",
            name="Asha Kumari",
            role_name="billing",
            password=password,
            now=api.clock(),
        )
    good = {**new, "password": "monsoon tariff ledger 2025"}
    assert api.client.post("/api/v1/staff/users", json=good, headers=admin).status_code == 201
