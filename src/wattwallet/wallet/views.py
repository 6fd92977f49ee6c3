"""What a consumer, a helpline executive or an operator sees of a wallet."""

from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa

from wattwallet.context import Context
from wattwallet.domain import clock, connection, recharge
from wattwallet.ledger import accounts
from wattwallet.store import connections, schema
from wattwallet.wallet import recharges


@dataclasses.dataclass(frozen=True)
class WalletView:
    connection: connections.ConnectionRow
    balance: int
    dues: int
    # While the first recharge is outstanding: the least it may be, and what makes that up.
    first_recharge_minimum: int | None
    recent_recharges: list[recharges.Receipt]


def view(ctx: Context, *, service_no: str, now: dt.datetime) -> WalletView:
    service_no = connection.service_number(service_no)
    with ctx.store.read() as conn:
        target = connections.get(conn, service_no)
        a = schema.ledger_accounts
        codes = [accounts.wallet(service_no), accounts.dues(service_no)]
        balances = {
            row.code: row.balance
            for row in conn.execute(sa.select(a.c.code, a.c.balance).where(a.c.code.in_(codes)))
        }
        recent = recharges.history(conn, service_no, limit=10)
    minimum = None
    if not target.first_recharge_done and target.mode is connection.BillingMode.PREPAID:
        mandatory = ctx.tariffs.mandatory_charges(
            category=target.category, load_kw=target.load_kw, on=clock.ist_date(now)
        )
        minimum = recharge.first_recharge_minimum(
            mandatory_charges_paise=mandatory.total_paise, rules=ctx.policy
        )
    return WalletView(
        connection=target,
        balance=balances[accounts.wallet(service_no)],
        dues=balances[accounts.dues(service_no)],
        first_recharge_minimum=minimum,
        recent_recharges=recent,
    )
