"""The OTP courier: sends the OTPs asked for, in its own thread beside the outbox's dispatcher.

A consumer waits for an OTP, so it must not queue behind the daily cycle's alerts; its code is never
written to the outbox (`otp.deliver_due` reads the pending requests and sends each once).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

from wattwallet.consumers import otp
from wattwallet.context import Context

log = logging.getLogger("wattwallet.consumers.otp_courier")

PURGE_EVERY_SECONDS = 3600


class OtpCourier:
    def __init__(
        self,
        ctx: Context,
        *,
        poll_seconds: float,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.ctx = ctx
        self.poll_seconds = poll_seconds
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._purged_at = 0.0

    def run_once(self) -> otp.Delivered:
        """Send the OTPs asked for since the last call (and, once an hour, forget old requests)."""
        if time.monotonic() - self._purged_at > PURGE_EVERY_SECONDS:
            otp.purge(self.ctx, now=self.clock())
            self._purged_at = time.monotonic()
        if not otp.pending(self.ctx):
            return otp.Delivered()
        return otp.deliver_due(self.ctx, now=self.clock())

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                handled = self.run_once().handled
            except Exception:  # the database went away, say: keep trying, slowly
                log.exception("OTP courier batch failed")
                self._stop.wait(self.poll_seconds * 10)
                continue
            if not handled:
                self._stop.wait(self.poll_seconds)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("an OTP courier starts once; make a new one")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="otp-courier", daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
