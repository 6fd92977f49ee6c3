"""The security deposit a connection's consumer paid the DISCOM (DOMAIN.md §8): recorded from the
DISCOM's records, held in the connection's deposit account, and set against dues when the
connection switches from postpaid to prepaid (what is left over goes to the wallet)."""

from __future__ import annotations

import datetime as dt

from wattwallet.context import Context
from wattwallet.domain import connection, errors, money
from wattwallet.domain import events as domain_events
from wattwallet.ledger import accounts, postings
from wattwallet.store import connections


class DepositInvalid(errors.InvalidInput):
    code = "deposit_invalid"


def parse_amount(raw: object) -> int:
    """Rupees, 0 or more, to the paisa."""
    try:
        return money.parse_rupees(raw, allow_zero=True)
    except errors.WattWalletError as exc:
        raise DepositInvalid(f"a deposit is an amount of 0 or more rupees: {exc.message}") from None


def set_deposit(
    ctx: Context,
    *,
    service_no: str,
    amount_paise: int,
    now: dt.datetime,
    by: str,
    events: domain_events.Log | None = None,
) -> domain_events.DepositSet:
    """Record the deposit held as `amount_paise`: the difference is posted against the DISCOM's
    records (`opening:deposits`). The same amount again posts nothing."""
    service_no = connection.service_number(service_no)
    if amount_paise < 0:
        raise DepositInvalid("a deposit cannot be negative")
    with ctx.store.write() as conn:
        target = connections.get(conn, service_no)
        if target.state is connection.State.TERMINATED:
            raise DepositInvalid("this connection is terminated: its deposit is settled")
        accounts.ensure_system_accounts(conn, now=now, codes=[accounts.OPENING_DEPOSITS])
        accounts.open_postpaid_accounts(conn, service_nos=[service_no], now=now)
        book = postings.lock(conn, service_no=service_no, postpaid=True)
        before = book.balance(accounts.deposit(service_no))
        change = amount_paise - before
        if change:
            postings.post(
                conn,
                book,
                kind="deposit.set",
                lines=[
                    postings.Line(accounts.OPENING_DEPOSITS, change),
                    postings.Line(accounts.deposit(service_no), -change),
                ],
                occurred_at=now,
                recorded_at=now,
                memo=f"security deposit recorded by {by}",
            )
    changed = domain_events.DepositSet(at=now, connection=service_no, before=before, after=amount_paise)
    if events is not None:
        events.append(changed)
    return changed
