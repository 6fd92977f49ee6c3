"""A stand-in for the SMS gateway, WhatsApp Cloud API and app push service, on 127.0.0.1.

The tests and the demo point the real channel adapters at it, so what goes over the wire is what a
real gateway would get. It checks each request the way the real ones would refuse it (missing
fields, a Unicode text sent as GSM-7, a wrong key: 4xx), keeps what it accepted, and can be told to
fail the next requests (503) or to stall them (the client times out).

In process: `with FakeGateway() as gw: ... gw.received("sms")`. From another process:
`python -m wattwallet.messaging.fake_gateway --port 8025` prints the settings to export, and
GET /_received answers what arrived; POST /_fail {"count": 2, "status": 503}, POST /_hang
{"count": 1, "seconds": 5} and POST /_reset steer it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any, Final

from pydantic import SecretStr

from wattwallet.messaging import stand_in, templates
from wattwallet.messaging.channels import settings as channel_settings

SMS_KEY: Final = "fake-sms-key"
WHATSAPP_TOKEN: Final = "fake-whatsapp-token"
PUSH_KEY: Final = "fake-push-key"
PHONE_NUMBER_ID: Final = "1098765432"
_E164 = re.compile(r"^\+91[6-9][0-9]{9}$")
_WA_TO = re.compile(r"^91[6-9][0-9]{9}$")


class _Refused(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class FakeGateway(stand_in.StandIn):
    """Thread-safe; every accepted message is kept as {"channel", "id", "body", "path"}."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._received: list[dict[str, Any]] = []
        self._requests = 0
        self._failures: list[tuple[str, float]] = []  # ("status", code) or ("hang", seconds), in order
        self._ids = itertools.count(1)
        self.latency = 0.0  # seconds each message request takes (to widen races in tests)
        self._stopping = threading.Event()
        super().__init__(_handler(self), name="fake-gateway", host=host, port=port)
        self._on_stop.append(self._stopping.set)

    def delivery_settings(self, **overrides: Any) -> channel_settings.DeliverySettings:
        """Settings that send every channel here, with short timeouts; `overrides` win."""
        values: dict[str, Any] = {
            "sms": channel_settings.SmsGatewaySettings(
                base_url=self.base_url, api_key=SecretStr(SMS_KEY), timeout_seconds=2.0
            ),
            "whatsapp": channel_settings.WhatsAppSettings(
                base_url=self.base_url,
                phone_number_id=PHONE_NUMBER_ID,
                access_token=SecretStr(WHATSAPP_TOKEN),
                timeout_seconds=2.0,
            ),
            "push": channel_settings.PushSettings(
                base_url=self.base_url, api_key=SecretStr(PUSH_KEY), timeout_seconds=2.0
            ),
            "sending_lease_seconds": 60,
        }
        values.update(overrides)
        return channel_settings.DeliverySettings(**values)

    # --- Steering and reading -----------------------------------------------------------------

    def fail_next(self, count: int, *, status: int = 503) -> None:
        with self._lock:
            self._failures.extend([("status", float(status))] * count)

    def hang_next(self, count: int, *, seconds: float) -> None:
        """Answer the next `count` requests only after `seconds` (longer than the client waits)."""
        with self._lock:
            self._failures.extend([("hang", seconds)] * count)

    def reset(self) -> None:
        with self._lock:
            self._received.clear()
            self._failures.clear()
            self._requests = 0

    def received(self, channel: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._received if channel is None or r["channel"] == channel]

    @property
    def requests(self) -> int:
        """Every message request that reached it, accepted or not."""
        with self._lock:
            return self._requests

    # --- Handling -----------------------------------------------------------------------------

    def _next_failure(self) -> tuple[str, float] | None:
        with self._lock:
            self._requests += 1
            return self._failures.pop(0) if self._failures else None

    def _accept(self, channel: str, path: str, body: dict[str, Any], prefix: str) -> str:
        with self._lock:
            message_id = f"{prefix}{next(self._ids)}"
            self._received.append({"channel": channel, "id": message_id, "path": path, "body": body})
            return message_id

    def handle_post(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        if path == "/_fail":
            self.fail_next(int(body.get("count", 1)), status=int(body.get("status", 503)))
            return 200, {"ok": True}
        if path == "/_hang":
            self.hang_next(int(body.get("count", 1)), seconds=float(body.get("seconds", 5)))
            return 200, {"ok": True}
        if path == "/_reset":
            self.reset()
            return 200, {"ok": True}
        failure = self._next_failure()
        if self.latency:
            self._stopping.wait(self.latency)
        if failure is not None:
            mode, value = failure
            if mode == "hang":
                self._stopping.wait(value)
                return 504, {"error": "stalled on purpose"}
            return int(value), {"error": "failing on purpose"}
        try:
            if path == "/sms":
                return 200, {"id": self._sms(path, headers, body), "status": "accepted"}
            if path == f"/{PHONE_NUMBER_ID}/messages":
                message_id = self._whatsapp(path, headers, body)
                return 200, {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                    "messages": [{"id": message_id}],
                }
            if path == "/push":
                return 200, {"id": self._push(path, headers, body)}
        except _Refused as refused:
            return refused.status, refused.body
        return 404, {"error": f"no such endpoint {path}"}

    def _sms(self, path: str, headers: dict[str, str], body: Any) -> str:
        _authorised(headers, SMS_KEY)
        if not isinstance(body, dict):
            raise _Refused(400, {"error": "JSON object expected"})
        text, to = body.get("text"), body.get("to")
        if not isinstance(text, str) or not text:
            raise _Refused(400, {"error": "text missing"})
        if not isinstance(to, str) or not _E164.match(to):
            raise _Refused(400, {"error": f"invalid number {to!r}"})
        if not re.fullmatch(r"[A-Z]{6}", str(body.get("sender", ""))):
            raise _Refused(400, {"error": "sender header must be 6 capital letters"})
        if not re.fullmatch(r"[0-9]{19}", str(body.get("dlt_template_id", ""))):
            raise _Refused(400, {"error": "DLT template id must be 19 digits"})
        if body.get("unicode") is not (templates.sms_encoding(text) == "UCS-2"):
            raise _Refused(400, {"error": "unicode flag does not match the text"})
        if not templates.load().matches_registration(str(body["dlt_template_id"]), text):
            # What an operator's DLT scrubber does with a text that drifted from its registration.
            raise _Refused(400, {"error": "text does not match the registered DLT template"})
        return self._accept("sms", path, body, "sms-")

    def _whatsapp(self, path: str, headers: dict[str, str], body: Any) -> str:
        _authorised(headers, WHATSAPP_TOKEN)
        template = body.get("template") if isinstance(body, dict) else None
        if (
            not isinstance(body, dict)
            or body.get("messaging_product") != "whatsapp"
            or body.get("type") != "template"
            or not isinstance(template, dict)
        ):
            raise _Refused(400, {"error": {"code": 100, "message": "invalid parameter"}})
        if not _WA_TO.match(str(body.get("to", ""))):
            raise _Refused(400, {"error": {"code": 131026, "message": "message undeliverable"}})
        if template.get("name") not in templates.KINDS:
            raise _Refused(404, {"error": {"code": 132001, "message": "template name does not exist"}})
        language = template.get("language")
        if not isinstance(language, dict) or language.get("code") not in templates.LANGUAGES:
            raise _Refused(404, {"error": {"code": 132001, "message": "template language not found"}})
        components = template.get("components")
        ok = (
            isinstance(components, list)
            and len(components) == 1
            and isinstance(components[0], dict)
            and components[0].get("type") == "body"
            and isinstance(components[0].get("parameters"), list)
            and all(
                isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str)
                for p in components[0]["parameters"]
            )
        )
        if not ok:
            raise _Refused(400, {"error": {"code": 132000, "message": "parameters do not match"}})
        return self._accept("whatsapp", path, body, "wamid.")

    def _push(self, path: str, headers: dict[str, str], body: Any) -> str:
        _authorised(headers, PUSH_KEY)
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) and body.get(k) for k in ("consumer_id", "title", "body")
        ):
            raise _Refused(400, {"error": "consumer_id, title and body are needed"})
        return self._accept("app", path, body, "push-")


def _authorised(headers: dict[str, str], key: str) -> None:
    if headers.get("authorization") != f"Bearer {key}":
        raise _Refused(401, {"error": "bad credentials"})


def _handler(gateway: FakeGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a stalled request)

        def do_GET(self) -> None:
            if self.path == "/_received":
                self._answer(200, {"received": gateway.received(), "requests": gateway.requests})
            else:
                self._answer(404, {"error": f"no such endpoint {self.path}"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw.decode("utf-8")) if raw else {}
            except (UnicodeDecodeError, json.JSONDecodeError):
                self._answer(400, {"error": "body is not JSON"})
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = gateway.handle_post(self.path, headers, body)
            self._answer(status, answer)

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve until interrupted, printing the settings that point WattWallet here."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args(argv)
    gateway = FakeGateway(port=args.port).start()
    url = gateway.base_url
    print(f"fake gateway on {url} (GET {url}/_received)", flush=True)
    for line in (
        f"WATTWALLET_DELIVERY__SMS__BASE_URL={url}",
        f"WATTWALLET_DELIVERY__SMS__API_KEY={SMS_KEY}",
        f"WATTWALLET_DELIVERY__WHATSAPP__BASE_URL={url}",
        f"WATTWALLET_DELIVERY__WHATSAPP__PHONE_NUMBER_ID={PHONE_NUMBER_ID}",
        f"WATTWALLET_DELIVERY__WHATSAPP__ACCESS_TOKEN={WHATSAPP_TOKEN}",
        f"WATTWALLET_DELIVERY__PUSH__BASE_URL={url}",
        f"WATTWALLET_DELIVERY__PUSH__API_KEY={PUSH_KEY}",
    ):
        print(f"export {line}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        gateway.stop()


if __name__ == "__main__":
    main()
