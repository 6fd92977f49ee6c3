"""A counter recharge always records its executive; a retail or kiosk recharge always counts against
its agent's daily limit. No path posts one of those channels without its taker (issue 12)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from tests.cli.test_cli import SN, wattwallet
from tests.cli.test_cli import url as url
from tests.conftest import AddConnection, table_counts
from wattwallet.context import Context
from wattwallet.store import schema
from wattwallet.wallet import agents, counter, recharges


@pytest.mark.parametrize("channel", ["counter", "retail", "kiosk"])
def test_an_in_person_channel_without_its_taker_is_refused_and_writes_nothing(
    ctx: Context, add_connection: AddConnection, now: dt.datetime, channel: str
) -> None:
    sn = add_connection()
    before = table_counts(ctx.store)
    with pytest.raises(recharges.TakerMissing) as refused:
        recharges.recharge_wallet(
            ctx, service_no=sn, channel=channel, reference="T-1", amount_paise=50_000, now=now
        )
    assert refused.value.code == "recharge_taker_missing"
    assert table_counts(ctx.store) == before


def test_a_counter_recharge_records_its_executive(
    ctx: Context, add_connection: AddConnection, now: dt.datetime
) -> None:
    sn = add_connection()
    receipt = counter.recharge(
        ctx, by="sc.lakshmi", service_no=sn, amount_paise=50_000, reference="SC-1", now=now
    )
    assert receipt.channel.value == "counter"
    assert counter.taken_by(ctx, reference="SC-1") == "sc.lakshmi"


def test_the_cli_asks_for_the_channel_and_its_taker(url: str) -> None:
    no_channel = wattwallet(url, "recharge", SN, "500", "--ref", "C-1")
    assert no_channel.exit_code == 2 and "--channel" in no_channel.output
    no_executive = wattwallet(url, "recharge", SN, "500", "--ref", "C-1", "--channel", "counter")
    assert no_executive.exit_code == 2 and "[recharge_taker_missing]" in no_executive.stderr
    no_agent = wattwallet(url, "recharge", SN, "500", "--ref", "R-1", "--channel", "retail")
    assert no_agent.exit_code == 2 and "[recharge_taker_missing]" in no_agent.stderr
    misplaced = wattwallet(
        url, "recharge", SN, "500", "--ref", "P-1", "--channel", "portal", "--executive", "x"
    )
    assert misplaced.exit_code == 2 and "[option_not_for_channel]" in misplaced.stderr
    taken = wattwallet(
        url, "recharge", SN, "500", "--ref", "C-1", "--channel", "counter", "--executive", "sc.ravi"
    )
    assert taken.exit_code == 0, taken.output
    store = sa.create_engine(url)
    try:
        with store.connect() as conn:
            c = schema.counter_collections
            assert conn.execute(sa.select(c.c.taken_by).where(c.c.reference == "C-1")).scalar() == "sc.ravi"
    finally:
        store.dispose()


def test_a_retail_recharge_from_the_cli_counts_against_the_agents_limit(url: str) -> None:
    added = wattwallet(
        url, "agent", "add", "--name", "Sai Kirana", "--kind", "retail", "--daily-limit-rupees", "1000"
    )
    assert added.exit_code == 0, added.output
    agent_id = added.stdout.split()[1].rstrip(":")  # "agent AG1F2E3D4C: Sai Kirana (retail), ..."
    first = wattwallet(url, "recharge", SN, "800", "--ref", "R-1", "--channel", "retail", "--agent", agent_id)
    assert first.exit_code == 0, first.output
    over = wattwallet(url, "recharge", SN, "300", "--ref", "R-2", "--channel", "retail", "--agent", agent_id)
    assert over.exit_code == 2 and "[agent_daily_limit_reached]" in over.stderr
    kiosk = wattwallet(url, "recharge", SN, "100", "--ref", "R-3", "--channel", "kiosk", "--agent", agent_id)
    assert kiosk.exit_code == 2 and "[option_not_for_channel]" in kiosk.stderr


def test_a_repeat_through_the_agent_is_the_same_receipt(
    ctx: Context, add_connection: AddConnection, now: dt.datetime
) -> None:
    sn = add_connection()
    issued = agents.create(ctx, name="Kiosk 9", kind_name="kiosk", daily_limit_paise=10_000_000, now=now)
    first = agents.recharge_wallet(
        ctx, agent=issued.agent, service_no=sn, amount_paise=50_000, reference="K-1", now=now
    )
    again = agents.recharge_wallet(
        ctx, agent=issued.agent, service_no=sn, amount_paise=50_000, reference="K-1", now=now
    )
    assert again.replayed and again.receipt_no == first.receipt_no
