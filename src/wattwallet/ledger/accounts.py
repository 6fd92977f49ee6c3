"""Account codes and sides.

Line amounts are signed paise, debit positive. An account's balance is shown on its normal side:
a wallet (what the DISCOM holds for the consumer) is credit-normal, so a recharge credits it and
its balance rises; dues (what the consumer owes) are debit-normal, like the channel clearing
accounts where collected money waits for settlement.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Sequence

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from wattwallet.domain import recharge
from wattwallet.store import bulk, schema


class Kind(enum.StrEnum):
    WALLET = "wallet"
    DUES = "dues"
    CLEARING = "clearing"
    REVENUE = "revenue"
    OPENING = "opening"
    ADJUSTMENT = "adjustment"
    DUTY = "duty"  # collected for the State Government, not DISCOM revenue
    LEVY = "levy"  # FPPCA, true-up: each levy its own account (a negative levy debits it)
    REFUND = "refund"  # credit left on terminated connections, owed back to the consumer
    # Postpaid (DOMAIN.md §8), each per connection: what its bills and carried debts leave owed,
    # money held against its next bills (a prepaid credit carried over, an overpayment), and the
    # security deposit the DISCOM holds.
    RECEIVABLE = "receivable"
    ADVANCE = "advance"
    DEPOSIT = "deposit"


_NORMAL_SIDE = {
    Kind.WALLET: "credit",
    Kind.DUES: "debit",
    Kind.CLEARING: "debit",
    Kind.REVENUE: "credit",
    Kind.OPENING: "credit",
    Kind.ADJUSTMENT: "credit",
    Kind.DUTY: "credit",
    Kind.LEVY: "credit",
    Kind.REFUND: "credit",
    Kind.RECEIVABLE: "debit",
    Kind.ADVANCE: "credit",
    Kind.DEPOSIT: "credit",
}

# The accounts of a connection besides its wallet and dues (opened when it first needs them).
POSTPAID_KINDS = (Kind.RECEIVABLE, Kind.ADVANCE, Kind.DEPOSIT)

GENESIS_DIGEST = "0" * 64

# Counterparts of balances brought in from outside the ledger (a migrated wallet, postpaid
# arrears) and of dues the DISCOM raises itself.
OPENING_WALLETS = "opening:wallets"
OPENING_ARREARS = "opening:arrears"
TECHNICAL_ADJUSTMENTS = "adjustment:technical"
# The counterpart of security deposits recorded from the DISCOM's records (`wattwallet deposit set`).
OPENING_DEPOSITS = "opening:deposits"


def wallet(service_no: str) -> str:
    return f"wallet:{service_no}"


def dues(service_no: str) -> str:
    return f"dues:{service_no}"


def receivable(service_no: str) -> str:
    return f"receivable:{service_no}"


def advance(service_no: str) -> str:
    return f"advance:{service_no}"


def deposit(service_no: str) -> str:
    return f"deposit:{service_no}"


def postpaid_codes(service_no: str) -> tuple[str, str, str]:
    return receivable(service_no), advance(service_no), deposit(service_no)


def own_codes(service_no: str) -> tuple[str, ...]:
    """Every account of one connection: the only connection accounts its postings may touch."""
    return (wallet(service_no), dues(service_no), *postpaid_codes(service_no))


def clearing(channel: recharge.Channel) -> str:
    return f"clearing:{channel.value}"


@functools.lru_cache(maxsize=1024)  # a few dozen components, looked up millions of times a night
def for_charge(component: str) -> str:
    """The account a rated charge component is credited to: all energy slabs to one account; a
    repricing (a month moving to a higher usage group) to the account of what it reprices; the
    Time-of-Day surcharge and rebate to one account."""
    component = component.removesuffix(":repricing")
    if component.startswith("tod:"):
        return "revenue:tod"
    if component.startswith("energy:"):
        return "revenue:energy"
    if component == "electricity_duty":
        return "duty:electricity"
    if component.startswith("levy:"):
        return component
    return f"revenue:{component}"


def charge_accounts(levy_names: list[str]) -> list[str]:
    """Every account a deduction may credit, for the levies a tariff book names."""
    fixed = [
        "revenue:energy",
        "revenue:fixed_charge",
        "revenue:demand_charge",
        "revenue:customer_charge",
        "revenue:tod",
    ]
    return [*fixed, "duty:electricity", *(f"levy:{name}" for name in levy_names)]


def kind_of(code: str) -> Kind:
    return Kind(code.split(":", 1)[0])


def sign(code: str) -> int:
    """+1 where a debit raises the shown balance, -1 where a credit does."""
    return 1 if _NORMAL_SIDE[kind_of(code)] == "debit" else -1


def system_account_codes() -> list[str]:
    return [
        *(clearing(channel) for channel in recharge.Channel),
        OPENING_WALLETS,
        OPENING_ARREARS,
        OPENING_DEPOSITS,
        TECHNICAL_ADJUSTMENTS,
    ]


def ensure_system_accounts(conn: Connection, *, now: dt.datetime, codes: list[str] | None = None) -> None:
    """Create the DISCOM-side accounts that are missing; safe to run by many processes at once."""
    rows = [
        {
            "code": code,
            "kind": kind_of(code).value,
            "normal_side": _NORMAL_SIDE[kind_of(code)],
            "created_at": now,
        }
        for code in (codes or system_account_codes())
    ]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(insert(schema.ledger_accounts).values(rows).on_conflict_do_nothing())


def open_connection_accounts(conn: Connection, *, service_nos: Sequence[str], now: dt.datetime) -> None:
    """Each connection's wallet (credit-normal, the head of its posting chain) and dues account."""
    bulk.insert(
        conn,
        schema.ledger_accounts,
        ("code", "kind", "normal_side", "service_no", "balance", "chain_seq", "chain_digest", "created_at"),
        [
            row
            for sn in service_nos
            for row in (
                (wallet(sn), Kind.WALLET.value, _NORMAL_SIDE[Kind.WALLET], sn, 0, 0, GENESIS_DIGEST, now),
                (dues(sn), Kind.DUES.value, _NORMAL_SIDE[Kind.DUES], sn, 0, None, None, now),
            )
        ],
    )


def open_postpaid_accounts(conn: Connection, *, service_nos: Sequence[str], now: dt.datetime) -> None:
    """Each connection's receivable, advance and deposit accounts, where missing (a connection
    registered postpaid, switching, or given a deposit); safe to call again."""
    rows = [
        {
            "code": f"{kind.value}:{sn}",
            "kind": kind.value,
            "normal_side": _NORMAL_SIDE[kind],
            "service_no": sn,
            "balance": 0,
            "created_at": now,
        }
        for sn in service_nos
        for kind in POSTPAID_KINDS
    ]
    if rows:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        conn.execute(insert(schema.ledger_accounts).values(rows).on_conflict_do_nothing())
