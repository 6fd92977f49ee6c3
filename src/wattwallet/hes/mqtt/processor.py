"""Inbound messages, parsed and taken in batches. No MQTT here.

`parse` never raises: what cannot be taken becomes a Reject. `process` writes a batch. Order inside a
batch: rejects, readings (in bulk), acks (so that state is current), relay reports (checked
against that state), then the reconnects those made necessary are sent.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
from collections.abc import Sequence

from wattwallet.context import Context
from wattwallet.domain import events as domain_events
from wattwallet.hes.mqtt import acks, protocol, rejects, relay
from wattwallet.lifecycle import ingest
from wattwallet.lifecycle import relay as lifecycle

log = logging.getLogger("wattwallet.hes.mqtt")

Parsed = ingest.Message | acks.Received | relay.Received | rejects.Reject
_LABELS = {protocol.READINGS: "reading", protocol.ACKS: "ack", protocol.RELAY: "relay"}


def parse(topics: protocol.Topics, topic: str, payload: bytes) -> Parsed:
    kind, meter = "other", None
    try:
        kind, meter = topics.split(topic)
        if kind == protocol.READINGS:
            return protocol.parse_reading(payload, topic=topic, topic_meter=meter)
        if kind == protocol.ACKS:
            return acks.Received(
                protocol.parse_ack(payload, topic_meter=meter), topic, rejects.text_of(payload)
            )
        report = protocol.parse_relay(payload, topic_meter=meter)
        return relay.Received(report, topic, rejects.text_of(payload))
    except protocol.Malformed as exc:
        text = rejects.text_of(payload)
        return rejects.Reject(topic, _LABELS.get(kind, "other"), exc.reason, exc.detail, text, None, meter)
    except Exception as exc:  # a bug must not stop the link: keep the message, say what broke
        log.exception("cannot parse a message on %s", topic)
        detail = f"parsing failed: {type(exc).__name__}"
        return rejects.Reject(
            topic, _LABELS.get(kind, "other"), "processing_error", detail, rejects.text_of(payload)
        )


def as_reject(item: Parsed, reason: str, detail: str) -> rejects.Reject:
    """The message as a reject, for one that could not be processed at all."""
    if isinstance(item, rejects.Reject):
        return item
    if isinstance(item, ingest.Message):
        text = rejects.text_of(item.payload)
        return rejects.Reject(
            item.topic, "reading", reason, detail, text, item.msg_id, item.reading.meter_serial
        )
    kind = "ack" if isinstance(item, acks.Received) else "relay"
    return rejects.Reject(item.topic, kind, reason, detail, item.payload)


def process(ctx: Context, batch: Sequence[Parsed], *, now: dt.datetime) -> collections.Counter[str]:
    """Take a batch; returns what happened, counted. Raises only when the store fails (the caller
    then keeps the batch unacknowledged and tries again)."""
    counts: collections.Counter[str] = collections.Counter(received=len(batch))
    readings = [item for item in batch if isinstance(item, ingest.Message)]
    ack_batch = [item for item in batch if isinstance(item, acks.Received)]
    relay_batch = [item for item in batch if isinstance(item, relay.Received)]
    refused = [item for item in batch if isinstance(item, rejects.Reject)]
    events: domain_events.Log = []
    if refused:
        with ctx.store.write() as conn:
            rejects.add(conn, refused, now=now)
        counts["rejected"] += len(refused)
        counts.update(f"rejected_{r.reason}" for r in refused)
        for r in refused:
            log.warning("HES message rejected (%s) on %s: %s", r.reason, r.topic, r.detail)
    if readings:
        for outcome in ingest.ingest(ctx, readings, now=now):
            counts[f"reading_{outcome.status}"] += 1
            if outcome.status == ingest.REFUSED:
                counts["rejected"] += 1
                counts[f"rejected_{outcome.reason}"] += 1
                log.info(
                    "reading %s of meter %s refused (%s): %s",
                    outcome.message.msg_id,
                    outcome.message.reading.meter_serial,
                    outcome.reason,
                    outcome.detail,
                )
    follow_up: list[str] = []
    if ack_batch:
        done = acks.handle(ctx, ack_batch, now=now, events=events)
        counts.update(done.counts)
        follow_up += done.follow_up
        _log_refused_acks(done.counts)
    if relay_batch:
        checked = relay.handle(ctx, relay_batch, now=now, events=events)
        counts.update(checked.counts)
        follow_up += checked.follow_up
    for command_id in follow_up:
        lifecycle.dispatch(ctx, now=now, events=events, only=command_id)
    log_events(events)
    return counts


def log_events(events: domain_events.Log) -> None:
    """What the link changed, for the operators' log: never a message's text or recipient."""
    for event in events:
        log.info("hes link: %s", {k: v for k, v in event.line().items() if k not in ("text", "sms", "to")})


def _log_refused_acks(counts: collections.Counter[str]) -> None:
    for reason in ("unknown_command", "ack_meter_mismatch"):
        if counts[f"rejected_{reason}"]:
            log.warning("%d HES ack(s) rejected: %s", counts[f"rejected_{reason}"], reason)
    if counts["ack_late"]:
        log.info(
            "%d late HES ack(s): the command was already settled, superseded or cancelled", counts["ack_late"]
        )
