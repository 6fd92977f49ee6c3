"""Acknowledgements from the HES: recorded, then applied through the lifecycle's own code path.

`executed` confirms the command: hes.commands.settle and services.lifecycle change the connection's
state and relay, exactly as for the simulator's confirmations (lifecycle.apply_confirmations is
handed these acks as its head end's confirmations). `failed` sends the command back to pending,
to be retried after the policy's backoff. `accepted` is only recorded. An ack for a command that
is no longer with the HES (settled, superseded, cancelled) changes nothing and is counted `late`;
an ack for a command we never issued, or naming another meter, is rejected.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from wattwallet.context import Context
from wattwallet.domain import events as domain_events
from wattwallet.hes import adapter, commands
from wattwallet.hes.mqtt import protocol, rejects, relay
from wattwallet.lifecycle import relay as lifecycle
from wattwallet.store import schema

APPLIED, LATE, RECORDED, DUPLICATE = "applied", "late", "recorded", "duplicate"
_RELAY_AFTER = {commands.DISCONNECT: "open", commands.RECONNECT: "closed"}


@dataclasses.dataclass(frozen=True, slots=True)
class Received:
    ack: protocol.Ack
    topic: str
    payload: str


@dataclasses.dataclass
class Result:
    counts: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    follow_up: list[str] = dataclasses.field(default_factory=list)  # reconnects to send at once


class _Arrived:
    """A head end whose only news is the acks just received, for lifecycle.apply_confirmations."""

    def __init__(self, confirmations: list[adapter.Confirmation]) -> None:
        self._confirmations = confirmations

    def send(self, command: adapter.Command, *, now: dt.datetime) -> None:
        raise adapter.SendFailed("not a sending head end")

    def confirmations(self, *, until: dt.datetime) -> list[adapter.Confirmation]:
        given, self._confirmations = self._confirmations, []
        return given

    def next_confirmation_at(self) -> dt.datetime | None:
        return None


def handle(ctx: Context, batch: Sequence[Received], *, now: dt.datetime, events: domain_events.Log) -> Result:
    result = Result()
    confirmations: list[adapter.Confirmation] = []
    executed: list[tuple[str, str]] = []  # (service number, relay) of commands that took effect
    h, a = schema.hes_commands, schema.hes_acks
    with ctx.store.write() as conn:
        ids = sorted({item.ack.command_id for item in batch})
        known = {row.id: row for row in conn.execute(sa.select(h).where(h.c.id.in_(ids)))} if ids else {}
        seen = {
            (row.command_id, row.status, row.at)
            for row in conn.execute(
                sa.select(a.c.command_id, a.c.status, a.c.at).where(a.c.command_id.in_(ids))
            )
        }
        open_now = {command_id for command_id, row in known.items() if row.status == "sent"}
        rows, refused = [], []
        for item in batch:
            ack = item.ack
            command = known.get(ack.command_id)
            if command is None or command.meter_serial != ack.meter_serial:
                reason = "unknown_command" if command is None else "ack_meter_mismatch"
                detail = (
                    f"no command {ack.command_id}"
                    if command is None
                    else f"command {ack.command_id} was for meter {command.meter_serial}"
                )
                refused.append(
                    rejects.Reject(item.topic, "ack", reason, detail, item.payload, None, ack.meter_serial)
                )
                result.counts["rejected"] += 1
                result.counts[f"rejected_{reason}"] += 1
                continue
            key = (ack.command_id, ack.status, ack.at)
            if key in seen:
                result.counts[f"ack_{DUPLICATE}"] += 1
                continue
            seen.add(key)
            if ack.status == "accepted":
                outcome = RECORDED
            elif ack.command_id in open_now:
                open_now.discard(ack.command_id)  # a second answer in the same batch is late
                outcome = APPLIED
                at = min(ack.at, now)
                ok = ack.status == "executed" and ack.relay == _RELAY_AFTER.get(command.command)
                detail = ack.detail or ""
                if ack.status == "executed" and not ok:
                    detail = f"executed, but the relay is {ack.relay}"
                confirmations.append(
                    adapter.Confirmation(ack.command_id, ok, at, detail or "failed at the HES")
                )
                if ok and ack.relay is not None:
                    executed.append((command.service_no, ack.relay))
            else:
                outcome = LATE
            result.counts[f"ack_{outcome}"] += 1
            rows.append(
                {
                    "command_id": ack.command_id,
                    "meter_serial": ack.meter_serial,
                    "status": ack.status,
                    "relay": ack.relay,
                    "at": ack.at,
                    "detail": ack.detail,
                    "outcome": outcome,
                    "received_at": now,
                }
            )
        if rows:
            conn.execute(sa.insert(a), rows)
        if refused:
            rejects.add(conn, refused, now=now)
    if confirmations:
        arrived = dataclasses.replace(ctx, head_end=_Arrived(confirmations))
        result.follow_up += lifecycle.apply_confirmations(arrived, until=now, events=events)
        _back_off([c for c in confirmations if not c.ok], ctx=ctx, events=events)
        relay.settled(ctx, executed, now=now)
    return result


def _back_off(failed: list[adapter.Confirmation], *, ctx: Context, events: domain_events.Log) -> None:
    """settle() sends a refused command back to pending at once; wait the policy's backoff first,
    so a meter that keeps refusing is not hammered (reconnects still never give up)."""
    h = schema.hes_commands
    steps = ctx.policy.hes_retry_minutes
    for confirmation in failed:
        with ctx.store.write() as conn:
            row = conn.execute(
                sa.select(h.c.attempts, h.c.status, h.c.service_no, h.c.command).where(
                    h.c.id == confirmation.command_id
                )
            ).one()
            if row.status != "pending":
                continue
            wait = dt.timedelta(minutes=steps[min(max(row.attempts, 1), len(steps)) - 1])
            commands.postpone(
                conn, command_id=confirmation.command_id, until=confirmation.at + wait, only_pending=True
            )
        events.append(
            domain_events.CommandRefused(
                at=confirmation.at,
                connection=row.service_no,
                command=row.command,
                id=confirmation.command_id,
                reason=confirmation.detail,
            )
        )
