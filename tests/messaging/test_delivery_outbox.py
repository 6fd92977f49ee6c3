"""The outbox: which deliveries a recorded message gets (channels, opt-ins, mandatory kinds, OTPs),
that they commit or roll back with it, and that a batch gets them in one statement. Both databases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from tests.conftest import NOW, AddConnection
from wattwallet.context import Context
from wattwallet.domain import errors
from wattwallet.messaging import deliveries, preferences
from wattwallet.messaging import outbox as notifications
from wattwallet.store import connections, schema
from wattwallet.wallet import recharges


def record(ctx: Context, *messages: notifications.Message) -> None:
    with ctx.store.write() as conn:
        notifications.store(conn, [(m, m.render()) for m in messages], now=NOW)


def alert(service_no: str, language: str = "en", kind: str = "zero_balance") -> notifications.Message:
    return notifications.Message(service_no, language, kind, {"balance": -1_000})


def channels_of(ctx: Context, service_no: str) -> list[tuple[str, str]]:
    return [(d.kind, d.channel) for d in deliveries.of_connection(ctx, service_no=service_no)]


def test_an_alert_goes_by_sms_and_app_by_default(ctx: Context, add_connection: AddConnection) -> None:
    service_no = add_connection()
    record(ctx, alert(service_no))
    found = deliveries.of_connection(ctx, service_no=service_no)
    assert sorted(d.channel for d in found) == ["app", "sms"]
    assert {d.status for d in found} == {"pending"}
    assert {d.next_attempt_at for d in found} == {NOW}
    assert all(d.attempts == 0 for d in found)


def test_whatsapp_only_after_opting_in_and_the_app_not_after_opting_out(
    ctx: Context, add_connection: AddConnection
) -> None:
    service_no = add_connection()
    preferences.choose(ctx, service_no=service_no, changes={"whatsapp": True, "app": False}, now=NOW)
    record(ctx, alert(service_no))
    assert sorted(channels_of(ctx, service_no)) == [("zero_balance", "sms"), ("zero_balance", "whatsapp")]


def test_a_choice_applies_to_the_connection_it_was_made_for(
    ctx: Context, add_connection: AddConnection
) -> None:
    mine, other = add_connection(), add_connection()
    preferences.choose(ctx, service_no=mine, changes={"whatsapp": True}, now=NOW)
    record(ctx, alert(mine), alert(other))
    assert ("zero_balance", "whatsapp") in channels_of(ctx, mine)
    assert ("zero_balance", "whatsapp") not in channels_of(ctx, other)


def test_mandatory_kinds_go_by_sms_even_if_an_sms_opt_out_is_on_record(
    ctx: Context, add_connection: AddConnection
) -> None:
    """The API refuses an SMS opt-out; this guards the outbox against one written by other means."""
    service_no = add_connection()
    with ctx.store.write() as conn:
        conn.execute(
            sa.insert(schema.channel_preferences).values(
                service_no=service_no, channel="sms", enabled=False, updated_at=NOW
            )
        )
    receipt = notifications.Message(
        service_no, "en", "reconnected", {"balance": 10_000}
    )  # optional: follows the opt-out
    record(ctx, alert(service_no), receipt)
    assert sorted(channels_of(ctx, service_no)) == [
        ("reconnected", "app"),
        ("zero_balance", "app"),
        ("zero_balance", "sms"),
    ]


def test_otps_are_never_queued(ctx: Context, add_connection: AddConnection) -> None:
    service_no = add_connection()
    otp = notifications.Message(service_no, "en", "otp_sign_in", {"otp": "XXXXXX"}, ("sms",), "+919876543210")
    record(ctx, otp)
    assert channels_of(ctx, service_no) == []


def test_a_message_to_a_given_number_goes_by_sms_to_that_number_only(
    ctx: Context, add_connection: AddConnection
) -> None:
    service_no = add_connection()
    preferences.choose(ctx, service_no=service_no, changes={"whatsapp": True}, now=NOW)
    told = notifications.Message(
        service_no,
        "en",
        "mobile_changed",
        {"new_mobile_masked": "+91XXXXXX2345", "via": "app"},
        ("sms",),
        "+919000012345",
    )
    record(ctx, told)
    [found] = deliveries.of_connection(ctx, service_no=service_no)
    assert (found.channel, found.recipient) == ("sms", "+91XXXXXX2345")


def test_a_recharge_receipt_is_queued_with_the_recharge(ctx: Context, add_connection: AddConnection) -> None:
    service_no = add_connection()
    recharges.recharge_wallet(
        ctx, service_no=service_no, channel="portal", reference="PG-1", amount_paise=100_000, now=NOW
    )
    assert ("recharge_success", "sms") in channels_of(ctx, service_no)


def test_deliveries_roll_back_with_the_event_that_caused_them(
    ctx: Context, add_connection: AddConnection
) -> None:
    service_no = add_connection()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), ctx.store.write() as conn:
        notifications.store(conn, [(alert(service_no), alert(service_no).render())], now=NOW)
        raise Boom
    with ctx.store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.deliveries)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.notifications)).scalar_one() == 0


@pytest.fixture
def statements(ctx: Context) -> Iterator[list[str]]:
    seen: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(ctx.store.engine, "before_cursor_execute", listen)
    yield seen
    event.remove(ctx.store.engine, "before_cursor_execute", listen)


def test_a_batch_of_messages_gets_its_deliveries_in_one_statement(
    ctx: Context, add_connection: AddConnection, statements: list[str]
) -> None:
    numbers = [add_connection(language=("te" if i % 2 else "en")) for i in range(4)]
    preferences.choose(ctx, service_no=numbers[0], changes={"whatsapp": True}, now=NOW)
    batch = [
        alert(n, "te" if i % 2 else "en", kind)
        for i, n in enumerate(numbers)
        for kind in ("low_balance_3_days", "zero_balance")
    ]
    batch = [
        notifications.Message(
            m.service_no, m.language, m.kind, {"balance": 500, **({"days": 3} if "days" in m.kind else {})}
        )
        for m in batch
    ]
    statements.clear()
    record(ctx, *batch * 50)  # 400 messages
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO DELIVERIES")]
    assert len(inserts) == 1
    with ctx.store.read() as conn:
        d = schema.deliveries
        counted: dict[str, int] = dict(
            conn.execute(sa.select(d.c.channel, sa.func.count()).group_by(d.c.channel)).all()
        )
    assert counted == {"sms": 400, "app": 400, "whatsapp": 100}


def test_a_rejected_choice_changes_nothing(ctx: Context, add_connection: AddConnection) -> None:
    service_no = add_connection()
    with pytest.raises(preferences.ChannelMandatory):
        preferences.choose(ctx, service_no=service_no, changes={"whatsapp": True, "sms": False}, now=NOW)
    assert preferences.get(ctx, service_no=service_no).enabled == {
        "sms": True,
        "whatsapp": False,
        "app": True,
    }
    with pytest.raises(preferences.ChannelUnknown):
        preferences.choose(ctx, service_no=service_no, changes={"email": True}, now=NOW)
    with pytest.raises(connections.UnknownConnection):
        preferences.choose(ctx, service_no="9999999999999", changes={"app": False}, now=NOW)


def test_choices_can_be_changed_back(ctx: Context, add_connection: AddConnection) -> None:
    service_no = add_connection()
    for whatsapp in (True, False, True):
        chosen = preferences.choose(ctx, service_no=service_no, changes={"whatsapp": whatsapp}, now=NOW)
        assert chosen.enabled["whatsapp"] is whatsapp


def test_every_kind_is_either_mandatory_or_optional() -> None:
    from wattwallet.messaging import templates

    assert set(templates.KINDS) == preferences.MANDATORY_KINDS | preferences.OPTIONAL_KINDS
    assert {
        "recharge_success",
        "payment_received",
        "reconnected",
        "reconnect_amount_needed",
    } == preferences.OPTIONAL_KINDS
    assert preferences.DIRECT_KINDS <= preferences.MANDATORY_KINDS
    assert issubclass(preferences.ChannelMandatory, errors.RuleViolation)
