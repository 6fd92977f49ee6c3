"""The running link: paho's network thread fills an inbox, one processor thread empties it in batches.

Delivery is at least once, end to end. The consuming link keeps a persistent MQTT session
(stable client id, clean_start off, a session expiry), so the broker holds what arrives while we
are away; and it acknowledges a message to the broker only after the batch that carries it has
committed. A crash loses nothing: the broker sends the unacknowledged messages again, and every
write they cause is idempotent (msg_id, reading time, command status).

One process consumes (the worker); others (the API server) only send commands: `consume=False`
gives them a client of their own with no subscriptions and no session. The scheduler's confirmation
job has nothing to do over MQTT: acknowledgements are applied here, as they arrive (hes.mqtt.acks).

    link = HesLink(settings=settings.hes, rules=ctx.policy)
    ctx = link.attach(ctx)      # ctx.head_end now publishes commands over MQTT
    link.start(ctx)
    ...
    link.stop()
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from wattwallet.context import Context
from wattwallet.domain import events as domain_events
from wattwallet.domain import policy
from wattwallet.hes import commands
from wattwallet.hes.mqtt import client as link_client
from wattwallet.hes.mqtt import headend, processor, protocol, rejects
from wattwallet.hes.mqtt import settings as hes_settings
from wattwallet.lifecycle import relay as lifecycle
from wattwallet.store import schema

log = logging.getLogger("wattwallet.hes.mqtt")

_RETRY_PAUSE = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # seconds between attempts at a batch that failed


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass(slots=True)
class _Queued:
    generation: int  # the connection it came on: a packet id means nothing on another
    mid: int
    qos: int
    topic: str
    payload: bytes


class HesLink:
    def __init__(
        self,
        *,
        settings: hes_settings.HesSettings,
        rules: policy.Policy,
        consume: bool = True,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self.settings = settings
        self.consume = consume
        self.topics = protocol.Topics(settings.topic_prefix)
        client_id = settings.client_id if consume else f"{settings.client_id}-send-{os.getpid()}"
        self._client = link_client.build(settings, client_id=client_id, consume=consume, sink=self._receive)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self.head_end = headend.MqttHeadEnd(
            client=self._client,
            topics=self.topics,
            rules=rules,
            timeout_seconds=settings.send_timeout_seconds,
        )
        self._clock = clock
        self._inbox: collections.deque[_Queued] = collections.deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._resend = threading.Event()
        self._generation = 0
        self._ack_lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()
        self._counts_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ctx: Context | None = None
        self.last_commit = 0.0  # time.monotonic() when the last batch committed

    # -- lifecycle ---------------------------------------------------------------------------

    def attach(self, ctx: Context) -> Context:
        """The context with this link as its head end (commands go out over MQTT)."""
        return dataclasses.replace(ctx, head_end=self.head_end)

    def start(self, ctx: Context) -> None:
        self._ctx = ctx if ctx.head_end is self.head_end else self.attach(ctx)
        link_client.connect(self._client, self.settings, consume=self.consume)
        if self.consume:
            self._thread = threading.Thread(target=self._run, name="hes-link-processor", daemon=True)
            self._thread.start()

    def stop(self, *, timeout: float = 10.0) -> None:
        """Finish the batch in hand, then disconnect. Messages not yet taken stay unacknowledged:
        the broker keeps them for the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._client.disconnect()
        self._client.loop_stop()

    def wait_ready(self, timeout: float) -> bool:
        """Connected (and, when consuming, subscribed)."""
        return self._ready.wait(timeout)

    def connected(self) -> bool:
        return bool(self._client.is_connected())

    def stats(self) -> dict[str, int]:
        with self._counts_lock:
            return dict(self._counts)

    # -- paho's network thread ---------------------------------------------------------------

    def _on_connect(self, client: Any, _userdata: Any, flags: Any, reason: ReasonCode, _props: Any) -> None:
        if reason.is_failure:
            log.warning("HES broker refused the connection: %s", reason)
            return
        with self._ack_lock:
            self._generation += 1
        resumed = bool(getattr(flags, "session_present", False))
        log.info("connected to the HES broker (%s session)", "resumed" if resumed else "new")
        if not self.consume:
            self._ready.set()
            return
        # Always subscribe: idempotent, and the broker may have lost the session (restart, expiry).
        client.subscribe([(topic, SubscribeOptions(qos=1)) for topic in self.topics.subscriptions()])
        self._resend.set()
        self._wake.set()

    def _on_subscribe(
        self, _client: Any, _userdata: Any, _mid: int, reasons: list[ReasonCode], _props: Any
    ) -> None:
        failed = [str(reason) for reason in reasons if reason.is_failure]
        if failed:
            log.error("the HES broker refused our subscriptions: %s", ", ".join(failed))
            return
        self._ready.set()

    def _on_disconnect(
        self, _client: Any, _userdata: Any, _flags: Any, reason: ReasonCode, _props: Any
    ) -> None:
        with self._ack_lock:
            self._generation += 1  # acknowledgements not yet written are dropped with the socket
        self._ready.clear()
        if not self._stopping.is_set():
            log.warning("lost the HES broker (%s): reconnecting", reason)

    def _receive(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        # Parsed later, by the processor: measured, that beats parsing here (less GIL contention).
        self._inbox.append(_Queued(self._generation, mid, qos, topic, payload))
        waiting = len(self._inbox)
        if waiting == 1 or waiting >= self.settings.batch_size:
            self._wake.set()

    # -- the processor thread ----------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self._resend.is_set():
                self._resend.clear()
                self._send_waiting()
            if not self._inbox:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            self._gather()
            size = min(len(self._inbox), self.settings.batch_size)
            batch = [self._inbox.popleft() for _ in range(size)]
            try:
                if not self._take(batch):
                    return  # stopping with the batch unacknowledged: the broker sends it again
            except Exception:  # the processor must outlive any bug; unacknowledged, the batch comes again
                log.exception("the HES link's processor failed on a batch of %d; carrying on", len(batch))
                self._stopping.wait(1.0)

    def _gather(self) -> None:
        """Wait for a full batch, or the flush interval since the first message."""
        deadline = time.monotonic() + self.settings.flush_interval_seconds
        while len(self._inbox) < self.settings.batch_size and not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.wait(left)
            self._wake.clear()

    def _take(self, batch: list[_Queued]) -> bool:
        """Process a batch until it is done (or we are stopping), then acknowledge it."""
        assert self._ctx is not None
        items = [processor.parse(self.topics, queued.topic, queued.payload) for queued in batch]
        attempt = 0
        while True:
            counts = self._process(items, whole=attempt < 2)
            if counts is not None:
                break
            if self._stopping.is_set():
                return False
            pause = _RETRY_PAUSE[min(attempt, len(_RETRY_PAUSE) - 1)]
            attempt += 1
            self._stopping.wait(pause)
        self.last_commit = time.monotonic()
        with self._ack_lock:
            mids = [q.mid for q in batch if q.qos and q.generation == self._generation]
            self._client.ack_many(mids)
        with self._counts_lock:
            self._counts.update(counts)
            self._counts["batches"] += 1
        return True

    def _process(self, items: list[processor.Parsed], *, whole: bool) -> collections.Counter[str] | None:
        """The batch at once (`whole`); else message by message, so that one message that cannot
        be processed is set aside as a reject instead of blocking the link. None: it failed (the
        store itself may be failing): try again later."""
        assert self._ctx is not None
        try:
            return processor.process(self._ctx, items, now=self._clock())
        except Exception:
            log.exception("HES batch of %d message(s) failed", len(items))
        if whole:
            return None
        if len(items) > 1:
            total: collections.Counter[str] = collections.Counter()
            for item in items:
                single = self._process([item], whole=False)
                if single is None:
                    return None
                total.update(single)
            return total
        note = "processing failed; see the link's log at this time"
        try:
            with self._ctx.store.write() as conn:
                rejects.add(
                    conn, [processor.as_reject(items[0], "processing_error", note)], now=self._clock()
                )
        except Exception:
            log.exception("cannot record a reject either: the store is failing")
            return None
        return collections.Counter(received=1, rejected=1, rejected_processing_error=1)

    def _send_waiting(self) -> None:
        """Back on the broker: commands that failed only because the link was down go now, not
        after their backoff."""
        assert self._ctx is not None
        now = self._clock()
        h = schema.hes_commands
        events: domain_events.Log = []
        try:
            with self._ctx.store.write() as conn:
                waiting = (
                    conn.execute(
                        sa.select(h.c.id).where(
                            h.c.status == "pending", h.c.last_error.like(f"{headend.ERROR_PREFIX}%")
                        )
                    )
                    .scalars()
                    .all()
                )
                for command_id in waiting:
                    commands.postpone(conn, command_id=command_id, until=now, only_pending=True)
            for command_id in waiting:
                lifecycle.dispatch(self._ctx, now=now, events=events, only=command_id)
        except Exception:
            log.exception("could not resend the commands held back while the broker was away")
            return
        with self._counts_lock:
            self._counts["commands_resent"] += len(waiting)
        processor.log_events(events)


def attach(
    ctx: Context, config: hes_settings.HesSettings, *, consume: bool
) -> tuple[Context, HesLink | None]:
    """For `serve` and `worker`: with a broker configured, a started link and the context that uses
    it; without one, the context as it is (the in-process simulator) and no link."""
    if config.broker_url is None:
        return ctx, None
    link = HesLink(settings=config, rules=ctx.policy, consume=consume)
    linked = link.attach(ctx)
    link.start(linked)
    return linked, link


def run_link(ctx: Context, config: hes_settings.HesSettings, *, stop: threading.Event) -> None:
    """Run a consuming link until `stop` is set (a process of its own, or a worker's thread)."""
    _linked, link = attach(ctx, config, consume=True)
    if link is None:
        raise ValueError("no HES broker configured (WATTWALLET_HES__BROKER_URL)")
    try:
        stop.wait()
    finally:
        link.stop()
