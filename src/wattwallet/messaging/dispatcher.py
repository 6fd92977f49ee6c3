"""Sends what the outbox holds: claims due deliveries, sends each on its channel outside any
transaction, records the outcome.

Several dispatchers (threads, `serve` and `worker` processes) may run against one database: a claim
takes rows no other dispatcher holds and commits before anything is sent, and an outcome is only
written while the claim holds, so a delivery is sent once unless a sender dies between the send
and its record (then it is sent again after the lease: at least once, never lost). A batch's sends
start only while the lease leaves time for a whole send; later ones are handed back unsent.

OTPs have a courier of their own beside the outbox (`consumers.otp_courier`): a consumer waits for
them, so they do not queue behind the daily cycle's alerts, and their codes are never written to the
outbox.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Mapping

from wattwallet.context import Context
from wattwallet.domain import phone
from wattwallet.messaging import channels as channel_adapters
from wattwallet.messaging import deliveries
from wattwallet.messaging.channels import base
from wattwallet.messaging.channels import settings as channel_settings

log = logging.getLogger("wattwallet.messaging.dispatcher")


@dataclasses.dataclass
class Counts:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0  # failed, to be tried again
    dead: int = 0
    released: int = 0  # handed back unsent (lease too short to start)
    lost: int = 0  # the claim ran out before the outcome was recorded

    def add(self, other: Counts) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def dispatch_due(
    ctx: Context,
    channels: Mapping[str, base.Channel],
    *,
    now: dt.datetime,
    limit: int,
    retry: deliveries.Retry = deliveries.Retry(),  # noqa: B008 (frozen, shared safely)
    workers: int = 1,
    send_budget_seconds: float = 40.0,
) -> Counts:
    """Claim up to `limit` deliveries due at `now` on the configured `channels` and send them,
    `workers` at a time. Outcomes are stamped `now` plus the time elapsed since the claim."""
    started = time.monotonic()
    claimed = deliveries.claim(ctx, channels=channels.keys(), now=now, limit=limit, retry=retry)
    counts = Counts(claimed=len(claimed))
    if not claimed:
        return counts
    latest_start = started + retry.lease_seconds - send_budget_seconds

    def stamp() -> dt.datetime:
        return now + dt.timedelta(seconds=time.monotonic() - started)

    def one(message: base.Outgoing) -> Counts:
        result = Counts()
        if time.monotonic() > latest_start:
            result.released += deliveries.release(ctx, message, now=now)  # due again at once
            return result
        try:
            sent = channels[message.channel].send(message)
        except base.DeliveryFailed as exc:
            return _failed(ctx, message, exc, at=stamp(), retry=retry)
        except Exception as exc:  # a bug in an adapter must not stop the others; it is retried
            log.exception("delivery %s on %s: unexpected error", message.delivery_id, message.channel)
            failure = base.GatewayUnavailable(
                f"unexpected {type(exc).__name__} in the {message.channel} adapter"
            )
            return _failed(ctx, message, failure, at=stamp(), retry=retry)
        if deliveries.settle_sent(ctx, message, sent, now=stamp()):
            result.sent += 1
        else:
            result.lost += 1
            log.warning("delivery %s: sent, but its claim had run out", message.delivery_id)
        return result

    if workers <= 1 or len(claimed) == 1:
        outcomes = [one(message) for message in claimed]
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="send") as pool:
            outcomes = list(pool.map(one, claimed))
    for outcome in outcomes:
        counts.add(outcome)
    return counts


def _failed(
    ctx: Context,
    message: base.Outgoing,
    exc: base.DeliveryFailed,
    *,
    at: dt.datetime,
    retry: deliveries.Retry,
) -> Counts:
    result = Counts()
    permanent = isinstance(exc, base.GatewayRefused)
    status = deliveries.settle_failed(
        ctx, message, error=exc.reason, permanent=permanent, now=at, retry=retry
    )
    log.info(
        "delivery %s (%s to %s, attempt %s): %s -> %s",
        message.delivery_id,
        message.channel,
        phone.masked(message.to) if message.to.startswith("+") else "the app",
        message.attempt,
        exc.reason,
        status or "claim lost",
    )
    if status == deliveries.FAILED:
        result.retrying += 1
    elif status == deliveries.DEAD:
        result.dead += 1
    else:
        result.lost += 1
    return result


class Dispatcher:
    """Runs `dispatch_due` in a background thread until stopped: batch after batch while work is
    due, a pause of `poll_seconds` when none is. `serve` and `worker` start one each."""

    def __init__(
        self,
        ctx: Context,
        *,
        settings: channel_settings.DeliverySettings,
        channels: Mapping[str, base.Channel] | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.ctx = ctx
        self.settings = settings
        self._own_channels = channels is None
        self.channels: Mapping[str, base.Channel] = (
            channel_adapters.build(settings) if channels is None else channels
        )
        self.clock = clock
        self.retry = deliveries.Retry.of(settings)
        self.totals = Counts()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    def run_once(self) -> Counts:
        counts = dispatch_due(
            self.ctx,
            self.channels,
            now=self.clock(),
            limit=self.settings.batch_size,
            retry=self.retry,
            workers=self.settings.workers,
            send_budget_seconds=self.settings.send_budget_seconds,
        )
        self.totals.add(counts)
        return counts

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                counts = self.run_once()
            except Exception:  # the database went away, say: keep trying, slowly
                log.exception("dispatcher batch failed")
                self._stop.wait(self.settings.poll_seconds * 5)
                continue
            if counts.claimed < self.settings.batch_size:
                self._stop.wait(self.settings.poll_seconds)

    def start(self) -> None:
        if not self.channels:
            log.warning("no delivery channel is configured: messages stay pending")
        if self._thread is not None or self._closed:
            raise RuntimeError("a dispatcher starts once; make a new one")
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="dispatcher", daemon=True)
        self._thread.start()

    def stop(self, *, timeout: float = 30.0) -> None:
        """Finish the batch in hand (its sends are bounded by the channels' timeouts), then stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._own_channels and not self._closed:
            channel_adapters.close_all(self.channels)
        self._closed = True

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
