"""Helpers for the staff route tests (this module holds no tests): one token per role per test, so
that signing in again neither costs an argon2 check per request nor adds session rows between two
`table_counts`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.api.conftest import Api, bearer

STAFF = "/api/v1/staff"


class Desk:
    """Calls /staff routes as a role, signing each role in once."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.tokens: dict[str, tuple[str, dt.datetime]] = {}

    def token(self, role: str) -> str:
        """The role's token, signing in again once the test's clock has run past it (15 minutes)."""
        token, expires_at = self.tokens.get(role, ("", self.api.clock.now))
        if self.api.clock.now >= expires_at:
            token = self.api.staff_token(role)
            minutes = self.api.settings.staff_session_minutes
            self.tokens[role] = (token, self.api.clock.now + dt.timedelta(minutes=minutes))
        return token

    def __call__(self, role: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        answer: httpx.Response = self.api.client.request(
            method, STAFF + path, headers=bearer(self.token(role)), **kwargs
        )
        return answer


def refused(answer: httpx.Response, status: int, code: str) -> None:
    """A problem document with this status and code."""
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert answer.headers["content-type"] == "application/problem+json"
