"""Junk in every field of every route (huge strings, unicode, SQL-looking text, NUL, wrong types)
gets a 4xx problem document and writes nothing, on both databases. The routes come from the
service's own OpenAPI description, so a route added later is covered without editing this test."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from tests.api.conftest import Api, headers_for
from tests.conftest import table_counts

JUNK: list[Any] = [
    "9" * 100_000,
    "A" * 5_000,
    "తెలుగు\u202e😀\u200b",
    "' OR 1=1; DROP TABLE connections; --",
    "\x00",
    "-1",
    12345,
    -1,
    10**30,
    1.5,
    True,
    None,
    [],
    {"$gt": ""},
]
# Tables a refused request may still touch: sign-in bookkeeping, not business data.
BOOKKEEPING = {
    "api_sessions",
    "otps",
    "notifications",
    "staff_users",
    "otp_requests",
    "auth_failures",
    "security_alerts",
}


def _operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    spec = api.client.get("/api/v1/openapi.json").json()
    return [
        (method.upper(), path, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


def _body_fields(api: Api, operation: dict[str, Any]) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return []
    schema = content["schema"]
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = api.client.get("/api/v1/openapi.json").json()["components"]["schemas"][name]
    return list(schema.get("properties", {}))


@pytest.mark.parametrize("junk", JUNK, ids=lambda j: type(j).__name__ + str(len(str(j))))
def test_junk_in_every_field_is_refused_cleanly(
    api: Api, credentials: dict[str, dict[str, str]], junk: Any
) -> None:
    before = table_counts(api.ctx.store)
    for method, path, operation in _operations(api):
        headers = headers_for(credentials, path)
        url = _fill_path(path, junk)
        params = {
            p["name"]: str(junk)[:2000]
            for p in operation.get("parameters", [])
            if p.get("in") == "query" and not _valid_flag(p, junk)
        }
        fields = _body_fields(api, operation)
        if fields:
            answer = api.client.request(
                method, url, json=dict.fromkeys(fields, junk), params=params, headers=headers
            )
        elif "{" in path or params:
            answer = api.client.request(method, url, params=params, headers=headers)
        else:
            continue  # nothing to put junk in
        where = f"{method} {path} with {str(junk)[:40]!r}"
        assert 400 <= answer.status_code < 500, f"{where}: {answer.status_code} {answer.text[:300]}"
        assert answer.headers["content-type"] == "application/problem+json", where
        assert answer.json()["code"], where
    after = table_counts(api.ctx.store)
    changed = {t for t in before if before[t] != after[t]} - BOOKKEEPING
    assert not changed, f"junk wrote to {changed}"


def _valid_flag(parameter: dict[str, Any], junk: Any) -> bool:
    """`True` is junk for most fields but a fine value of a yes/no flag."""
    types = {parameter.get("schema", {}).get("type")} | {
        option.get("type") for option in parameter.get("schema", {}).get("anyOf", [])
    }
    return "boolean" in types and str(junk).lower() in {"true", "false", "1", "0"}


def _fill_path(path: str, junk: Any) -> str:
    text = urllib.parse.quote(str(junk)[:2000], safe="") or "%20"
    out, rest = "", path
    while "{" in rest:
        head, _, tail = rest.partition("{")
        _, _, rest = tail.partition("}")
        out += head + text
    return out + rest
