"""Issue 17: limits and headers every route has (both databases): bodies capped before they are read,
NUL refused before anything is written, malformed JSON a 422 with its own code, integer path
parameters bounded, no redirect to the caller's Host, and the security headers."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api import gateway
from tests.api.conftest import Api, bearer
from tests.conftest import table_counts
from wattwallet.api import app as api_app

BIG_ID = 2**63  # one past the largest BIGINT


def _chunks(total: int, size: int = 8192) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * min(size, total - sent)
        sent += size


# --- 5: body size ---------------------------------------------------------------------------------


def test_an_oversized_body_is_refused_413_on_every_route_before_it_is_read(api: Api) -> None:
    big = json.dumps({"service_no": "1" * 13, "padding": "x" * (64 * 1024)})
    before = table_counts(api.ctx.store)
    for path in ("/api/v1/auth/otp", "/api/v1/auth/staff/session", "/api/v1/agent/recharges"):
        answer = api.client.post(path, content=big, headers={"Content-Type": "application/json"})
        assert answer.status_code == 413, (path, answer.text)
        assert answer.json()["code"] == "payload_too_large"
        assert answer.headers["content-type"] == "application/problem+json"
    # Chunked, with no length up front: cut off as it arrives.
    streamed = api.client.post("/api/v1/auth/otp", content=_chunks(200 * 1024))
    assert "content-length" not in streamed.request.headers
    assert (streamed.status_code, streamed.json()["code"]) == (413, "payload_too_large")
    assert table_counts(api.ctx.store) == before


def test_a_body_within_the_limit_is_taken(api: Api) -> None:
    padded = '{"service_no": "1234567890123"' + " " * (60 * 1024) + "}"
    answer = api.client.post("/api/v1/auth/otp", content=padded, headers={"Content-Type": "application/json"})
    assert answer.status_code == 202, answer.text


def test_a_declared_length_over_the_limit_is_refused_without_reading(api: Api) -> None:
    from wattwallet.api import hardening

    sent: list[dict[str, Any]] = []
    read: list[bool] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not be reached")

    async def receive() -> dict[str, Any]:
        read.append(True)
        return {"type": "http.request", "body": b"x", "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    guard = hardening.Guard(
        app, max_body_bytes=10, hsts_seconds=0, no_store_prefixes=(), docs_path=None, docs_csp=""
    )
    scope = {"type": "http", "path": "/x", "query_string": b"", "headers": [(b"content-length", b"11")]}
    import asyncio

    asyncio.run(guard(scope, receive, send))
    assert sent[0]["status"] == 413 and read == []


# --- 14: NUL --------------------------------------------------------------------------------------


def test_a_nul_in_a_webhook_event_id_is_refused_alike_on_both_databases(api: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1)
    auth = bearer(api.consumer_token(service_no, mobile))
    intent = api.client.post(
        f"/api/v1/me/connections/{service_no}/payment-intents",
        json={"amount_paise": 50_000, "channel": "portal"},
        headers=auth,
    ).json()
    before = table_counts(api.ctx.store)
    answer = gateway.deliver(api, gateway.event(intent, event_id="evt_\x00_1", paid_at=api.clock()))
    assert (answer.status_code, answer.json()["code"]) == (422, "text_nul"), answer.text
    assert table_counts(api.ctx.store) == before


@pytest.mark.parametrize(
    "path, body",
    [
        ("/api/v1/auth/otp", {"service_no": "12345\x0067890"}),
        ("/api/v1/auth/staff/session", {"username": "ad\x00min", "password": "x"}),
    ],
)
def test_a_nul_in_any_text_field_is_refused(api: Api, path: str, body: dict[str, Any]) -> None:
    answer = api.client.post(path, json=body)
    assert (answer.status_code, answer.json()["code"]) == (422, "text_nul")


def test_a_nul_in_the_path_or_query_is_refused(api: Api) -> None:
    token = api.staff_token("admin")
    for url in ("/api/v1/staff/connections/123%0045", "/api/v1/staff/connections?mobile=98%0076543210"):
        answer = api.client.get(url, headers=bearer(token))
        assert (answer.status_code, answer.json()["code"]) == (422, "text_nul"), url


def test_an_escaped_backslash_before_u0000_is_plain_text_not_nul(api: Api) -> None:
    raw = b'{"service_no": "\\\\u0000"}'  # the seven characters \u0000, no NUL
    answer = api.client.post("/api/v1/auth/otp", content=raw, headers={"Content-Type": "application/json"})
    assert answer.json()["code"] == "service_number_invalid", answer.text  # the route's own check


# --- 15: malformed JSON ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe\x00", b"[" * 5000 + b"]" * 5000, b'{"service_no": "1234567890123"', b"\xc3\x28"],
    ids=["utf-16 bom and nul", "5000 levels", "truncated", "bad utf-8"],
)
def test_malformed_json_answers_422_with_a_code(api: Api, raw: bytes) -> None:
    answer = api.client.post("/api/v1/auth/otp", content=raw, headers={"Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] in {"body_malformed", "request_invalid"}
    assert answer.json()["detail"]


# --- 6: integer path parameters -------------------------------------------------------------------


@pytest.mark.parametrize("action", ["release", "dismiss"])
def test_an_id_past_bigint_is_422_and_the_largest_is_404(api: Api, action: str) -> None:
    auth = bearer(api.staff_token("billing"))
    body = {"note": "checked"}
    too_big = api.client.post(f"/api/v1/staff/holds/{BIG_ID}/{action}", json=body, headers=auth)
    assert (too_big.status_code, too_big.json()["code"]) == (422, "request_invalid"), too_big.text
    largest = api.client.post(f"/api/v1/staff/holds/{BIG_ID - 1}/{action}", json=body, headers=auth)
    assert largest.status_code == 404, largest.text
    negative = api.client.post(f"/api/v1/staff/holds/-1/{action}", json=body, headers=auth)
    assert negative.status_code == 422


def test_every_integer_path_parameter_is_bounded_to_bigint(api: Api) -> None:
    described = api.client.get("/api/v1/openapi.json").json()
    found = 0
    for path, operations in described["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter["in"] == "path" and schema.get("type") == "integer":
                    found += 1
                    assert schema.get("maximum", BIG_ID) <= BIG_ID - 1, (path, parameter["name"])
                    assert schema.get("minimum", -1) >= 0, (path, parameter["name"])
    assert found >= 3


# --- 11: no redirect to the caller's Host ---------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/openapi.json/", "/api/v1/me/", "/api/v1/staff/holds/"])
def test_a_trailing_slash_never_redirects_to_the_callers_host(api: Api, path: str) -> None:
    answer = api.client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert answer.status_code == 404, answer.headers
    assert "location" not in answer.headers


# --- 12: headers ----------------------------------------------------------------------------------


def test_personal_and_sign_in_answers_are_not_stored_and_never_sniffed(api: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1)
    otp = api.client.post("/api/v1/auth/otp", json={"service_no": service_no})
    signed = api.client.post(
        "/api/v1/auth/session", json={"service_no": service_no, "otp": api.last_otp(mobile)}
    )
    me = api.client.get("/api/v1/me", headers=bearer(signed.json()["token"]))
    refused = api.client.get("/api/v1/me")
    for answer in (otp, signed, me, refused):
        assert answer.headers["cache-control"] == "no-store", answer.request.url
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in answer.headers  # plain HTTP
    assert api.client.get("/api/v1/openapi.json").headers["x-content-type-options"] == "nosniff"


def test_hsts_is_sent_over_https(api: Api) -> None:
    answer = api.client.get("https://testserver/api/v1/openapi.json")
    assert answer.headers["strict-transport-security"] == "max-age=31536000"


def test_the_docs_load_nothing_from_elsewhere_and_carry_a_csp(api: Api) -> None:
    answer = api.client.get("/api/v1/docs")
    assert answer.status_code == 200
    assert "http://" not in answer.text and "https://" not in answer.text, answer.text
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'sha256-" in script_src
    (inline,) = re.findall(r"<script>(.*?)</script>", answer.text, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in script_src
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        found = api.client.get(f"/api/v1/docs/assets/{asset}")
        assert found.status_code == 200 and len(found.content) > 10_000, asset


def test_docs_can_be_switched_off(api: Api) -> None:
    from fastapi.testclient import TestClient

    from wattwallet.api import deps

    settings = api.settings.model_copy(update={"docs": False})
    app = api_app.create_app(api.ctx, settings, runtime=deps.Runtime(ctx=api.ctx, settings=settings))
    with TestClient(app) as client:
        assert client.get("/api/v1/docs").status_code == 404
        assert client.get("/api/v1/openapi.json").status_code == 200


def test_the_server_runs_without_a_server_banner() -> None:
    from wattwallet.api import server

    assert server.UVICORN_OPTIONS["server_header"] is False  # and tests/api/test_serve_process.py


# --- 10: money is a real JSON integer -------------------------------------------------------------

NOT_INTEGERS = [True, 10000.0, "10000", 1e4, [10000]]


@pytest.mark.parametrize("amount", NOT_INTEGERS, ids=repr)
def test_money_is_taken_only_as_a_json_integer_on_every_route(api: Api, consumer: Any, amount: Any) -> None:
    service_no, mobile = consumer(1, first_recharge_done=True)
    auth = bearer(api.consumer_token(service_no, mobile))
    key = api.agent_key()
    good = api.client.post(
        f"/api/v1/me/connections/{service_no}/payment-intents",
        json={"amount_paise": 10_000, "channel": "portal"},
        headers=auth,
    )
    assert good.status_code == 201, good.text
    before = table_counts(api.ctx.store)
    asked = {
        "intent": api.client.post(
            f"/api/v1/me/connections/{service_no}/payment-intents",
            json={"amount_paise": amount, "channel": "portal"},
            headers=auth,
        ),
        "agent": api.client.post(
            "/api/v1/agent/recharges",
            json={"service_no": service_no, "amount_paise": amount, "reference": "R-1"},
            headers={"X-API-Key": key},
        ),
        "webhook": gateway.deliver(api, gateway.event(good.json(), amount_paise=amount, paid_at=api.clock())),
    }
    for route, answer in asked.items():
        assert answer.status_code == 422, (route, answer.text)
        assert answer.json()["code"] in {"request_invalid", "webhook_event_invalid"}, route
    assert table_counts(api.ctx.store) == before
