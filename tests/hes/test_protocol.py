"""The wire format: what the HES must send, and the reason codes for what it must not."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from wattwallet.domain import clock
from wattwallet.hes import adapter
from wattwallet.hes.mqtt import protocol

TOPICS = protocol.Topics("ww/hes")
READING = {
    "msg_id": "HES-1",
    "meter": "SM1",
    "read_at": "2025-06-03T00:00:00+05:30",
    "register_wh": 12_345,
    "profile_wh": [250] * 48,
}


def test_topics_are_split_into_kind_and_meter() -> None:
    assert TOPICS.split("ww/hes/readings/SM1") == ("readings", "SM1")
    assert TOPICS.command("SM1") == "ww/hes/commands/SM1"
    assert TOPICS.subscriptions() == ["ww/hes/acks/+", "ww/hes/relay/+", "ww/hes/readings/+"]
    for bad in ("ww/hes/commands/SM1", "ww/hes/readings", "other/readings/SM1", "ww/hes/readings/SM1/x"):
        with pytest.raises(protocol.Malformed) as caught:
            TOPICS.split(bad)
        assert caught.value.reason == "unknown_topic"


def test_a_command_carries_its_id_meter_action_and_times() -> None:
    issued = dt.datetime(2025, 6, 4, 10, 0, tzinfo=clock.IST)
    body = orjson.loads(
        protocol.command_payload(
            adapter.Command("DIS-1-1", "1", "SM1", "disconnect"),
            issued_at=issued,
            not_after=issued.replace(hour=13),
        )
    )
    assert body == {
        "command_id": "DIS-1-1",
        "meter": "SM1",
        "action": "disconnect",
        "issued_at": "2025-06-04T10:00:00+05:30",
        "not_after": "2025-06-04T13:00:00+05:30",
    }


def test_a_good_reading_is_parsed() -> None:
    message = protocol.parse_reading(orjson.dumps(READING), topic="ww/hes/readings/SM1", topic_meter="SM1")
    assert message.msg_id == "HES-1"
    assert message.reading.register_wh == 12_345
    assert message.reading.read_at == dt.datetime(2025, 6, 2, 18, 30, tzinfo=dt.UTC)
    assert message.profile_wh == (250,) * 48
    without = protocol.parse_reading(
        orjson.dumps({k: v for k, v in READING.items() if k != "profile_wh"}), topic="t", topic_meter="SM1"
    )
    assert without.profile_wh is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"register_wh": -1}, "invalid_field"),
        ({"register_wh": 1.5}, "invalid_field"),
        ({"register_wh": True}, "invalid_field"),
        ({"register_wh": "12"}, "invalid_field"),
        ({"read_at": "2025-06-03T00:00:00"}, "invalid_field"),  # no offset
        ({"read_at": "tomorrow"}, "invalid_field"),
        ({"msg_id": ""}, "invalid_field"),
        ({"msg_id": "x" * 65}, "invalid_field"),
        ({"meter": "SM2"}, "meter_topic_mismatch"),
        ({"profile_wh": [1] * 47}, "invalid_field"),
        ({"profile_wh": [1] * 47 + [-1]}, "invalid_field"),
        ({"profile_wh": [1] * 47 + [1.0]}, "invalid_field"),
    ],
)
def test_a_bad_reading_is_refused_with_a_reason(change: dict[str, object], reason: str) -> None:
    with pytest.raises(protocol.Malformed) as caught:
        protocol.parse_reading(orjson.dumps(READING | change), topic="t", topic_meter="SM1")
    assert caught.value.reason == reason


@pytest.mark.parametrize("payload", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"])
def test_what_is_not_a_json_object_is_invalid_json(payload: bytes) -> None:
    for parse in (
        lambda: protocol.parse_reading(payload, topic="t", topic_meter="SM1"),
        lambda: protocol.parse_ack(payload, topic_meter="SM1"),
        lambda: protocol.parse_relay(payload, topic_meter="SM1"),
    ):
        with pytest.raises(protocol.Malformed) as caught:
            parse()
        assert caught.value.reason == "invalid_json"


def test_acks_and_relay_reports_are_checked() -> None:
    ack = {
        "command_id": "RCN-1-1",
        "meter": "SM1",
        "status": "executed",
        "relay": "closed",
        "at": READING["read_at"],
    }
    parsed = protocol.parse_ack(orjson.dumps(ack), topic_meter="SM1")
    assert (parsed.status, parsed.relay, parsed.detail) == ("executed", "closed", None)
    for change in ({"status": "done"}, {"relay": "ajar"}, {"relay": None}, {"at": "soon"}):
        with pytest.raises(protocol.Malformed):
            protocol.parse_ack(
                orjson.dumps({k: v for k, v in (ack | change).items() if v is not None}), topic_meter="SM1"
            )
    accepted = protocol.parse_ack(
        orjson.dumps({k: v for k, v in ack.items() if k != "relay"} | {"status": "accepted"}),
        topic_meter="SM1",
    )
    assert accepted.relay is None
    report = {"meter": "SM1", "relay": "open", "cause": "tamper", "at": READING["read_at"]}
    assert protocol.parse_relay(orjson.dumps(report), topic_meter="SM1").cause == "tamper"
    with pytest.raises(protocol.Malformed):
        protocol.parse_relay(orjson.dumps(report | {"cause": "ghost"}), topic_meter="SM1")
