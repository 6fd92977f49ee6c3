"""What every portal page goes through: the session cookie, the language, CSRF on every POST, errors
shown as pages in the reader's language, and rendering.

Pages are plain Starlette routes (not FastAPI's): a page takes no JSON, and a misspelt query
parameter from a link must not turn into a JSON error. Forms are `application/x-www-form-urlencoded`
only (no file uploads anywhere). A handler is a synchronous function of a `Page`; it runs in the
thread pool like the API's routes, because the services it calls are synchronous.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import hmac
import logging
import secrets
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from wattwallet.api import deps
from wattwallet.consumers import access as consumer_access
from wattwallet.consumers import account as account_views
from wattwallet.consumers import sessions
from wattwallet.domain import errors, money
from wattwallet.messaging import formatting
from wattwallet.web import i18n
from wattwallet.web import settings as web_settings

log = logging.getLogger("wattwallet.web")

SESSION_COOKIE = "ww_session"
CSRF_COOKIE = "ww_csrf"
LANG_COOKIE = "ww_lang"
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FIELD = 2000


class NotSignedIn(Exception):
    pass


class FormRefused(Exception):
    """A POST without a valid CSRF token: stale, forged, or from a page of another session."""


@dataclasses.dataclass
class Portal:
    """What the pages share: the API's runtime (context, clock) and the portal's own settings."""

    runtime: deps.Runtime
    settings: web_settings.WebSettings
    key: bytes
    environments: dict[str, jinja2.Environment]


@dataclasses.dataclass
class Page:
    portal: Portal
    request: Request
    form: dict[str, str]
    session: sessions.Session | None
    token: str | None
    lang: str
    csrf: str
    csrf_cookie: str
    service_no: str | None = None
    connection: account_views.ConnectionSummary | None = None
    cookies: list[tuple[str, str, int | None]] = dataclasses.field(default_factory=list)

    @property
    def rt(self) -> deps.Runtime:
        return self.portal.runtime

    def _(self, message: str, **values: Any) -> str:
        text = i18n.translations(self.lang).gettext(message)
        return text % values if values else text

    def query(self, name: str) -> str:
        return self.request.query_params.get(name, "")[:MAX_FIELD]

    def field(self, name: str) -> str:
        return self.form.get(name, "")[:MAX_FIELD]

    def caller(self) -> str:
        peer = self.request.client.host if self.request.client is not None else None
        return deps.client_address(
            peer, self.request.headers.getlist("x-forwarded-for"), self.rt.trusted_proxies
        )

    def url(self, tail: str = "") -> str:
        """A path under the connection in view."""
        return f"/c/{self.service_no}/{tail}"

    def set_cookie(self, name: str, value: str, max_age: int | None = None) -> None:
        self.cookies.append((name, value, max_age))


def csrf_for(*, token: str | None, pre_session: str) -> str:
    """Signed in: derived from the session token (which the page's scripts cannot read), so it is
    good for that session only. Before sign-in: derived from the pre-session cookie."""
    if token:
        return hashlib.sha256(b"ww-csrf:" + token.encode()).hexdigest()[:40]
    return hmac.new(pre_session.encode(), b"ww-csrf", hashlib.sha256).hexdigest()[:40]


def safe_next(value: str) -> str:
    """A local path to go back to; anything else (another host, a scheme) becomes the start page."""
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 32 for c in value)
    ):
        return "/"
    return value


def redirect(page: Page, location: str) -> Response:
    response = RedirectResponse(location, status_code=303)
    _finish(page, response)
    return response


def render(page: Page, template: str, *, status: int = 200, **values: Any) -> Response:
    env = page.portal.environments[page.lang]
    other = "te" if page.lang == "en" else "en"
    body = env.get_template(template).render(
        page=page,
        lang=page.lang,
        other_lang=other,
        other_lang_name=i18n.NAMES[other],
        csrf=page.csrf,
        service_no=page.service_no,
        connection=page.connection,
        signed_in=page.session is not None,
        here=page.request.url.path + (f"?{page.request.url.query}" if page.request.url.query else ""),
        inr=money.inr,
        day=lambda d: formatting.day_text(d, page.lang),
        instant=lambda i: formatting.instant_text(i, page.lang),
        **values,
    )
    response = HTMLResponse(body, status_code=status)
    _finish(page, response)
    return response


def _finish(page: Page, response: Response) -> None:
    secure = page.request.url.scheme == "https"
    for name, value, max_age in page.cookies:
        if value:
            response.set_cookie(
                name, value, max_age=max_age, path="/", httponly=True, secure=secure, samesite="lax"
            )
        else:
            response.delete_cookie(name, path="/", httponly=True, secure=secure, samesite="lax")


Handler = Callable[[Page], Response]


def page_route(
    portal: Portal,
    path: str,
    handler: Handler,
    *,
    methods: tuple[str, ...] = ("GET",),
    signed_in: bool = False,
    connection: bool = False,
    name: str | None = None,
) -> Route:
    async def endpoint(request: Request) -> Response:
        form: dict[str, str] = {}
        if request.method == "POST":
            if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
                return HTMLResponse("forms only", status_code=415)
            raw = await request.body()
            form = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        return await run_in_threadpool(_handle, portal, request, form, handler, signed_in, connection)

    return Route(path, endpoint, methods=list(methods), name=name)


async def answer_unrouted(portal: Portal, request: Request, handler: Handler) -> Response:
    """A page for a path no route has (any method): no form is read and no token checked."""
    return await run_in_threadpool(_handle, portal, request, {}, handler, False, False, False)


def _handle(
    portal: Portal,
    request: Request,
    form: dict[str, str],
    handler: Handler,
    signed_in: bool,
    connection: bool,
    check_form: bool = True,
) -> Response:
    rt = portal.runtime
    token = request.cookies.get(SESSION_COOKIE) or None
    session = sessions.resolve(rt.ctx, token, now=rt.now()) if token else None
    if session is not None and session.kind != sessions.CONSUMER:
        session = None
    if session is None:
        token = None
    pre = request.cookies.get(CSRF_COOKIE, "")
    page = Page(
        portal=portal,
        request=request,
        form=form,
        session=session,
        token=token,
        lang=_language(request),
        csrf="",
        csrf_cookie=pre,
    )
    if not pre or len(pre) > 100:
        page.csrf_cookie = secrets.token_urlsafe(24)
        page.set_cookie(CSRF_COOKIE, page.csrf_cookie)
    page.csrf = csrf_for(token=token, pre_session=page.csrf_cookie)
    try:
        if request.method == "POST" and check_form:
            sent = form.get("csrf", "")
            if not pre or not hmac.compare_digest(sent.encode(), page.csrf.encode()):
                raise FormRefused
        if (signed_in or connection) and session is None:
            raise NotSignedIn
        if connection and session is not None:
            page.service_no = consumer_access.check_owner(
                rt.ctx, session, request.path_params.get("service_no")
            )
            page.connection = account_views.summary(rt.ctx, service_no=page.service_no)
            page.lang = page.connection.language
        return handler(page)
    except NotSignedIn:
        if request.method == "GET":
            return redirect(page, "/sign-in?" + urllib.parse.urlencode({"next": safe_next(request.url.path)}))
        return redirect(page, "/sign-in")
    except FormRefused:
        log.info("form refused on %s: missing or wrong CSRF token", request.url.path)
        return render(page, "error.html", status=403, problem="csrf")
    except consumer_access.NotYourConnection:
        return render(page, "error.html", status=404, problem="not_found")
    except errors.NotFound:
        return render(page, "error.html", status=404, problem="not_found")


def _language(request: Request) -> str:
    return i18n.pick(request.cookies.get(LANG_COOKIE)) or i18n.from_accept_language(
        request.headers.get("accept-language", "")
    )


def problem_text(page: Page, exc: errors.WattWalletError, known: Mapping[str, str]) -> str:
    """A service error as a sentence in the reader's language: the page's own words for codes it
    knows, else a general sentence (the service's English text is for the API and the logs)."""
    text = known.get(exc.code)
    if text is None:
        log.info("portal shows a general message for %s", exc.code)
        return page._("That could not be done (%(code)s). Please check and try again.", code=exc.code)
    values = {k: str(v) for k, v in exc.details.items()}
    if "minimum" in values:
        with contextlib.suppress(errors.WattWalletError):
            values["minimum"] = money.inr(money.parse_rupees(values["minimum"]))
    return page._(text, **values)
