"""Every error answer is an RFC 9457 problem document with a stable machine `code`.

Service errors carry their code already (`WattWalletError.code`); their class decides the status.
Nothing escapes as a bare 500: an unexpected exception is logged with its traceback and answered
with a problem document that reveals nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from wattwallet.domain import errors

log = logging.getLogger("wattwallet.api")
MEDIA_TYPE = "application/problem+json"


# The interface raises the same kinds the services do.
Unauthenticated = errors.Unauthenticated
Forbidden = errors.Forbidden
RateLimited = errors.RateLimited
ServiceUnavailable = errors.Unavailable


class QueryInvalid(errors.InvalidInput):
    code = "query_invalid"


class Problem(BaseModel):
    """The body of every 4xx and 5xx answer."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str
    errors: list[dict[str, Any]] | None = None


def status_of(exc: errors.WattWalletError) -> int:
    # Checked most specific first; an unknown subclass of the base is a 400.
    table: tuple[tuple[type[errors.WattWalletError], int], ...] = (
        (Unauthenticated, 401),
        (Forbidden, 403),
        (RateLimited, 429),
        (ServiceUnavailable, 503),
        (errors.NotFound, 404),
        (errors.Conflict, 409),
        (errors.RuleViolation, 422),
        (errors.InvalidInput, 422),
    )
    for kind, status in table:
        if isinstance(exc, kind):
            return status
    extra = getattr(exc, "http_status", None)
    return extra if isinstance(extra, int) else 400


_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Refused",
    429: "Too many requests",
    500: "Internal error",
    503: "Unavailable",
}


def response(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status, "code": code}
    body["detail"] = detail
    # Details never overwrite the document's own members (a service error may carry a `status`).
    body.update({k: v for k, v in extra.items() if v is not None and k not in body and k != "type"})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 429 and "retry_after_seconds" in extra:
        headers = {"Retry-After": str(extra["retry_after_seconds"])}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.WattWalletError)
    async def _service_error(_request: Request, exc: errors.WattWalletError) -> JSONResponse:
        return response(status_of(exc), exc.code, exc.message, **_safe(exc.details))

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        found = [
            {
                "loc": [str(part) for part in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": e.get("type"),
            }
            for e in exc.errors()
        ]
        return response(
            422, "request_invalid", "the request does not match the API description", errors=found
        )

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's own answer to a body it could not decode (bad UTF-8, a UTF-16 BOM, nesting
            # past the JSON parser's depth): malformed input, a 422 like any other.
            return response(
                422,
                "body_malformed",
                "the request body is not JSON this API can read (UTF-8, not nested too deeply)",
            )
        code = {404: "route_not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(sa.exc.DataError)
    async def _unstorable(request: Request, exc: sa.exc.DataError) -> JSONResponse:
        # Defence in depth: input the routes let through but the database cannot hold (a NUL
        # character, an out-of-range number) is the caller's error, not ours.
        log.warning("database refused input on %s %s: %s", request.method, request.url.path, exc.orig)
        return response(
            422, "input_unstorable", "the input holds characters or numbers that cannot be stored"
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return response(500, "internal_error", "something went wrong on our side; it has been logged")


def _safe(details: dict[str, Any]) -> dict[str, Any]:
    """Details that are plain JSON values (service errors may carry richer objects)."""
    return {k: v for k, v in details.items() if isinstance(v, str | int | float | bool) or v is None}


def _documented(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {MEDIA_TYPE: {}}}


# Declared on every router so the OpenAPI description covers every answer a client can get.
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("Bad request"),
    401: _documented("Not signed in, or the token has expired"),
    403: _documented("Signed in, but the role does not allow this"),
    404: _documented("No such thing, or not yours"),
    409: _documented("Conflicts with what exists"),
    413: _documented("Request body too large"),
    422: _documented("Malformed, or refused by a rule"),
    429: _documented("Too many requests"),
    503: _documented("A needed part is not configured or not reachable"),
}
