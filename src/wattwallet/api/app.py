"""The FastAPI application: routers under /api/v1, problem documents for every error."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI

from wattwallet import config
from wattwallet.api import agents, auth, consumer, deliveries, deps, payments, problems, staff
from wattwallet.context import Context
from wattwallet.jobs import background as jobs

API_PREFIX = "/api/v1"


def create_app(
    ctx: Context,
    settings: config.ApiSettings,
    *,
    runtime: deps.Runtime | None = None,
    background: jobs.Background | None = None,
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The scheduler, dispatcher and HES link run beside the API in `serve` (threads).
        if background is not None:
            background.start()
        try:
            yield
        finally:
            app.state.runtime.recharge_queue.close()
            if background is not None:
                background.stop()

    app = FastAPI(
        lifespan=lifespan,
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
    routers = (auth.router, consumer.router, staff.router, deliveries.router, payments.router, agents.router)
    for router in routers:
        app.include_router(router, prefix=API_PREFIX, responses=problems.RESPONSES)
    return app
