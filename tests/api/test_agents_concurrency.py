"""Agents' threads racing to their daily limits on PostgreSQL (real parallel sessions): no agent ever
collects more than its limit, and what it collected is exactly the recharges it was answered for."""

from __future__ import annotations

import concurrent.futures
import threading

import pytest
import sqlalchemy as sa

from tests.conftest import NOW, AddConnection
from wattwallet.context import Context
from wattwallet.domain import errors
from wattwallet.ledger import verify
from wattwallet.store import schema
from wattwallet.wallet import agents

THREADS_PER_AGENT = 6
ROUNDS = 4
LIMIT = 5_000_00  # ₹5,000
AMOUNTS = (300_00, 500_00, 700_00)  # ₹300, ₹500, ₹700: 24 tries of up to ₹12,000 against ₹5,000


@pytest.mark.parametrize("backend", ["postgresql"])
@pytest.mark.postgres_only
def test_two_agents_racing_to_their_daily_limits_never_pass_them(
    ctx: Context, add_connection: AddConnection
) -> None:
    outlets = [
        agents.create(ctx, name=f"Outlet {n}", kind_name="retail", daily_limit_paise=LIMIT, now=NOW).agent
        for n in range(2)
    ]
    # A connection per thread, so that the wallets' locks do not queue the callers for the agent.
    threads = [
        (agent, add_connection(first_recharge_done=True))
        for agent in outlets
        for _ in range(THREADS_PER_AGENT)
    ]
    barrier = threading.Barrier(len(threads))

    def caller(index: int, agent: agents.Agent, service_no: str) -> list[tuple[str, int, str]]:
        answers = []
        for round_no in range(ROUNDS):
            amount = AMOUNTS[(index + round_no) % len(AMOUNTS)]
            barrier.wait(timeout=60)  # every thread fires its n-th recharge together
            try:
                agents.recharge_wallet(
                    ctx,
                    agent=agent,
                    service_no=service_no,
                    amount_paise=amount,
                    reference=f"T{index}-{round_no}",
                    now=NOW,
                )
                answers.append((agent.id, amount, "ok"))
            except errors.WattWalletError as exc:
                answers.append((agent.id, amount, exc.code))
        return answers

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(threads)) as pool:
        futures = [pool.submit(caller, i, agent, sn) for i, (agent, sn) in enumerate(threads)]
        answers = [a for f in futures for a in f.result(timeout=120)]

    assert {code for _, _, code in answers} <= {"ok", "agent_daily_limit_reached"}
    r, t = schema.recharges, schema.agent_daily_totals
    with ctx.store.read() as conn:
        totals = {row.agent_id: row.amount for row in conn.execute(sa.select(t.c.agent_id, t.c.amount))}
        stored: dict[str, int] = {}
        for row in conn.execute(sa.select(r.c.reference, r.c.amount)):
            agent_id = row.reference.split("/", 1)[0]
            stored[agent_id] = stored.get(agent_id, 0) + row.amount
        report = verify.verify(conn)
    assert report.ok, report.discrepancies
    for agent in outlets:
        answered = sum(amount for who, amount, code in answers if who == agent.id and code == "ok")
        assert totals[agent.id] == answered == stored[agent.id] <= LIMIT
        # Nothing was refused that would have fitted: totals only grow, so a refused amount did not
        # fit even into what is left at the end: racing callers are not refused for nothing.
        refused = [amount for who, amount, code in answers if who == agent.id and code != "ok"]
        assert refused and all(amount > LIMIT - answered for amount in refused)
