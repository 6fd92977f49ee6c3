"""Lifecycle services on both databases, for the cases the scenarios do not reach."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import NOW, AddConnection, table_counts
from wattwallet.consumers import mobile_change as mobile
from wattwallet.context import Context
from wattwallet.domain import clock, errors, phone, recharge
from wattwallet.domain import events as domain_events
from wattwallet.domain import readings as reading_rules
from wattwallet.hes import commands, simulator
from wattwallet.jobs import schedule
from wattwallet.lifecycle import (
    complaints,
    daily_cycle,
    disconnections,
    holds,
    readings,
    short_bills,
    termination,
)
from wattwallet.lifecycle import relay as lifecycle
from wattwallet.store import connections, schema

IST = clock.IST


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=IST)


def read(ctx: Context, serial: str, when: str, kwh: str) -> readings.Outcome:
    [outcome] = readings.record(
        ctx, [reading_rules.parse(meter_serial=serial, read_at=at(when), kwh=kwh)], now=at(when)
    )
    return outcome


def test_a_connection_due_long_ago_is_disconnected_once_its_hold_is_dismissed(
    ctx: Context, add_connection: AddConnection
) -> None:
    sn = add_connection(meter_serial="SM-OLD", first_recharge_done=True, opening_balance_paise=500)
    events: domain_events.Log = []
    read(ctx, "SM-OLD", "2025-06-03T00:10", "20")  # a normal day takes the balance below the credit
    daily_cycle.run(ctx, now=at("2025-06-03T06:00"), emit=events.append)
    read(ctx, "SM-OLD", "2025-06-04T00:10", "900")  # implausible: held
    daily_cycle.run(ctx, now=at("2025-06-04T06:00"), emit=events.append)
    assert [e.TYPE for e in events].count("disconnection.due") == 1
    [hold] = holds.listing(ctx)
    assert disconnections.run(ctx, now=at("2025-06-05T10:00"), events=events) == 0  # on hold: not cut
    holds.dismiss(ctx, hold_id=hold.id, by="asha", note="meter swapped", now=at("2025-06-16T09:00"))
    # Due since 3 June, more than a week before: the window job still works out its time.
    assert disconnections.run(ctx, now=at("2025-06-16T10:00"), events=events) == 1
    schedule.run_all_now(ctx, now=at("2025-06-16T10:00"), events=events)
    with ctx.store.read() as conn:
        assert connections.get(conn, sn).state.value == "disconnected"


def test_a_reading_older_than_the_installation_is_refused(
    ctx: Context, add_connection: AddConnection
) -> None:
    add_connection(meter_serial="SM-NEW")  # installed at 2025-06-02 09:00 IST
    outcome = read(ctx, "SM-NEW", "2025-06-01T00:10", "3")
    assert (outcome.status, outcome.reason) == ("refused", "reading_before_installation")


def test_unknown_meter_and_future_readings_are_refused(ctx: Context, add_connection: AddConnection) -> None:
    add_connection(meter_serial="SM-F")
    [unknown] = readings.record(
        ctx,
        [reading_rules.parse(meter_serial="SM-NOPE", read_at=at("2025-06-03T00:10"), kwh=1)],
        now=at("2025-06-03T00:10"),
    )
    assert unknown.reason == "unknown_meter"
    [future] = readings.record(
        ctx,
        [reading_rules.parse(meter_serial="SM-F", read_at=at("2025-06-03T00:10"), kwh=1)],
        now=at("2025-06-02T23:00"),
    )
    assert future.reason == "reading_in_future"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"read_at": "yesterday"}, "ISO 8601"),
        ({"read_at": "2025-06-03T00:10:00"}, "UTC offset"),
        ({"kwh": "-1"}, "kWh ≥ 0"),
        ({"kwh": "1.0001"}, "3 decimals"),
        ({"kwh": "abc"}, "number of kWh"),
        ({"kwh": True}, "kWh"),
        ({"meter_serial": ""}, "meter serial"),
    ],
)
def test_malformed_readings_are_refused_before_anything_is_written(
    fields: dict[str, object], message: str
) -> None:
    raw: dict[str, object] = {
        "meter_serial": "SM-1",
        "read_at": "2025-06-03T00:10:00+05:30",
        "kwh": "5",
    } | fields
    with pytest.raises(reading_rules.ReadingInvalid, match=message):
        reading_rules.parse(**raw)


def test_complaints_check_the_connection_and_know_when_they_are_overdue(
    ctx: Context, add_connection: AddConnection
) -> None:
    sn = add_connection()
    events: domain_events.Log = []
    with pytest.raises(connections.UnknownConnection), ctx.store.write() as conn:
        complaints.open_complaint(
            ctx,
            conn,
            service_no="9999999999999",
            kind="reconnection",
            ref="C-1",
            source="consumer",
            now=at("2025-06-03T10:00"),
            events=events,
        )
    with ctx.store.write() as conn:
        opened = complaints.open_complaint(
            ctx,
            conn,
            service_no=sn,
            kind="reconnection",
            ref="C-1",
            source="consumer",
            now=at("2025-06-03T10:00"),
            events=events,
        )
    assert not opened.overdue(now=at("2025-06-03T13:59"))
    assert opened.overdue(now=at("2025-06-03T14:01"))
    with pytest.raises(complaints.ComplaintInvalid):
        complaints.resolve_by_staff(
            ctx, ref="C-1", by="x" * 65, note="done", now=at("2025-06-03T11:00"), events=events
        )
    done = complaints.resolve_by_staff(
        ctx, ref=" C-1 ", by="ravi", note="relay checked", now=at("2025-06-03T11:00"), events=events
    )
    assert done.resolution == "staff" and not done.overdue(now=at("2025-06-09T00:00"))


def test_commands_sent_and_never_confirmed_are_shown_to_staff(
    ctx: Context, add_connection: AddConnection
) -> None:
    sn = add_connection(meter_serial="SM-S")
    head_end = ctx.head_end
    assert isinstance(head_end, simulator.SimulatedHeadEnd)
    head_end.set_delay(24 * 60)  # confirmations a day late
    with ctx.store.write() as conn:
        command_id = commands.issue(
            conn,
            service_no=sn,
            meter_serial="SM-S",
            action="reconnect",
            reason="test",
            now=at("2025-06-03T10:00"),
        )
    lifecycle.dispatch(ctx, now=at("2025-06-03T10:00"), events=[])
    assert commands.failures(ctx, now=at("2025-06-03T10:10")) == []
    [stuck] = commands.failures(ctx, now=at("2025-06-03T10:20"))
    assert (stuck["id"], stuck["status"]) == (command_id, "sent")
    h = schema.hes_commands
    with ctx.store.read() as conn:
        assert conn.execute(sa.select(h.c.attempts).where(h.c.id == command_id)).scalar_one() == 1


def test_a_second_dispatcher_with_a_stale_list_does_not_send_again(
    ctx: Context, add_connection: AddConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    sn = add_connection(meter_serial="SM-TWICE")
    with ctx.store.write() as conn:
        commands.issue(
            conn,
            service_no=sn,
            meter_serial="SM-TWICE",
            action="reconnect",
            reason="test",
            now=at("2025-06-03T10:00"),
        )
    with ctx.store.read() as conn:
        stale = commands.due(conn, now=at("2025-06-03T10:00"))
    sent: list[str] = []
    head_end = ctx.head_end
    assert isinstance(head_end, simulator.SimulatedHeadEnd)
    original_send = head_end.send
    monkeypatch.setattr(
        head_end, "send", lambda command, now: (sent.append(command.id), original_send(command, now=now))
    )
    lifecycle.dispatch(ctx, now=at("2025-06-03T10:00"), events=[])
    monkeypatch.setattr(commands, "due", lambda conn, now, only=None: stale)  # read before the first sent it
    lifecycle.dispatch(ctx, now=at("2025-06-03T10:00"), events=[])
    assert len(sent) == 1


def test_a_helpline_mobile_change_is_audited_and_both_numbers_are_told(
    ctx: Context, add_connection: AddConnection
) -> None:
    sn = add_connection(mobile="+919876500001", language="te")
    events: domain_events.Log = []
    done = mobile.change(
        ctx,
        service_no=sn,
        new_mobile="90000 00001",
        via="helpline",
        old_mobile="9876500001",
        reference="1912-55",
        by="exec-asha",
        now=at("2025-06-03T11:00"),
        events=events,
    )
    assert (done.old, done.new) == ("+919876500001", "+919000000001")
    with ctx.store.read() as conn:
        assert connections.get(conn, sn).mobile == "+919000000001"
        audit = conn.execute(sa.select(schema.mobile_changes)).one()
        told = conn.execute(
            sa.select(schema.notifications.c.recipient).order_by(schema.notifications.c.id)
        ).scalars()
        assert list(told) == ["+919876500001", "+919000000001"]
    assert (audit.via, audit.reference, audit.changed_by, audit.old_mobile) == (
        "helpline",
        "1912-55",
        "exec-asha",
        "+919876500001",
    )
    assert [e.TYPE for e in events] == ["mobile.changed", "notification", "notification"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"old_mobile": "+919999999999"}, mobile.OldMobileMismatch),
        ({"old_mobile": None}, mobile.StaffDetailsMissing),
        ({"reference": None}, mobile.StaffDetailsMissing),
        ({"by": " "}, mobile.StaffDetailsMissing),
        ({"new_mobile": "+919876500002"}, mobile.MobileUnchanged),
        ({"new_mobile": "040 2345 6789"}, phone.PhoneNotMobile),
        ({"via": "email"}, mobile.ChannelInvalid),
        ({"reference": "no spaces allowed"}, recharge.ReferenceInvalid),
    ],
)
def test_a_mobile_change_that_breaks_a_rule_writes_nothing(
    ctx: Context, add_connection: AddConnection, kwargs: dict[str, Any], error: type[Exception]
) -> None:
    sn = add_connection(mobile="+919876500002")
    call: dict[str, Any] = {
        "service_no": sn,
        "new_mobile": "+919000000002",
        "via": "service_centre",
        "old_mobile": "+919876500002",
        "reference": "SC-9",
        "by": "clerk",
    } | kwargs
    before = table_counts(ctx.store)
    with pytest.raises(error):
        mobile.change(ctx, now=at("2025-06-03T11:00"), events=[], **call)
    assert table_counts(ctx.store) == before


def test_a_self_service_change_needs_no_staff_details(ctx: Context, add_connection: AddConnection) -> None:
    sn = add_connection(mobile="+919876500003")
    done = mobile.change(
        ctx, service_no=sn, new_mobile="+919000000003", via="app", now=at("2025-06-03T11:00"), events=[]
    )
    assert (done.via, done.reference, done.by) == ("app", None, None)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"amount_paise": 0}, "amount_not_positive"),
        ({"amount_paise": -100}, "amount_not_positive"),
        ({"reason": " "}, "short_bill_invalid"),
        ({"ref": "bad ref"}, "reference_invalid"),
        ({"service_no": "9999999999999", "ref": "SB-2"}, "unknown_connection"),
        ({"amount_paise": 99_900}, "duplicate_conflict"),  # the same reference for another amount
    ],
)
def test_bad_short_bills_get_a_specific_code_and_write_nothing(
    ctx: Context, add_connection: AddConnection, kwargs: dict[str, Any], code: str
) -> None:
    sn = add_connection()
    short_bills.raise_bill(
        ctx,
        service_no=sn,
        amount_paise=35_000,
        reason="additional load",
        ref="SB-1",
        now=at("2025-06-03T11:00"),
        events=[],
    )
    call: dict[str, Any] = {
        "service_no": sn,
        "amount_paise": 35_000,
        "reason": "additional load",
        "ref": "SB-1",
    }
    before = table_counts(ctx.store)
    with pytest.raises(errors.WattWalletError) as caught:
        short_bills.raise_bill(ctx, now=at("2025-06-03T12:00"), events=[], **(call | kwargs))
    assert caught.value.code == code
    assert table_counts(ctx.store) == before


def test_termination_counts_from_the_last_change_when_no_disconnection_was_recorded(
    ctx: Context, add_connection: AddConnection
) -> None:
    """A connection migrated in as disconnected has no event and no recharge: the termination job
    must not fail on it, and its three months run from its last change of state."""
    service_no = add_connection()
    c = schema.connections
    with ctx.store.write() as conn:
        conn.execute(
            sa.update(c).where(c.c.service_no == service_no).values(state="disconnected", updated_at=NOW)
        )
    events: domain_events.Log = []
    assert termination.run(ctx, now=NOW + dt.timedelta(days=60), events=events) == 0
    assert termination.run(ctx, now=NOW + dt.timedelta(days=93), events=events) == 1
