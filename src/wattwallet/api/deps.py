"""What a route needs: the runtime (context, settings, clock) and who is calling."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from wattwallet import config
from wattwallet.api import problems
from wattwallet.consumers import sessions
from wattwallet.context import Context
from wattwallet.staff import accounts as staff
from wattwallet.wallet import group_commit as recharge_queue


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass
class Runtime:
    ctx: Context
    settings: config.ApiSettings
    clock: Callable[[], dt.datetime] = utc_now
    recharge_queue: recharge_queue.RechargeQueue = dataclasses.field(init=False)
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.recharge_queue = recharge_queue.RechargeQueue(self.ctx)
        self.trusted_proxies = tuple(
            ipaddress.ip_network(item, strict=False) for item in self.settings.trusted_proxies
        )

    def now(self) -> dt.datetime:
        return self.clock()


# The light dependencies are coroutines: FastAPI runs a plain function in its thread pool, and two
# thread hops cost an agent recharge more than its validation does.
async def runtime(request: Request) -> Runtime:
    found: Runtime = request.app.state.runtime
    return found


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def _trusted(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(
    peer: str | None,
    forwarded_for: list[str],
    trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
) -> str:
    """Who is calling, for the per-caller limits: the direct peer, unless it is a trusted proxy;
    then the nearest address in X-Forwarded-For (read from the right) that is not a trusted proxy
    itself. Anything to the left of that was written by the client and proves nothing."""
    address = peer or "unknown"
    if not _trusted(address, trusted):
        return address
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a malformed hop: believe no further than the proxy itself
        if not _trusted(hop, trusted):
            return hop
        address = hop
    return address


async def caller(request: Request, rt: RuntimeDep) -> str:
    peer = request.client.host if request.client is not None else None
    return client_address(peer, request.headers.getlist("x-forwarded-for"), rt.trusted_proxies)


CallerDep = Annotated[str, Depends(caller)]

_bearer = HTTPBearer(auto_error=False, description="A session token from /api/v1/auth/...")
_agent_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="A retail outlet's or kiosk's key")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
AgentKeyDep = Annotated[str | None, Depends(_agent_key)]


def _session(rt: Runtime, credentials: HTTPAuthorizationCredentials | None, kind: str) -> sessions.Session:
    if credentials is None:
        raise problems.Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
    found = sessions.resolve(rt.ctx, credentials.credentials, now=rt.now())
    if found is None or found.kind != kind:
        raise problems.Unauthenticated("the token is unknown, expired or signed out; sign in again")
    return found


def consumer_session(rt: RuntimeDep, credentials: BearerDep) -> sessions.Session:
    return _session(rt, credentials, sessions.CONSUMER)


ConsumerDep = Annotated[sessions.Session, Depends(consumer_session)]


def staff_session(rt: RuntimeDep, credentials: BearerDep) -> sessions.Session:
    return _session(rt, credentials, sessions.STAFF)


StaffDep = Annotated[sessions.Session, Depends(staff_session)]


def require(session: sessions.Session, *roles: staff.Role) -> None:
    """Admins may do anything; everyone else only what their role is for."""
    if session.role == staff.Role.ADMIN.value or session.role in {r.value for r in roles}:
        return
    allowed = ", ".join(["admin", *(r.value for r in roles)])
    raise problems.Forbidden(f"this needs one of the roles: {allowed}")


async def known_query_only(request: Request) -> None:
    """Refuse query parameters the route does not take: a misspelt filter must not be ignored."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = {p.alias for p in _query_params(dependant)}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise problems.QueryInvalid(f"unknown query parameter(s): {', '.join(unknown)[:200]}")


def _query_params(dependant: Any) -> list[Any]:
    found = list(dependant.query_params)
    for sub in dependant.dependencies:
        found.extend(_query_params(sub))
    return found
