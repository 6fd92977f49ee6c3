"""The portal's routes, mounted on the API's app beside /api/v1; and the headers every page gets."""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import jinja2
from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Mount, Route
from starlette.staticfiles import StaticFiles

from wattwallet.api import deps
from wattwallet.web import base, i18n
from wattwallet.web import settings as web_settings
from wattwallet.web.pages import (
    billing_mode,
    bills,
    complaints,
    home,
    passbook,
    profile,
    pwa,
    recharge,
    signin,
    usage,
)

HERE = Path(__file__).resolve().parent
API_PREFIX = "/api/"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def environments() -> dict[str, jinja2.Environment]:
    found = {}
    for language in i18n.LANGUAGES:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        env.install_gettext_translations(i18n.translations(language), newstyle=True)  # type: ignore[attr-defined]
        found[language] = env
    return found


def mount(app: FastAPI, runtime: deps.Runtime, settings: web_settings.WebSettings | None = None) -> None:
    """Add the portal's pages to `app` (after the API's routes, so /api/v1 keeps its own answers)."""
    chosen = settings or web_settings.WebSettings()
    key = chosen.secret.get_secret_value().encode() if chosen.secret else secrets.token_bytes(32)
    portal = base.Portal(runtime=runtime, settings=chosen, key=key, environments=environments())

    def page(path: str, handler: base.Handler, **options: Any) -> Route:
        return base.page_route(portal, path, handler, **options)

    c = "/c/{service_no}"
    routes: list[Route | Mount] = [
        page("/", signin.start),
        page("/sign-in", signin.sign_in_form),
        page("/sign-in", signin.request_otp, methods=("POST",)),
        page("/sign-in/otp", signin.verify_otp, methods=("POST",)),
        page("/sign-out", signin.sign_out, methods=("POST",)),
        page("/language", signin.switch_language, methods=("POST",)),
        page("/connections", signin.choose, signed_in=True),
        page(f"{c}/", home.home, connection=True),
        page(f"{c}/usage", usage.usage, connection=True),
        page(f"{c}/passbook", passbook.passbook, connection=True),
        page(f"{c}/passbook.csv", passbook.passbook_csv, connection=True),
        page(f"{c}/bills", bills.show, connection=True),
        page(f"{c}/bills/{{month}}.pdf", bills.pdf, connection=True),
        page(f"{c}/recharge", recharge.show, connection=True),
        page(f"{c}/recharge", recharge.start, methods=("POST",), connection=True),
        page(f"{c}/recharge/{{intent_id}}", recharge.receipt, connection=True, name="receipt"),
        page(f"{c}/profile", profile.show, connection=True),
        page(f"{c}/profile/mobile", profile.request_change, methods=("POST",), connection=True),
        page(f"{c}/profile/mobile/confirm", profile.confirm_change, methods=("POST",), connection=True),
        page(f"{c}/profile/channels", profile.channels, methods=("POST",), connection=True),
        page(f"{c}/billing-mode", billing_mode.show, connection=True),
        page(f"{c}/billing-mode", billing_mode.request, methods=("POST",), connection=True),
        page(f"{c}/billing-mode/withdraw", billing_mode.withdraw, methods=("POST",), connection=True),
        page(f"{c}/complaints", complaints.show, connection=True),
        page(f"{c}/complaints", complaints.raise_one, methods=("POST",), connection=True),
        page("/manifest.webmanifest", pwa.manifest),
        page("/sw.js", pwa.service_worker),
        page("/offline", pwa.offline),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app.router.routes.extend(routes)
    # Last: any other path. Under /api/ it is the API's own 404 problem document, as before.
    app.router.routes.append(Route("/{path:path}", _not_found(app, portal), methods=None))
    app.add_middleware(PageHeaders, checkout_url=chosen.checkout_url)


def _not_found(app: FastAPI, portal: base.Portal) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if request.url.path.startswith(API_PREFIX):
            # The API's own answers: 405 where a route has the path but not the method, else 404.
            for route in app.router.routes[:-1]:
                if route.matches(request.scope)[0] is Match.PARTIAL:
                    raise HTTPException(405, "Method Not Allowed")
            raise HTTPException(404, "Not Found")
        return await base.answer_unrouted(portal, request, _page_not_found)

    return endpoint


def _page_not_found(page: base.Page) -> Response:
    return base.render(page, "not_found.html", status=404)


class PageHeaders:
    """The portal's pages: a Content-Security-Policy with no inline script or style, no framing, no
    referrer beyond this origin, and no caching of anything personal (static files excepted)."""

    def __init__(self, app: App, *, checkout_url: str | None) -> None:
        self.app = app
        origin = ""
        if checkout_url:
            parts = urllib.parse.urlsplit(checkout_url)
            origin = f" {parts.scheme}://{parts.netloc}"
        self.csp = (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; "
            f"form-action 'self'{origin}; frame-ancestors 'none'; base-uri 'none'"
        ).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        static = path.startswith("/static/")

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control" or static
                ]
                headers += [
                    (b"content-security-policy", self.csp),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if static:
                    headers.append((b"cache-control", b"public, max-age=86400"))
                elif path != "/sw.js":
                    headers.append((b"cache-control", b"no-store"))
                else:
                    headers.append((b"cache-control", b"no-cache"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, sending)
