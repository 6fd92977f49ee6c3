"""The FastAPI application: routers under /api/v1, problem documents for every error."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator

import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from wattwallet import config
from wattwallet.api import (
    agents,
    auth,
    billing_mode,
    consumer,
    deliveries,
    deps,
    hardening,
    payments,
    problems,
    staff,
)
from wattwallet.api import bills as bill_routes
from wattwallet.context import Context
from wattwallet.jobs import background as jobs
from wattwallet.web import portal

API_PREFIX = "/api/v1"
# Answers about someone (sign-in, a consumer's own data, staff look-ups, receipts): never cached.
PERSONAL = ("auth", "me", "staff", "agent", "payments", "bills")
DOCS_ASSETS = f"{API_PREFIX}/docs/assets"


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
        docs_url=None,  # served below from the package's own Swagger UI, when the setting allows
        redoc_url=None,
        dependencies=[Depends(deps.known_query_only)],
        # A redirect to the slashed or unslashed path would name the caller's own Host header.
        redirect_slashes=False,
    )
    app.state.runtime = runtime or deps.Runtime(ctx=ctx, settings=settings)
    problems.install(app)
    routers = (
        auth.router,
        consumer.router,
        billing_mode.router,
        staff.router,
        deliveries.router,
        payments.router,
        agents.router,
        bill_routes.public,
        bill_routes.mine,
        bill_routes.staff_router,
    )
    for router in routers:
        app.include_router(router, prefix=API_PREFIX, responses=problems.RESPONSES)
    page = _docs_page()
    if settings.docs:
        _serve_docs(app, page)
    portal.mount(app, app.state.runtime)  # the consumer portal at /, after every /api/v1 route
    app.add_middleware(
        hardening.Guard,
        max_body_bytes=settings.max_body_bytes,
        hsts_seconds=settings.hsts_seconds,
        no_store_prefixes=tuple(f"{API_PREFIX}/{part}" for part in PERSONAL),
        docs_path=f"{API_PREFIX}/docs",
        docs_csp=_docs_csp(page),
    )
    return app


def _docs_page() -> bytes:
    """Swagger UI's page, its script and style from the swagger-ui-bundle package (no CDN)."""
    page = get_swagger_ui_html(
        openapi_url=f"{API_PREFIX}/openapi.json",
        title="WattWallet API",
        swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
    )
    return bytes(page.body)


def _docs_csp(page: bytes) -> str:
    """Only this origin, and of inline script only the page's own (by its hash); no framing."""
    inline = [
        "'sha256-" + base64.b64encode(hashlib.sha256(found).digest()).decode() + "'"
        for found in re.findall(rb"<script>(.*?)</script>", page, flags=re.S)
    ]
    return (
        f"default-src 'none'; script-src 'self' {' '.join(inline)}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'none'"
    )


def _serve_docs(app: FastAPI, page: bytes) -> None:
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_bundle.swagger_ui_path)), name="docs-assets")

    @app.get(f"{API_PREFIX}/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page)
