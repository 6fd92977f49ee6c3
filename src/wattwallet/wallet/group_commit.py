"""Agents' recharges that arrive together are posted together (a group commit).

Retail outlets and kiosks send many recharges at once. Posting each in its own transaction costs
about fifteen statements and a commit per recharge; posting whatever has queued up while the last
batch was being written costs about as many statements for the lot (`recharge_batch`). With one
request waiting, a batch is that one request, so nobody waits for a batch to fill up.

One thread per process posts the batches; callers get a `concurrent.futures.Future` (the HTTP route
awaits it). Each request still gets its own receipt or its own refusal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from wattwallet.context import Context
from wattwallet.wallet import agents, recharges

log = logging.getLogger(__name__)

MAX_BATCH = 64  # recharges per transaction: bounds the time the batch's wallet locks are held


@dataclasses.dataclass(frozen=True)
class _Waiting:
    asked: agents.KeyedRecharge
    received_at: dt.datetime
    answer: Future[recharges.Receipt]


class RechargeQueue:
    def __init__(self, ctx: Context, *, max_batch: int = MAX_BATCH) -> None:
        self._ctx = ctx
        self._max_batch = max_batch
        self._waiting: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._reconnects: ThreadPoolExecutor | None = None
        self._guard = threading.Lock()

    def submit(self, asked: agents.KeyedRecharge, *, now: dt.datetime) -> Future[recharges.Receipt]:
        """Queue one recharge received at `now`; the future holds its receipt or its refusal. A
        future cancelled before its batch is posted is dropped (the till asks again, by reference)."""
        answer: Future[recharges.Receipt] = Future()
        with self._guard:
            if self._thread is None:
                self._reconnects = ThreadPoolExecutor(max_workers=2, thread_name_prefix="reconnects")
                self._thread = threading.Thread(target=self._post_batches, name="recharge-queue", daemon=True)
                self._thread.start()
            self._waiting.put(_Waiting(asked, now, answer))
        return answer

    def close(self, *, timeout: float = 30) -> None:
        """Post what is queued, then stop (a later `submit` starts again)."""
        with self._guard:
            thread, reconnects = self._thread, self._reconnects
            self._thread = self._reconnects = None
            if thread is not None:
                self._waiting.put(None)
        if thread is not None:
            thread.join(timeout)
        if reconnects is not None:
            reconnects.shutdown(wait=True)

    def _post_batches(self) -> None:
        reconnects = self._reconnects
        assert reconnects is not None
        while True:
            first = self._waiting.get()
            batch = [] if first is None else [first]
            closing = first is None
            while not closing and len(batch) < self._max_batch:
                try:
                    more = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    closing = True
                else:
                    batch.append(more)
            try:
                self._post([w for w in batch if w.answer.set_running_or_notify_cancel()], reconnects)
            except Exception as failed:  # never leave a caller waiting, never stop taking requests
                log.exception("a batch of %d agent recharges failed", len(batch))
                for waiting in batch:
                    if not waiting.answer.done():
                        waiting.answer.set_exception(failed)
            if closing:
                return

    def _post(self, batch: list[_Waiting], reconnects: ThreadPoolExecutor) -> None:
        if not batch:
            return
        # Recorded at the latest arrival: no request is recorded before it was received.
        now = max(w.received_at for w in batch)
        asked = [dataclasses.replace(w.asked, received_at=w.received_at) for w in batch]
        # Reconnects go from their own threads: a slow head-end must not hold up the next batch.
        answers = agents.recharge_many(self._ctx, asked, now=now, send_reconnects=False)
        for waiting, found in zip(batch, answers, strict=True):
            if isinstance(found, Exception):
                waiting.answer.set_exception(found)
            else:
                waiting.answer.set_result(found)
                if found.reconnect_command:
                    reconnects.submit(recharges.send_reconnect, self._ctx, found.reconnect_command, now=now)
