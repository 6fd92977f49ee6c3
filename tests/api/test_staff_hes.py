"""The field team's view of what the head-end link refused and of relay mismatches (both databases).
How rows get there is tests/hes' business; here: the staff routes show them, newest first."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from tests.api.conftest import Api, bearer
from wattwallet.hes.mqtt import rejects
from wattwallet.store import schema


def test_field_staff_see_rejected_messages_newest_first_and_by_reason(api: Api) -> None:
    now = api.clock()
    with api.ctx.store.write() as conn:
        rejects.add(
            conn,
            [
                rejects.Reject(
                    "wattwallet/hes/readings/SM-X", "reading", "unknown_meter", "no such meter", "{}"
                )
            ],
            now=now,
        )
        rejects.add(
            conn,
            [rejects.Reject("wattwallet/hes/acks/SM-Y", "ack", "malformed_json", "not JSON", "{oops")],
            now=now + dt.timedelta(minutes=1),
        )
    token = bearer(api.staff_token("field"))
    found = api.client.get("/api/v1/staff/hes/rejects", headers=token).json()
    assert [r["reason"] for r in found] == ["malformed_json", "unknown_meter"]
    assert found[0]["payload"] == "{oops" and found[0]["received_at"].endswith("+05:30")
    only = api.client.get(
        "/api/v1/staff/hes/rejects", params={"reason": "unknown_meter"}, headers=token
    ).json()
    assert [r["topic"] for r in only] == ["wattwallet/hes/readings/SM-X"]


def test_field_staff_see_open_relay_mismatches(api: Api, consumer: Any) -> None:
    service_no, _ = consumer(1)
    now = api.clock()
    row = {
        "service_no": service_no,
        "meter_serial": "SM000001",
        "reported_relay": "open",
        "expected_relay": "closed",
        "connection_state": "active",
        "cause": "manual",
        "reported_at": now,
        "detected_at": now,
        "action": "reconnect_issued",
        "command_id": "REC-1",
    }
    with api.ctx.store.write() as conn:
        conn.execute(sa.insert(schema.relay_mismatches), row)
        done = {**row, "command_id": "REC-0", "resolved_at": now, "resolution": "relay_closed"}
        conn.execute(sa.insert(schema.relay_mismatches), done)
    token = bearer(api.staff_token("field"))
    open_ones = api.client.get("/api/v1/staff/hes/relay-mismatches", headers=token).json()
    assert [(m["service_no"], m["command_id"]) for m in open_ones] == [(service_no, "REC-1")]
    every = api.client.get("/api/v1/staff/hes/relay-mismatches", params={"open_only": "false"}, headers=token)
    assert len(every.json()) == 2
