"""The FastAPI application: routers under /api/v1, problem documents for every error."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from wattwallet import config
from wattwallet.api import agents, auth, consumer, deps, payments, problems, staff
from wattwallet.context import Context

API_PREFIX = "/api/v1"


def create_app(ctx: Context, settings: config.ApiSettings, *, runtime: deps.Runtime | None = None) -> FastAPI:
    app = FastAPI(
        title="WattWallet",
        version="1",
        summary="Prepaid smart-meter e-wallets: consumers, staff, payment channels",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        dependencies=[Depends(deps.known_query_only)],
    )
    app.state.runtime = runtime or deps.Runtime(ctx=ctx, settings=settings)
    problems.install(app)
    for router in (auth.router, consumer.router, staff.router, payments.router, agents.router):
        app.include_router(router, prefix=API_PREFIX, responses=problems.RESPONSES)
    return app
