"""The world outside the engine in a simulation run: a head end, the SMS / WhatsApp / push gateways
and the payment gateway, each misbehaving as the fault profile says. They live outside the
engine's process, so they survive its deaths: what they hold (commands in flight, messages
received, payments taken) is what a restarted engine must square with.

Faults are injected at the edges, where the engine meets them, so that every line of the engine
runs as in production: the head end through the `hes.adapter.HeadEnd` protocol, the message
gateways as the HTTP responses the real channel adapters read (an `httpx.MockTransport`), the
payment gateway as the signed webhook body the payments path verifies.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
from typing import Any

import httpx

from wattwallet.hes import adapter
from wattwallet.simulation import faults

OPEN, CLOSED = "open", "closed"


@dataclasses.dataclass(frozen=True)
class Send:
    """One command as the head end saw it handed over (taken or refused)."""

    command_id: str
    service_no: str
    action: str
    at: dt.datetime
    taken: bool


class FaultyHeadEnd:
    """A head end that takes commands and confirms them, or not: refusals, outages, lost commands,
    late, doubled and negative acknowledgements, as the profile rolls them. It operates the relays
    it confirms, and remembers every send (the invariants' view of what the engine commanded)."""

    def __init__(self, injector: faults.Injector) -> None:
        self.injector = injector
        self.relays: dict[str, str] = {}  # meter serial -> position; closed unless operated
        self.relay_log: dict[str, list[tuple[dt.datetime, str]]] = collections.defaultdict(list)
        self.sends: list[Send] = []
        self.faulted: set[str] = set()  # commands something went wrong with (not a healthy HES)
        self.outage_until: dt.datetime | None = None
        self._pending: list[tuple[dt.datetime, int, adapter.Confirmation, adapter.Command]] = []
        self._sequence = 0

    def start_outage(self, *, now: dt.datetime, hours: int) -> None:
        self.outage_until = now + dt.timedelta(hours=hours)

    def healthy(self, now: dt.datetime) -> bool:
        return self.outage_until is None or now >= self.outage_until

    def send(self, command: adapter.Command, *, now: dt.datetime) -> None:
        roll = self.injector.roll
        if not self.healthy(now):
            self._refused(command, now, "hes_outage")
        if roll("hes_refuse"):
            self._refused(command, now, "refused")
        self.sends.append(Send(command.id, command.service_no, command.action, now, True))
        if roll("hes_lose"):
            self.faulted.add(command.id)
            return
        delay = dt.timedelta(seconds=self.injector.rng.randrange(20, 300))
        if roll("hes_late_ack"):
            self.faulted.add(command.id)
            delay = dt.timedelta(minutes=self.injector.rng.randrange(16, 240))
        ok = not roll("hes_negative_ack")
        if not ok:
            self.faulted.add(command.id)
        self._add(
            now + delay,
            adapter.Confirmation(command.id, ok, now + delay, "" if ok else "meter busy"),
            command,
        )
        if roll("hes_double_ack"):
            again = now + delay + dt.timedelta(seconds=self.injector.rng.randrange(1, 900))
            self._add(again, adapter.Confirmation(command.id, ok, again), command)

    def _refused(self, command: adapter.Command, now: dt.datetime, why: str) -> None:
        self.sends.append(Send(command.id, command.service_no, command.action, now, False))
        self.faulted.add(command.id)
        raise adapter.SendFailed(f"simulated head end: {why}")

    def _add(self, at: dt.datetime, confirmation: adapter.Confirmation, command: adapter.Command) -> None:
        self._sequence += 1
        self._pending.append((at, self._sequence, confirmation, command))
        self._pending.sort(key=lambda item: (item[0], item[1]))

    def confirmations(self, *, until: dt.datetime) -> list[adapter.Confirmation]:
        due = [item for item in self._pending if item[0] <= until]
        self._pending = [item for item in self._pending if item[0] > until]
        for at, _, confirmation, command in due:
            if confirmation.ok and self.injector.roll("relay_disagree"):
                self.faulted.add(command.id)  # confirmed, but the relay stays where it was
            elif confirmation.ok:
                position = OPEN if command.action == "disconnect" else CLOSED
                if self.relays.get(command.meter_serial, CLOSED) != position:
                    self.relays[command.meter_serial] = position
                    self.relay_log[command.meter_serial].append((at, position))
        return [confirmation for _, _, confirmation, _ in due]

    def next_confirmation_at(self) -> dt.datetime | None:
        return self._pending[0][0] if self._pending else None


class MessageGateways:
    """The SMS, WhatsApp and push gateways behind one mock transport: down for hours, answering
    5xx, or slow (the message is taken but the answer times out, so the dispatcher sends it again
    under the same reference, which the gateway drops as a repeat, as real gateways do)."""

    def __init__(self, injector: faults.Injector) -> None:
        self.injector = injector
        self.now: dt.datetime | None = None  # the simulated time of the request in flight
        self.down_until: dict[str, dt.datetime] = {}
        self.received: collections.Counter[tuple[str, str]] = collections.Counter()  # (path, ref)
        self.requests = 0
        self.recovering = False  # at the end of a run: every gateway healthy

    def start_outage(self, path: str, *, now: dt.datetime, hours: int) -> None:
        self.down_until[path] = now + dt.timedelta(hours=hours)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        path = request.url.path.rsplit("/", 1)[-1] or "root"
        body: dict[str, Any] = json.loads(request.content or b"{}")
        now = self.now
        down = self.down_until.get(path)
        if not self.recovering and now is not None and down is not None and now < down:
            raise httpx.ConnectError("simulated gateway down", request=request)
        if not self.recovering and self.injector.roll("gateway_5xx"):
            return httpx.Response(503, json={"error": "try later"})
        reference = str(body.get("reference") or body.get("biz_opaque_callback_data") or "")
        self.received[(path, reference)] += 1
        if not self.recovering and self.injector.roll("gateway_slow"):
            raise httpx.ReadTimeout("simulated slow gateway", request=request)
        count = sum(self.received.values())
        return httpx.Response(200, json={"id": f"msg-{count}", "messages": [{"id": f"wamid-{count}"}]})
