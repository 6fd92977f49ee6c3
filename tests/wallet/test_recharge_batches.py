"""Agents' recharges posted together in one transaction (both databases): a batch gives each request
exactly what posting it alone would have given, limits count in order, one failing request costs
only itself, and the queue that gathers concurrent requests answers every one of them."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import AddConnection
from wattwallet.context import Context
from wattwallet.domain import errors
from wattwallet.ledger import verify
from wattwallet.lifecycle import relay as lifecycle
from wattwallet.messaging import outbox as notifications
from wattwallet.store import schema
from wattwallet.wallet import agents, recharge_batch, recharges
from wattwallet.wallet import group_commit as recharge_queue

UNLIMITED = 10**12


def _outlet(ctx: Context, now: dt.datetime, *, limit: int = UNLIMITED) -> agents.Issued:
    return agents.create(ctx, name="Outlet", kind_name="retail", daily_limit_paise=limit, now=now)


def _mirror(add_connection: AddConnection) -> list[str]:
    """Connections in the states a recharge meets: in service, new (first recharge), in arrears, Telugu."""
    return [
        add_connection(first_recharge_done=True),
        add_connection(first_recharge_done=True),
        add_connection(),
        add_connection(first_recharge_done=True, arrears_paise=30_000),
        add_connection(first_recharge_done=True, language="te"),
    ]


def _asks(key: str, numbers: list[str]) -> list[agents.KeyedRecharge]:
    ok, twice, new, arrears, telugu = numbers
    return [
        agents.KeyedRecharge(key, ok, 10_000, "R-1"),
        agents.KeyedRecharge(key, twice, 20_000, "R-2"),
        agents.KeyedRecharge(key, twice, 30_000, "R-3"),  # the same connection again: after R-2
        agents.KeyedRecharge(key, ok, 10_000, "R-1"),  # a repeat inside the batch: R-1's receipt
        agents.KeyedRecharge(key, ok, 50_000, "R-1"),  # the reference again, another amount: conflict
        agents.KeyedRecharge(key, new, 20_000, "R-4"),  # a first recharge below ₹500: refused
        agents.KeyedRecharge(key, new, 100_000, "R-5"),  # a first recharge
        agents.KeyedRecharge(key, arrears, 50_000, "R-6"),  # dues first
        agents.KeyedRecharge(key, telugu, 15_050, "R-7"),  # not a multiple of ₹100
        agents.KeyedRecharge(key, telugu, 20_000, "R-8"),
        agents.KeyedRecharge(key, "9999999999999", 10_000, "R-9"),  # no such connection
        agents.KeyedRecharge(agents.KEY_PREFIX + "nobody", ok, 10_000, "R-10"),  # a key nobody holds
        agents.KeyedRecharge(key, twice, 10_000, "R-3"),  # R-3 again, another amount: conflict
    ]


def _shape(result: recharges.Receipt | Exception) -> tuple[Any, ...]:
    if isinstance(result, errors.WattWalletError):
        return ("refused", result.code)
    assert isinstance(result, recharges.Receipt), result
    return (
        result.reference,
        result.amount,
        result.to_dues,
        result.to_wallet,
        result.balance,
        result.dues_remaining,
        result.first_recharge,
        result.replayed,
    )


def _messages(ctx: Context, service_no: str, agent: agents.Issued) -> list[tuple[str, str]]:
    n = schema.notifications
    with ctx.store.read() as conn:
        rows = conn.execute(
            sa.select(n.c.kind, n.c.text).where(n.c.service_no == service_no).order_by(n.c.id)
        )
        return [
            (kind, text.replace(service_no, "<sn>").replace(agent.agent.id, "<agent>")) for kind, text in rows
        ]


def _counting_transactions(ctx: Context) -> list[int]:
    count = [0]

    @sa.event.listens_for(ctx.store.engine, "begin")
    def _begun(_conn: Any) -> None:
        count[0] += 1

    return count


def test_a_batch_gives_each_request_what_posting_it_alone_gives(
    ctx: Context, add_connection: AddConnection, now: dt.datetime
) -> None:
    alone_numbers, batch_numbers = _mirror(add_connection), _mirror(add_connection)
    alone_agent, batch_agent = _outlet(ctx, now), _outlet(ctx, now)
    alone_key, batch_key = alone_agent.key, batch_agent.key

    alone = []
    for asked in _asks(alone_key, alone_numbers):
        try:
            alone.append(
                agents.recharge_with_key(
                    ctx,
                    key=asked.key,
                    service_no=asked.service_no,
                    amount_paise=asked.amount_paise,
                    reference=asked.reference,
                    now=now,
                )
            )
        except errors.WattWalletError as refused:
            alone.append(refused)
    transactions = _counting_transactions(ctx)
    together = agents.recharge_many(ctx, _asks(batch_key, batch_numbers), now=now)
    assert transactions == [1], "the batch is posted in one transaction, not retried one by one"

    assert [_shape(r) for r in together] == [_shape(r) for r in alone]
    codes = [_shape(r)[1] for r in together if _shape(r)[0] == "refused"]
    assert codes == [
        "duplicate_conflict",
        "first_recharge_below_minimum",
        "not_multiple_of_100",
        "unknown_connection",
        "api_key_invalid",
        "duplicate_conflict",
    ], codes
    for one, other in zip(alone_numbers, batch_numbers, strict=True):
        assert _messages(ctx, other, batch_agent) == _messages(ctx, one, alone_agent)
    with ctx.store.read() as conn:
        assert verify.verify(conn).ok


def test_a_daily_limit_counts_a_batch_in_order(
    ctx: Context, add_connection: AddConnection, now: dt.datetime
) -> None:
    service_no = add_connection(first_recharge_done=True)
    tight, roomy = _outlet(ctx, now, limit=50_000), _outlet(ctx, now)
    asked = [
        agents.KeyedRecharge(tight.key, service_no, 20_000, "T-1"),
        agents.KeyedRecharge(roomy.key, service_no, 90_000, "W-1"),
        agents.KeyedRecharge(tight.key, service_no, 20_000, "T-2"),
        agents.KeyedRecharge(tight.key, service_no, 20_000, "T-3"),  # ₹600 would pass ₹500
        agents.KeyedRecharge(tight.key, service_no, 10_000, "T-4"),  # ₹500 still fits
    ]
    answers = agents.recharge_many(ctx, asked, now=now)
    assert [isinstance(a, agents.DailyLimitReached) for a in answers] == [False, False, False, True, False]
    t = schema.agent_daily_totals
    with ctx.store.read() as conn:
        totals = dict(conn.execute(sa.select(t.c.agent_id, t.c.amount)).all())
    assert totals == {tight.agent.id: 50_000, roomy.agent.id: 90_000}


def test_a_daily_limit_counts_in_arrival_order_when_the_batch_is_cut(
    ctx: Context, add_connection: AddConnection, now: dt.datetime
) -> None:
    """The second recharge of one connection starts a new segment of the batch; the limit still
    goes to the requests in the order they came."""
    first, other = add_connection(first_recharge_done=True), add_connection(first_recharge_done=True)
    outlet = _outlet(ctx, now, limit=100_000)
    asked = [
        agents.KeyedRecharge(outlet.key, first, 50_000, "A-1"),
        agents.KeyedRecharge(outlet.key, first, 50_000, "A-2"),
        agents.KeyedRecharge(outlet.key, other, 40_000, "A-3"),  # ₹1,400 would pass ₹1,000
    ]
    answers = agents.recharge_many(ctx, asked, now=now)
    assert [isinstance(a, agents.DailyLimitReached) for a in answers] == [False, False, True]


def test_a_reconnect_that_cannot_be_sent_now_waits_in_the_outbox(
    ctx: Context, add_connection: AddConnection, now: dt.datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The money is in: the recharge is answered, and the reconnect stays pending for the next send."""
    service_no = add_connection(first_recharge_done=True)
    c, m = schema.connections, schema.meters
    with ctx.store.write() as conn:
        conn.execute(sa.update(c).where(c.c.service_no == service_no).values(state="disconnected"))
        conn.execute(sa.update(m).where(m.c.service_no == service_no).values(relay="open"))

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the head-end's database connection dropped")

    monkeypatch.setattr(lifecycle, "dispatch", broken)
    receipt = agents.recharge_with_key(
        ctx, key=_outlet(ctx, now).key, service_no=service_no, amount_paise=20_000, reference="RC-1", now=now
    )
    assert receipt.balance == 20_000 and receipt.reconnect_command
    h = schema.hes_commands
    with ctx.store.read() as conn:
        status = conn.execute(sa.select(h.c.status).where(h.c.id == receipt.reconnect_command)).scalar_one()
    assert status == "pending"


def test_a_request_given_up_before_its_batch_is_not_posted(
    ctx: Context, add_connection: AddConnection, now: dt.datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    service_no = add_connection(first_recharge_done=True)
    key = _outlet(ctx, now).key
    entered, release = threading.Event(), threading.Event()
    post = agents.recharge_many

    def slow_post(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(30)
        return post(*args, **kwargs)

    monkeypatch.setattr(agents, "recharge_many", slow_post)
    queue = recharge_queue.RechargeQueue(ctx)
    held = queue.submit(agents.KeyedRecharge(key, service_no, 10_000, "G-1"), now=now)
    assert entered.wait(30)
    given_up = queue.submit(agents.KeyedRecharge(key, service_no, 10_000, "G-2"), now=now)
    assert given_up.cancel()
    release.set()
    assert held.result(timeout=60).balance == 10_000
    after = queue.submit(agents.KeyedRecharge(key, service_no, 10_000, "G-3"), now=now)
    assert after.result(timeout=60).balance == 20_000  # the queue goes on
    queue.close()
    r = schema.recharges
    with ctx.store.read() as conn:
        references = set(conn.execute(sa.select(r.c.reference)).scalars())
    assert {ref.split("/")[1] for ref in references} == {"G-1", "G-3"}


def test_one_request_that_breaks_costs_only_itself(
    ctx: Context, add_connection: AddConnection, now: dt.datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = [add_connection(first_recharge_done=True) for _ in range(3)]
    broken = numbers[1]
    render = notifications.Message.render

    def render_or_break(message: notifications.Message) -> Any:
        if message.service_no == broken:
            raise RuntimeError("a template that cannot be rendered")
        return render(message)

    monkeypatch.setattr(notifications.Message, "render", render_or_break)
    key = _outlet(ctx, now).key
    answers = agents.recharge_many(
        ctx, [agents.KeyedRecharge(key, sn, 10_000, f"B-{i}") for i, sn in enumerate(numbers)], now=now
    )
    assert isinstance(answers[1], RuntimeError)
    assert [a.balance for a in (answers[0], answers[2]) if isinstance(a, recharges.Receipt)] == [
        10_000,
        10_000,
    ]
    r = schema.recharges
    with ctx.store.read() as conn:
        stored = set(conn.execute(sa.select(r.c.service_no)).scalars())
    assert stored == {numbers[0], numbers[2]}


def test_the_queue_answers_every_concurrent_request(
    ctx: Context, add_connection: AddConnection, now: dt.datetime
) -> None:
    numbers = [add_connection(first_recharge_done=True) for _ in range(5)]
    key = _outlet(ctx, now).key
    queue = recharge_queue.RechargeQueue(ctx, max_batch=8)
    answers: list[Any] = [None] * 40

    def till(t: int) -> None:
        for i in range(t, 40, 4):
            asked = agents.KeyedRecharge(key, numbers[i % 5], 10_000, f"Q-{i}")
            try:
                answers[i] = queue.submit(asked, now=now).result(timeout=60)
            except errors.WattWalletError as refused:
                answers[i] = refused

    tills = [threading.Thread(target=till, args=(t,)) for t in range(4)]
    for thread in tills:
        thread.start()
    for thread in tills:
        thread.join()
    bad = queue.submit(agents.KeyedRecharge(key, numbers[0], 10_050, "Q-bad"), now=now)
    queue.close()
    again = queue.submit(agents.KeyedRecharge(key, numbers[0], 10_000, "Q-again"), now=now)
    assert again.result(timeout=60).balance == 90_000  # after close, the next request starts it again
    queue.close()
    assert all(isinstance(a, recharges.Receipt) and not a.replayed for a in answers), answers
    assert sorted(a.reference for a in answers) == sorted(f"Q-{i}" for i in range(40))
    with pytest.raises(errors.WattWalletError, match="100"):
        bad.result(timeout=0)  # posted before close() returned
    w = schema.ledger_accounts
    with ctx.store.read() as conn:
        balances = conn.execute(sa.select(w.c.balance).where(w.c.code.in_([f"wallet:{n}" for n in numbers])))
        assert sorted(balances.scalars()) == [80_000] * 4 + [90_000]


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.postgres_only
@pytest.mark.parametrize(("first", "second", "kept"), [(30_000, 20_000, 50_000), (30_000, 30_000, None)])
def test_two_batches_opening_one_agents_day_never_pass_its_limit(
    ctx: Context, now: dt.datetime, first: int, second: int, kept: int | None
) -> None:
    """Both batches find no total for the day; the second to write adds to the first's when that
    stays within the limit, else it is told to post again (and then sees the first's total)."""
    agent = _outlet(ctx, now, limit=50_000).agent
    subject = (agent, now.date())
    with ctx.store.write() as one, ctx.store.write() as other:
        tally_one = agents._LimitTally(one, [subject])
        tally_other = agents._LimitTally(other, [subject])
        assert tally_one.take(subject, first) is None and tally_other.take(subject, second) is None
        tally_one.finish()
        one.commit()
        if kept is None:
            with pytest.raises(recharge_batch.Contended):
                tally_other.finish()
            other.rollback()
        else:
            tally_other.finish()
    t = schema.agent_daily_totals
    with ctx.store.read() as conn:
        assert conn.execute(sa.select(t.c.amount)).scalar_one() == (kept or first)
