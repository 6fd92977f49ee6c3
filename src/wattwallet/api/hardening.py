"""What every request and answer goes through before the routes see it: a body size limit, a refusal
of NUL characters, and the security headers.

Pure ASGI (no BaseHTTPMiddleware): the body is read here, counting bytes as they arrive, and refused
413 as soon as it passes the limit, whether or not a Content-Length was sent; only a body within the
limit is handed on to the app (replayed from memory). A NUL character anywhere in the path, the query
or a JSON string is refused 422 here, before any route or database sees it, so SQLite and PostgreSQL
answer alike (PostgreSQL cannot store NUL in text; SQLite would).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from wattwallet.api import problems

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# A JSON string can hold NUL only as the escape \u0000: one preceded by an even number of
# backslashes (an odd run means the backslash itself was escaped, and the text is a plain "\u0000").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class BodyTooLarge(Exception):
    pass


class Guard:
    """Body limit, NUL refusal and headers for every HTTP request under the app."""

    def __init__(
        self,
        app: App,
        *,
        max_body_bytes: int,
        hsts_seconds: int,
        no_store_prefixes: tuple[str, ...],
        docs_path: str | None,
        docs_csp: str,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.hsts_seconds = hsts_seconds
        self.no_store_prefixes = no_store_prefixes
        self.docs_path = docs_path
        self.docs_csp = docs_csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(scope, send)
        query: bytes = scope.get("query_string", b"")
        if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
            await _answer(send, 422, "text_nul", "text may not contain the NUL character (U+0000)")
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _answer(send, 413, "payload_too_large", self._too_large())
            return
        try:
            body, more = await self._read(receive)
        except BodyTooLarge:
            await _answer(send, 413, "payload_too_large", self._too_large())
            return
        if _JSON_NUL.search(body):
            await _answer(send, 422, "text_nul", "text may not contain the NUL character (U+0000)")
            return
        await self.app(scope, _replay(body, more, receive), send)

    def _too_large(self) -> str:
        return f"a request body is at most {self.max_body_bytes} bytes"

    async def _read(self, receive: Receive) -> tuple[bytes, list[Message]]:
        """The whole body, refused as soon as it passes the limit; and any other message that came
        first (a disconnect), to be handed on."""
        body = bytearray()
        other: list[Message] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                other.append(message)
                break
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                raise BodyTooLarge
            if not message.get("more_body", False):
                break
        return bytes(body), other

    def _with_headers(self, scope: Scope, send: Send) -> Send:
        path: str = scope.get("path", "")
        no_store = path.startswith(self.no_store_prefixes)
        docs = self.docs_path is not None and path.startswith(self.docs_path)
        https = scope.get("scheme") == "https"

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                dropped = (b"server", b"cache-control") if no_store else (b"server",)
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in dropped]
                headers.append((b"x-content-type-options", b"nosniff"))
                if no_store:
                    headers.append((b"cache-control", b"no-store"))
                if docs:
                    headers.append((b"content-security-policy", self.docs_csp.encode()))
                    headers.append((b"x-frame-options", b"DENY"))
                if https and self.hsts_seconds > 0:
                    headers.append((b"strict-transport-security", f"max-age={self.hsts_seconds}".encode()))
                message["headers"] = headers
            await send(message)

        return sending


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def _replay(body: bytes, other: list[Message], receive: Receive) -> Receive:
    """Hand the app the body read already, then whatever the server says next."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}, *other]

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def _answer(send: Send, status: int, code: str, detail: str) -> None:
    raw = bytes(problems.response(status, code, detail).body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", problems.MEDIA_TYPE.encode()),
                (b"content-length", str(len(raw)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw, "more_body": False})
