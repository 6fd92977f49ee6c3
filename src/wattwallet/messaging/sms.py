"""Where texts that must reach a phone now (OTPs) are handed over.

Recorded notifications go out through the outbox (`notify.dispatcher`); an OTP's code must never be
stored in clear, so the dispatcher's OTP courier (`services.otp.deliver_due`) hands its text, after
the answer to the request, straight to a `Sender`: `HttpSender` when an SMS
gateway is configured, else `Inbox`, which appends to a local file (a developer's phone), or
`Recorder`, which keeps the last texts in memory (tests and the demo).
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import threading
from pathlib import Path
from typing import Protocol

from wattwallet.domain import errors, phone
from wattwallet.messaging.channels import base, sms_gateway
from wattwallet.messaging.channels import settings as channel_settings

log = logging.getLogger("wattwallet.messaging.sms")


@dataclasses.dataclass(frozen=True)
class Sms:
    to: str  # E.164
    text: str
    sender: str  # the DLT sender header
    dlt_template_id: str
    kind: str


class Sender(Protocol):
    def send(self, sms: Sms) -> None: ...


class Recorder:
    """Keeps the last `keep` texts in memory."""

    def __init__(self, keep: int = 1000) -> None:
        self.sent: collections.deque[Sms] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()

    def send(self, sms: Sms) -> None:
        with self._lock:
            self.sent.append(sms)

    def last_to(self, to: str) -> Sms | None:
        with self._lock:
            return next((s for s in reversed(self.sent) if s.to == to), None)


class Inbox:
    """Appends each text to a JSON-lines file: for a developer without an SMS gateway."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, sms: Sms) -> None:
        line = json.dumps(dataclasses.asdict(sms), ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")


class SmsUnavailable(errors.Unavailable):
    code = "sms_unavailable"


class HttpSender:
    """Sends through the configured SMS gateway at once, one try: the consumer is waiting, and an
    OTP that arrives minutes late is useless. Raises `SmsUnavailable` when the gateway does not
    take it (the courier records that; the consumer asks again)."""

    def __init__(self, gateway: sms_gateway.SmsGateway) -> None:
        self.gateway = gateway

    @classmethod
    def from_settings(cls, settings: channel_settings.SmsGatewaySettings) -> HttpSender:
        """The gateway of the outbox's SMS, with the shorter OTP timeouts."""
        quick = settings.model_copy(update={"timeout_seconds": settings.otp_timeout_seconds})
        return cls(sms_gateway.SmsGateway(quick))

    def send(self, sms: Sms) -> None:
        try:
            self.gateway.submit(
                to=sms.to,
                text=sms.text,
                sender=sms.sender,
                dlt_template_id=sms.dlt_template_id,
                reference=None,
            )
        except base.DeliveryFailed as exc:
            # Not the reason itself: a gateway may echo the text, and this text holds a live code.
            log.warning(
                "SMS gateway did not take a %s to %s: %s", sms.kind, phone.masked(sms.to), type(exc).__name__
            )
            raise SmsUnavailable("the text could not be sent just now; try again in a minute") from None
