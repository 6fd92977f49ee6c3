"""The wire protocol with the HES (docs/hes-mqtt.md): topics, and the JSON of each message.

Parsing is strict and names what is wrong: a payload that fails becomes a reject with a reason
code, never an exception that stops the link.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import orjson

from wattwallet.domain import readings
from wattwallet.hes import adapter
from wattwallet.lifecycle import ingest

COMMANDS, ACKS, RELAY, READINGS = "commands", "acks", "relay", "readings"
INBOUND = (ACKS, RELAY, READINGS)
ACK_STATUSES = ("accepted", "executed", "failed")
RELAY_POSITIONS = ("open", "closed")
RELAY_CAUSES = ("command", "manual", "tamper", "power_restore")
MAX_PROFILE_WH = 10**9  # per half-hour: far beyond any LT connection, short of overflow
MAX_ID = 64


class Malformed(Exception):
    """A payload we cannot take. `reason` is the code stored with the reject."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclasses.dataclass(frozen=True, slots=True)
class Ack:
    command_id: str
    meter_serial: str
    status: str  # accepted | executed | failed
    relay: str | None
    at: dt.datetime
    detail: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class RelayReport:
    meter_serial: str
    relay: str  # open | closed
    cause: str
    at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Topics:
    prefix: str

    def command(self, meter_serial: str) -> str:
        return f"{self.prefix}/{COMMANDS}/{meter_serial}"

    def subscriptions(self) -> list[str]:
        return [f"{self.prefix}/{kind}/+" for kind in INBOUND]

    def split(self, topic: str) -> tuple[str, str]:
        """(kind, meter serial) of an inbound topic; Malformed if it is not one of ours."""
        head = self.prefix + "/"
        if topic.startswith(head):
            kind, _, meter = topic[len(head) :].partition("/")
            if kind in INBOUND and meter and "/" not in meter:
                return kind, meter
        raise Malformed(
            "unknown_topic", f"topic {topic!r} is not {self.prefix}/(acks|relay|readings)/<meter>"
        )


def command_payload(
    command: adapter.Command, *, issued_at: dt.datetime, not_after: dt.datetime | None
) -> bytes:
    body: dict[str, Any] = {
        "command_id": command.id,
        "meter": command.meter_serial,
        "action": command.action,
        "issued_at": issued_at.isoformat(),
    }
    if not_after is not None:
        body["not_after"] = not_after.isoformat()
    return orjson.dumps(body)


def _object(payload: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise Malformed("invalid_json", f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise Malformed("invalid_json", "the payload must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str, *, limit: int = MAX_ID) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise Malformed("invalid_field", f"{name} must be a non-empty string of at most {limit} characters")
    return value.strip()


def _choice(body: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = body.get(name)
    if value not in allowed:
        raise Malformed("invalid_field", f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _instant(body: dict[str, Any], name: str) -> dt.datetime:
    value = body.get(name)
    if not isinstance(value, str):
        raise Malformed("invalid_field", f"{name} must be an ISO 8601 time with its UTC offset")
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Malformed("invalid_field", f"{name} {value!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise Malformed("invalid_field", f"{name} {value!r} has no UTC offset")
    return when.astimezone(dt.UTC)  # as the store gives times back: compared without conversion


def _meter(body: dict[str, Any], topic_meter: str) -> str:
    meter = _text(body, "meter", limit=32)
    if meter != topic_meter:
        raise Malformed("meter_topic_mismatch", f"payload names meter {meter}, the topic {topic_meter}")
    return meter


def parse_ack(payload: bytes, *, topic_meter: str) -> Ack:
    body = _object(payload)
    status = _choice(body, "status", ACK_STATUSES)
    relay = body.get("relay")
    if relay is not None and relay not in RELAY_POSITIONS:
        raise Malformed("invalid_field", f"relay must be open or closed, got {relay!r}")
    if status == "executed" and relay is None:
        raise Malformed("invalid_field", "an executed command's ack must say where the relay is")
    detail = body.get("detail")
    return Ack(
        command_id=_text(body, "command_id", limit=40),
        meter_serial=_meter(body, topic_meter),
        status=status,
        relay=relay,
        at=_instant(body, "at"),
        detail=None if detail is None else str(detail)[:500],
    )


def parse_relay(payload: bytes, *, topic_meter: str) -> RelayReport:
    body = _object(payload)
    return RelayReport(
        meter_serial=_meter(body, topic_meter),
        relay=_choice(body, "relay", RELAY_POSITIONS),
        cause=_choice(body, "cause", RELAY_CAUSES),
        at=_instant(body, "at"),
    )


def parse_reading(payload: bytes, *, topic: str, topic_meter: str) -> ingest.Message:
    body = _object(payload)
    register = body.get("register_wh")
    if type(register) is not int or not 0 <= register <= readings.MAX_REGISTER_WH:
        raise Malformed("invalid_field", f"register_wh must be a whole number of Wh ≥ 0, got {register!r}")
    profile = body.get("profile_wh")
    if profile is not None:
        if (
            type(profile) is not list
            or len(profile) != ingest.PROFILE_SLOTS
            or set(map(type, profile)) != {int}  # not bool, not float
            or min(profile) < 0
            or max(profile) > MAX_PROFILE_WH
        ):
            raise Malformed("invalid_field", "profile_wh must be 48 whole numbers of Wh ≥ 0")
        profile = tuple(profile)
    return ingest.Message(
        msg_id=_text(body, "msg_id"),
        reading=readings.Reading(_meter(body, topic_meter), _instant(body, "read_at"), register),
        profile_wh=profile,
        topic=topic,
        payload=payload,
    )
