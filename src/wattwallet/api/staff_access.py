"""Who may call a staff route, declared once per route: the same list is checked and documented.

The role check is a route dependency, so it runs before the path, query and body are validated: a
caller whose role may not use a route gets 403 whatever they send, and nothing is read or written.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from fastapi.types import DecoratedCallable
from pydantic import BaseModel, ConfigDict, Field

from wattwallet.api import deps, fields
from wattwallet.consumers import sessions
from wattwallet.staff import accounts as staff

ANY_ROLE: tuple[staff.Role, ...] = tuple(staff.Role)
ROLES_KEY = "x-staff-roles"  # in each staff operation of the OpenAPI description

Paise = fields.Paise
Reference = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="The caller's own unique reference (letters, digits, . _ : / -)",
        examples=["CC-2025-000123"],
    ),
]
Instant = fields.Instant
Note = Annotated[str, Field(min_length=1, max_length=2_000, description="What was found or done (kept)")]


class Body(BaseModel):
    """Every staff request body: unknown fields are refused, so a misspelt field is never ignored."""

    model_config = ConfigDict(extra="forbid")


def allowed(roles: tuple[staff.Role, ...]) -> list[str]:
    return [r.value for r in staff.Role if r is staff.Role.ADMIN or r in roles]


def _guard(roles: tuple[staff.Role, ...]) -> Callable[[sessions.Session], None]:
    def check(session: deps.StaffDep) -> None:
        deps.require(session, *roles)

    return check


def route(
    router: APIRouter, method: str, path: str, *roles: staff.Role, **options: Any
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """Declare a staff route that `roles` may call (admins always). The route's docstring becomes
    its description, followed by the roles allowed."""
    names = allowed(roles)

    def decorate(func: DecoratedCallable) -> DecoratedCallable:
        doc = inspect.cleandoc(func.__doc__ or "")
        router.api_route(
            path,
            methods=[method],
            dependencies=[Depends(_guard(roles))],
            description=f"{doc}\n\nRoles allowed: {', '.join(names)}.".strip(),
            openapi_extra={ROLES_KEY: names},
            **options,
        )(func)
        return func

    return decorate


def replayed_doc(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The 200 of a create route that answers a repeat (same reference) with the first result."""
    return {200: {"model": model, "description": "A repeat of an earlier request: the first result"}}


def created(response: Response, *, replayed: bool) -> None:
    """201 when something new was made, 200 when the reference had been seen before."""
    response.status_code = status.HTTP_200_OK if replayed else status.HTTP_201_CREATED
