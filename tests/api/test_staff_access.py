"""Who may call each /staff route: every route the app serves is in the table below, a role not
allowed gets 403 `forbidden` and changes nothing, consumers and strangers get 401 (both databases).

Requests carry valid bodies for an existing connection, so that a missing role check would write
something and fail the "nothing changed" comparison.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import routing

from tests.api.conftest import Api, bearer
from tests.conftest import table_counts

PREFIX = "/api/v1/staff"
ALL = {"admin", "billing", "helpline", "service_centre", "field"}

# (method, route) -> roles allowed, admin included: the rule book of issue 4.
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("GET", "/connections/{service_no}"): ALL,
    ("GET", "/connections"): {"admin", "helpline", "service_centre", "billing"},
    ("POST", "/connections/{service_no}/mobile"): {"admin", "helpline", "service_centre"},
    ("POST", "/connections/{service_no}/short-bills"): {"admin", "billing"},
    ("POST", "/connections/{service_no}/dues"): {"admin", "billing"},
    ("POST", "/connections/{service_no}/complaints"): {"admin", "helpline"},
    ("GET", "/complaints"): {"admin", "helpline", "service_centre"},
    ("POST", "/complaints/{ref:path}/resolve"): {"admin", "helpline"},
    ("GET", "/disconnections/queue"): {"admin", "billing", "field"},
    ("GET", "/hes/failures"): {"admin", "billing", "field"},
    ("GET", "/hes/rejects"): {"admin", "billing", "field"},
    ("GET", "/hes/relay-mismatches"): {"admin", "billing", "field"},
    ("GET", "/holds"): {"admin", "billing"},
    ("POST", "/holds/{hold_id}/release"): {"admin", "billing"},
    ("POST", "/holds/{hold_id}/dismiss"): {"admin", "billing"},
    ("GET", "/refunds"): {"admin", "billing"},
    ("POST", "/refunds/{refund_id}/refunded"): {"admin", "billing"},
    ("GET", "/calendar"): {"admin"},
    ("PUT", "/calendar/{day}"): {"admin"},
    ("GET", "/reports/compliance"): {"admin", "billing"},
    ("POST", "/recharges"): {"admin", "service_centre"},
    ("POST", "/users"): {"admin"},
    ("GET", "/deliveries/dead"): {"admin", "helpline"},
    ("POST", "/deliveries/{delivery_id}/retry"): {"admin", "helpline"},
    ("GET", "/security-alerts"): {"admin", "helpline"},
    ("GET", "/connections/{service_no}/bills"): {"admin", "helpline", "service_centre", "billing"},
    ("GET", "/connections/{service_no}/bills/{month}"): {"admin", "helpline", "service_centre", "billing"},
    ("GET", "/connections/{service_no}/bills/{month}.pdf"): {
        "admin",
        "helpline",
        "service_centre",
        "billing",
    },
    ("GET", "/bills/verify/{code}"): {"admin", "helpline", "service_centre", "billing"},
    ("POST", "/connections/{service_no}/billing-mode"): {"admin", "billing", "helpline", "service_centre"},
    ("DELETE", "/connections/{service_no}/billing-mode/pending"): {
        "admin",
        "billing",
        "helpline",
        "service_centre",
    },
    ("GET", "/connections/{service_no}/postpaid"): {"admin", "billing", "helpline", "service_centre"},
    ("PUT", "/connections/{service_no}/deposit"): {"admin", "billing"},
    ("POST", "/postpaid-payments"): {"admin", "service_centre"},
    ("GET", "/postpaid/overdue"): {"admin", "billing"},
}


def staff_routes(api: Api) -> list[tuple[str, str]]:
    """(method, path under /staff) of every route the app serves there (included routers are walked
    through: FastAPI keeps them nested in `app.routes`)."""
    found = []
    for context in routing.iter_route_contexts(api.client.app.routes):  # type: ignore[attr-defined]
        path = context.path or ""
        if isinstance(context.original_route, routing.APIRoute) and path.startswith(PREFIX + "/"):
            found += [(method, path.removeprefix(PREFIX)) for method in sorted(context.methods or ())]
    return found


def request(service_no: str, mobile: str, method: str, path: str) -> dict[str, Any]:
    """A request that an allowed role could act on."""
    values = {
        "service_no": service_no,
        "ref": "1912/DKT/1",
        "hold_id": "1",
        "refund_id": "1",
        "day": "2025-08-16",
        "delivery_id": "1",
        "month": "2025-06",
        "code": "ABCD-EFGH",
    }
    url = PREFIX + re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], path)
    bodies: dict[str, Any] = {
        "/mobile": {"old_mobile": mobile, "new_mobile": "+919000000001", "reference": "CALL-1"},
        "/short-bills": {"amount_paise": 35_000, "reason": "back-billing April", "reference": "SB-1"},
        "/dues": {"amount_paise": 10_000, "reason": "meter test fee", "reference": "DUE-1"},
        "/resolve": {"note": "relay closed on site"},
        "/complaints": {"ref": "1912/DKT/1"},
        "/release": {"note": "real"},
        "/dismiss": {"note": "meter fault"},
        "/calendar/": {"working": False, "reason": "Declared holiday: cyclone"},
        "/recharges": {"service_no": service_no, "amount_paise": 50_000, "reference": "CTR-1"},
        "/billing-mode": {"to": "postpaid"},
        "/deposit": {"amount_paise": 150_000},
        "/postpaid-payments": {"service_no": service_no, "amount_paise": 10_000, "reference": "PP-1"},
        "/users": {"username": "new.user", "name": "New", "role": "field", "password": "a long password!"},
    }
    body = next((b for key, b in bodies.items() if key in path), None) if method != "GET" else None
    params = {"mobile": mobile} if path == "/connections" else {}
    if path in ("/calendar", "/reports/compliance"):
        params = {"from": "2025-06-01", "to": "2025-06-30"}
    return {"method": method, "url": url, "json": body, "params": params}


def test_every_staff_route_has_its_roles_checked_and_documented(api: Api) -> None:
    routes = staff_routes(api)
    assert len(routes) == len(set(routes))
    assert set(routes) == set(ALLOWED)
    spec = api.client.get("/api/v1/openapi.json").json()
    for (method, path), roles in ALLOWED.items():
        operation = spec["paths"][PREFIX + path.replace(":path", "")][method.lower()]
        assert set(operation["x-staff-roles"]) == roles, (method, path)
        assert operation["tags"] == ["staff"]
        assert "Roles allowed: admin" in operation["description"]


def test_a_role_not_allowed_gets_403_and_nothing_changes(api: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1)
    tokens = {role: api.staff_token(role) for role in sorted(ALL)}
    before = table_counts(api.ctx.store)
    refused = 0
    for method, path in staff_routes(api):
        for role in sorted(ALL - ALLOWED[(method, path)]):
            answer = api.client.request(
                **request(service_no, mobile, method, path), headers=bearer(tokens[role])
            )
            assert answer.status_code == 403, (role, method, path, answer.text)
            assert answer.json()["code"] == "forbidden"
            assert answer.headers["content-type"] == "application/problem+json"
            # Checked before the request is read: a malformed body learns nothing more.
            if method != "GET":
                call = {**request(service_no, mobile, method, path), "json": {"unknown": 1}}
                assert api.client.request(**call, headers=bearer(tokens[role])).status_code == 403
            refused += 1
    assert refused > 30
    assert table_counts(api.ctx.store) == before

    # The roles allowed get past the check: answered by the rules (the mobile changes only once,
    # there is no hold 1), never refused for the role, and never a crash.
    for method, path in staff_routes(api):
        for role in sorted(ALLOWED[(method, path)]):
            answer = api.client.request(
                **request(service_no, mobile, method, path), headers=bearer(tokens[role])
            )
            assert answer.status_code not in (401, 403) and answer.status_code < 500, (role, method, path)


def test_consumers_and_strangers_get_401(api: Api, consumer: Any) -> None:
    service_no, mobile = consumer(1)
    consumer_token = api.consumer_token(service_no, mobile)
    before = table_counts(api.ctx.store)
    for method, path in staff_routes(api):
        call = request(service_no, mobile, method, path)
        for headers in (bearer(consumer_token), {}, bearer("not-a-token")):
            answer = api.client.request(**call, headers=headers)
            assert answer.status_code == 401, (headers, method, path, answer.text)
            assert answer.headers["www-authenticate"] == "Bearer"
    assert table_counts(api.ctx.store) == before
