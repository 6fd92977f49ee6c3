"""Consumers reach only their own connections, and only when signed in as a consumer (both
databases). The routes are enumerated from the application itself, so a consumer route added
later is covered without touching this file."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute

from tests.api.conftest import Api, bearer
from tests.conftest import NOW, table_counts
from wattwallet.api import app as api_app
from wattwallet.api import consumer as consumer_api
from wattwallet.lifecycle import short_bills
from wattwallet.store import schema
from wattwallet.wallet import counter

# Well-formed bodies, so that a refusal can only come from who is asking (a route with no entry
# here is sent {}: the ownership check must still answer before the body is looked at).
BODIES: dict[str, dict[str, Any]] = {
    "/complaints": {"kind": "reconnection", "note": "no supply"},
    "/language": {"language": "te"},
    "/mobile-change": {"new_mobile": "+919000000099", "via": "app"},
    "/mobile-change/confirm": {"otp": "123456"},
    "/billing-mode": {"to": "postpaid"},
}
KNOWN = {
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/me/connections/{service_no}/wallet"),
    ("GET", "/api/v1/me/connections/{service_no}/deductions"),
    ("GET", "/api/v1/me/connections/{service_no}/recharges"),
    ("GET", "/api/v1/me/connections/{service_no}/alerts"),
    ("GET", "/api/v1/me/connections/{service_no}/short-bills"),
    ("GET", "/api/v1/me/connections/{service_no}/complaints"),
    ("POST", "/api/v1/me/connections/{service_no}/complaints"),
    ("PUT", "/api/v1/me/connections/{service_no}/language"),
    ("POST", "/api/v1/me/connections/{service_no}/mobile-change"),
    ("POST", "/api/v1/me/connections/{service_no}/mobile-change/confirm"),
    ("GET", "/api/v1/me/connections/{service_no}/billing-mode"),
    ("POST", "/api/v1/me/connections/{service_no}/billing-mode"),
    ("DELETE", "/api/v1/me/connections/{service_no}/billing-mode/pending"),
    ("GET", "/api/v1/me/connections/{service_no}/postpaid"),
}


def consumer_routes(api: Api) -> list[tuple[str, str]]:
    """Every operation the API describes under the consumer tag, and every route of the consumer
    router (in case one is ever left out of the description)."""
    described = api.client.get("/api/v1/openapi.json").json()["paths"]
    found = {
        (method.upper(), path)
        for path, operations in described.items()
        for method, operation in operations.items()
        if "consumer" in operation.get("tags", ())
    }
    found |= {
        (method, api_app.API_PREFIX + route.path)
        for route in consumer_api.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    assert found >= KNOWN, "a consumer route went missing"
    return sorted(found)


def body_for(path: str) -> dict[str, Any] | None:
    return next((body for suffix, body in BODIES.items() if path.endswith(suffix)), {})


def call(api: Api, method: str, path: str, service_no: str, headers: dict[str, str]) -> Any:
    url = path.replace("{service_no}", service_no)
    body = body_for(path) if method in {"POST", "PUT", "PATCH"} else None
    return api.client.request(method, url, json=body, headers=headers)


def everything(api: Api) -> dict[str, Any]:
    """Row counts of every table and the rows a consumer could change in place."""
    with api.ctx.store.read() as conn:
        rows = {
            name: sorted(map(tuple, conn.execute(sa.select(table)).all()))
            for name, table in (
                ("connections", schema.connections),
                ("complaints", schema.complaints),
                ("otps", schema.otps),
            )
        }
    return {"counts": table_counts(api.ctx.store), **rows}


@pytest.fixture
def victim(api: Api, consumer: Any) -> str:
    """Consumer B, with money, a short bill and an open complaint of their own."""
    service_no: str = consumer(2)[0]
    counter.recharge(
        api.ctx, by="sc.test", service_no=service_no, reference="B-1", amount_paise=100_000, now=NOW
    )
    short_bills.raise_bill(
        api.ctx,
        service_no=service_no,
        amount_paise=5_000,
        reason="back-billing",
        ref="SB-B",
        now=NOW,
        events=[],
    )
    return service_no


def test_a_consumer_cannot_reach_anothers_connection_on_any_route(
    api: Api, consumer: Any, victim: str
) -> None:
    own, mobile = consumer(1)
    headers = bearer(api.consumer_token(own, mobile))
    owned_routes = [(m, p) for m, p in consumer_routes(api) if "{service_no}" in p]
    assert len(owned_routes) >= 10
    before = everything(api)
    sent_before = len(api.texts.sent)
    for method, path in owned_routes:
        answers = [call(api, method, path, number, headers) for number in (victim, "9999999999999", "x%20y")]
        for answer in answers:
            assert answer.status_code == 404, (method, path, answer.text)
            assert answer.json()["code"] == "connection_not_found", (method, path)
        # Someone else's connection looks exactly like one that does not exist.
        assert answers[0].json() == answers[1].json(), (method, path)
    assert everything(api) == before
    assert len(api.texts.sent) == sent_before


def test_a_consumers_own_connection_answers_on_every_route(api: Api, consumer: Any, victim: str) -> None:
    """The other side of the test above: the same calls on one's own connection are not refused
    for ownership (so the 404s there are not from a route that 404s for everyone)."""
    own, mobile = consumer(1)
    headers = bearer(api.consumer_token(own, mobile))
    for method, path in consumer_routes(api):
        answer = call(api, method, path, own, headers)
        assert answer.status_code < 500, (method, path, answer.text)
        # A 404 of the route's own (no switch pending to withdraw) is not a refusal of the owner.
        if answer.status_code == 404 and answer.json()["code"] == "connection_not_found":
            pytest.fail(f"{method} {path} refused the owner: {answer.text}")


@pytest.mark.parametrize("who", ["nobody", "garbage", "staff", "signed_out", "expired"])
def test_every_consumer_route_needs_a_consumer_session(api: Api, consumer: Any, who: str) -> None:
    own, mobile = consumer(1)
    headers: dict[str, str] = {}
    if who == "garbage":
        headers = bearer("not-a-token-at-all")
    elif who == "staff":
        headers = bearer(api.staff_token("admin"))
    elif who == "signed_out":
        headers = bearer(api.consumer_token(own, mobile))
        assert api.client.delete("/api/v1/auth/session", headers=headers).status_code == 204
    elif who == "expired":
        headers = bearer(api.consumer_token(own, mobile))
        api.clock.advance(minutes=api.settings.consumer_session_minutes, seconds=1)
    before = everything(api)
    for method, path in consumer_routes(api):
        answer = call(api, method, path, own, headers)
        assert answer.status_code == 401, (who, method, path, answer.text)
        assert answer.json()["code"] == "unauthenticated"
        assert answer.headers["www-authenticate"] == "Bearer"
    assert everything(api) == before
