"""An agent's recharge with its key looked up inside the recharge's own transaction (both databases):
the key is refused before anything about the request, a refused key writes nothing, and a repeat is
answered and counted once, as when the key was checked in a transaction of its own."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import AddConnection, table_counts
from wattwallet.context import Context
from wattwallet.domain import errors, recharge
from wattwallet.store import schema
from wattwallet.wallet import agents, recharges

LIMIT = 50_000_00


def outlet(ctx: Context, now: dt.datetime) -> agents.Issued:
    return agents.create(ctx, name="Sri Sai Kirana", kind_name="retail", daily_limit_paise=LIMIT, now=now)


def pay(ctx: Context, key: str | None, service_no: str, reference: str, **extra: Any) -> recharges.Receipt:
    call: dict[str, Any] = {"amount_paise": 10_000, "now": extra.pop("now"), **extra}
    return agents.recharge_with_key(ctx, key=key, service_no=service_no, reference=reference, **call)


def collected(ctx: Context, agent_id: str) -> int:
    t = schema.agent_daily_totals
    with ctx.store.read() as conn:
        return int(
            conn.execute(sa.select(sa.func.sum(t.c.amount)).where(t.c.agent_id == agent_id)).scalar() or 0
        )


def test_a_live_key_recharges_and_its_repeat_is_answered_and_counted_once(
    ctx: Context, add_connection: AddConnection, now: dt.datetime
) -> None:
    service_no = add_connection(first_recharge_done=True)
    issued = outlet(ctx, now)
    first = pay(ctx, issued.key, service_no, "SLIP-1", now=now)
    assert (first.reference, first.channel, first.balance, first.replayed) == (
        "SLIP-1",
        recharge.Channel.RETAIL,
        10_000,
        False,
    )
    again = pay(ctx, issued.key, service_no, "SLIP-1", now=now)
    assert again.replayed and again.receipt_no == first.receipt_no and again.reference == "SLIP-1"
    r = schema.recharges
    with ctx.store.read() as conn:
        stored = conn.execute(sa.select(r.c.reference).where(r.c.service_no == service_no)).scalars().all()
    assert stored == [f"{issued.agent.id}/SLIP-1"]
    assert collected(ctx, issued.agent.id) == 10_000


@pytest.mark.parametrize("which", ["rotated", "suspended", "unknown", "missing", "malformed"])
def test_a_refused_key_writes_nothing(
    ctx: Context, add_connection: AddConnection, now: dt.datetime, which: str
) -> None:
    service_no = add_connection(first_recharge_done=True)
    issued = outlet(ctx, now)
    key: str | None = issued.key
    if which == "rotated":
        agents.rotate_key(ctx, agent_id=issued.agent.id, now=now)
    elif which == "suspended":
        agents.set_active(ctx, agent_id=issued.agent.id, active=False)
    elif which == "unknown":
        key = agents.KEY_PREFIX + "not-a-key-anyone-holds"
    elif which == "missing":
        key = None
    else:
        key = "x" * 5_000
    before = table_counts(ctx.store)
    with pytest.raises(agents.KeyInvalid):
        pay(ctx, key, service_no, "R-1", now=now)
    assert table_counts(ctx.store) == before


@pytest.mark.parametrize(
    "request_fields",
    [
        {"service_no": "9999999999999"},
        {"service_no": "not a number"},
        {"reference": "bad reference!"},
        {"amount_paise": 0},
        {"paid_at": "future"},
    ],
    ids=["unknown-connection", "malformed-connection", "bad-reference", "zero", "paid-in-future"],
)
def test_a_bad_key_is_refused_before_anything_about_the_request(
    ctx: Context, add_connection: AddConnection, now: dt.datetime, request_fields: dict[str, Any]
) -> None:
    service_no = add_connection(first_recharge_done=True)
    issued = outlet(ctx, now)
    agents.rotate_key(ctx, agent_id=issued.agent.id, now=now)
    fields: dict[str, Any] = {"service_no": service_no, "reference": "R-1", **request_fields}
    if fields.get("paid_at") == "future":
        fields["paid_at"] = now + dt.timedelta(minutes=5)
    with pytest.raises(agents.KeyInvalid):
        pay(ctx, issued.key, now=now, **fields)
    # With a live key the same request gets its own complaint.
    fresh = agents.rotate_key(ctx, agent_id=issued.agent.id, now=now)
    with pytest.raises(errors.WattWalletError) as refused:
        pay(ctx, fresh.key, now=now, **fields)
    assert not isinstance(refused.value, agents.KeyInvalid)


def test_a_repeat_naming_an_unknown_connection_is_a_conflict_not_a_missing_connection(
    ctx: Context, add_connection: AddConnection, now: dt.datetime
) -> None:
    service_no = add_connection(first_recharge_done=True)
    issued = outlet(ctx, now)
    pay(ctx, issued.key, service_no, "SLIP-9", now=now)
    with pytest.raises(recharge.DuplicateConflict):
        pay(ctx, issued.key, "9999999999999", "SLIP-9", now=now)
    with pytest.raises(recharge.DuplicateConflict):
        agents.recharge_wallet(
            ctx,
            agent=issued.agent,
            service_no="9999999999999",
            reference="SLIP-9",
            amount_paise=10_000,
            now=now,
        )
    assert collected(ctx, issued.agent.id) == 10_000
