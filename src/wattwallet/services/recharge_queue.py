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
from concurrent.futures import Future

from wattwallet.context import Context
from wattwallet.services import agents, recharges

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
        self._guard = threading.Lock()
        self._closed = False

    def submit(self, asked: agents.KeyedRecharge, *, now: dt.datetime) -> Future[recharges.Receipt]:
        """Queue one recharge received at `now`; the future holds its receipt or its refusal."""
        answer: Future[recharges.Receipt] = Future()
        with self._guard:
            if self._closed:
                raise RuntimeError("the recharge queue is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._post_batches, name="recharge-queue", daemon=True)
                self._thread.start()
            self._waiting.put(_Waiting(asked, now, answer))
        return answer

    def close(self) -> None:
        """Post what is queued, then stop the thread."""
        with self._guard:
            self._closed = True
            thread = self._thread
            self._waiting.put(None)
        if thread is not None:
            thread.join()

    def _post_batches(self) -> None:
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
            if batch:
                self._post(batch)
            if closing:
                return

    def _post(self, batch: list[_Waiting]) -> None:
        # Recorded at the latest arrival: no request is recorded before it was received.
        now = max(w.received_at for w in batch)
        asked = [dataclasses.replace(w.asked, received_at=w.received_at) for w in batch]
        try:
            answers = agents.recharge_many(self._ctx, asked, now=now)
        except Exception as failed:  # never leave a caller waiting
            log.exception("a batch of %d agent recharges failed", len(batch))
            for waiting in batch:
                waiting.answer.set_exception(failed)
            return
        for waiting, found in zip(batch, answers, strict=True):
            if isinstance(found, Exception):
                waiting.answer.set_exception(found)
            else:
                waiting.answer.set_result(found)
