"""The statement of one prepaid connection's month: pure, no I/O (DOMAIN.md §6).

Built from what `_queries` reads for a chunk of connections: the month's daily deductions (with
their ledger wallet lines), every other posting on the connection's wallet and dues, its recharges,
registers, short bills and holds. Nothing is re-rated: every figure is the ledger's or the meter's.

Which month a posting belongs to: a daily deduction to the month of the day it bills (the cycle
posts 30 June's on 1 July); every other posting to the IST month it occurred in. Balances follow
from the ledger: the closing balance is today's balance less everything that belongs to later
months, the opening balance the closing less the month's own postings. So the month's figures add
up by construction, and `build` checks it: the components sum to the total deducted to the paisa,
the total equals the ledger's wallet lines, and opening + recharged - to dues - deducted +
adjustments = closing.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import functools
from typing import Any, NamedTuple

import orjson

from wattwallet.domain import alerts, clock, errors, policy

SHORT_BILL_COMPONENT = "short_bill"
RELEASED_COMPONENT = "held_consumption_released"
# Postings that take money from the wallet for supply: the month's deductions.
DEDUCTION_KINDS = ("deduction", "deduction.released", "short_bill")


class StatementDoesNotBalance(errors.WattWalletError):
    """The month's figures do not add up: the ledger or the deductions table is inconsistent."""

    code = "bill_does_not_balance"


@dataclasses.dataclass(frozen=True)
class Month:
    first: dt.date  # the month's first day

    @classmethod
    def parse(cls, text: str) -> Month:
        try:
            day = dt.date.fromisoformat(f"{text.strip()}-01")
        except (ValueError, AttributeError):
            raise MonthInvalid(f"a month is written YYYY-MM, e.g. 2025-06; got {text!r}") from None
        return cls(day)

    @property
    def end(self) -> dt.date:
        """The first day of the next month (exclusive end)."""
        return (self.first + dt.timedelta(days=32)).replace(day=1)

    @property
    def last(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return calendar.monthrange(self.first.year, self.first.month)[1]

    def previous(self) -> Month:
        return Month((self.first - dt.timedelta(days=1)).replace(day=1))

    def year_before(self) -> Month:
        return Month(self.first.replace(year=self.first.year - 1))

    def start_utc(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), tzinfo=clock.IST)

    def end_utc(self) -> dt.datetime:
        return dt.datetime.combine(self.end, dt.time(), tzinfo=clock.IST)

    def __str__(self) -> str:
        return f"{self.first.year:04d}-{self.first.month:02d}"


class MonthInvalid(errors.InvalidInput):
    code = "bill_month_invalid"


@dataclasses.dataclass(frozen=True)
class Connection:
    service_no: str
    consumer_name: str
    category: str
    load_w: int
    meter_serial: str
    language: str
    connected_on: dt.date


class DayRow(NamedTuple):
    """One billed day: a daily_deductions row and the wallet line of its posting (None for ₹0).
    A plain tuple: a month's bills read tens of millions of these."""

    day: dt.date
    wh: int
    amount: int
    balance_after: int
    items: str  # JSON [[component, paise], ...]
    billed_on: dt.date  # the IST date of the cycle that billed it
    ledger_amount: int | None


class PostingLine(NamedTuple):
    """A wallet or dues line of a posting other than a daily deduction."""

    kind: str
    occurred_at: dt.datetime
    reference: str | None
    memo: str
    account: str  # "wallet" | "dues"
    amount: int  # signed, debit positive


@dataclasses.dataclass(frozen=True)
class Recharge:
    paid_at: dt.datetime
    channel: str
    reference: str
    amount: int
    to_dues: int
    to_wallet: int


@dataclasses.dataclass(frozen=True)
class Reading:
    day: dt.date  # the IST date of the reading: the register at the start of that day
    wh: int


@dataclasses.dataclass(frozen=True)
class OpenShortBill:
    ref: str
    amount: int
    reason: str
    raised_on: dt.date
    deduction_on: dt.date


@dataclasses.dataclass(frozen=True)
class Held:
    kind: str
    from_date: dt.date
    to_date: dt.date
    wh: int


@dataclasses.dataclass(frozen=True)
class Usage:
    units_wh: int
    amount: int


@dataclasses.dataclass
class Inputs:
    """Everything about one connection's month that the statement is made of."""

    connection: Connection
    wallet_now: int
    dues_now: int
    days: list[DayRow] = dataclasses.field(default_factory=list)
    # A reading of the month is in but the daily cycle has not billed it yet: not billable now.
    cycle_pending: bool = False
    later_deductions: int = 0  # wallet lines of deductions of days after the month
    lines: list[PostingLine] = dataclasses.field(default_factory=list)  # occurred in or after the month
    recharges: list[Recharge] = dataclasses.field(default_factory=list)
    opening_reading: Reading | None = None
    closing_reading: Reading | None = None
    last_month: Usage | None = None
    last_year: Usage | None = None
    open_short_bills: list[OpenShortBill] = dataclasses.field(default_factory=list)
    held: list[Held] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Statement:
    """The month's figures. `content` is what is stored and hashed (plain JSON types)."""

    service_no: str
    month: Month
    content: dict[str, Any]
    canonical_text: str = ""

    @property
    def units_wh(self) -> int:
        return int(self.content["units_wh"])

    @property
    def deducted(self) -> int:
        return int(self.content["deducted"])

    @property
    def opening_balance(self) -> int:
        return int(self.content["opening_balance"])

    @property
    def closing_balance(self) -> int:
        return int(self.content["closing_balance"])

    @property
    def recharged(self) -> int:
        return int(self.content["recharged"])

    def canonical(self) -> str:
        return self.canonical_text or canonical_json(self.content)


def canonical_json(content: dict[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8 as is: the text that is stored and hashed."""
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS).decode()


def _ist_date(at: dt.datetime) -> dt.date:
    return clock.ist_date(at)


def build(inputs: Inputs, month: Month, *, rules: policy.Policy) -> Statement:
    """The statement of `month` for one connection; raises StatementDoesNotBalance if the ledger
    and the deductions disagree (nothing is then stored)."""
    c = inputs.connection
    in_month = [line for line in inputs.lines if month.first <= _ist_date(line.occurred_at) < month.end]
    later = [line for line in inputs.lines if _ist_date(line.occurred_at) >= month.end]
    days = sorted(inputs.days, key=lambda d: d.day)

    # The month's deductions, by component, from the itemised daily rows.
    components: dict[str, int] = {}
    # One parse for the month's items (each row is a JSON list of [component, paise] pairs).
    for day_items in orjson.loads("[" + ",".join(row.items for row in days) + "]"):
        for component, amount in day_items:
            components[component] = components.get(component, 0) + amount
    ledger_daily = sum(row.ledger_amount or 0 for row in days)
    daily_total = sum(row.amount for row in days)
    if ledger_daily != daily_total or sum(components.values()) != daily_total:
        raise StatementDoesNotBalance(
            f"{c.service_no} {month}: daily deductions {daily_total} paise, their items"
            f" {sum(components.values())}, the ledger's wallet lines {ledger_daily}",
            service_no=c.service_no,
        )
    short_bills: list[dict[str, Any]] = []
    released = 0
    adjustments: list[dict[str, Any]] = []
    recharge_wallet = recharge_dues = other_dues = 0
    for line in in_month:
        if line.kind == "short_bill" and line.account == "wallet":
            short_bills.append(
                {"ref": line.reference, "amount": line.amount, "on": _ist_date(line.occurred_at).isoformat()}
            )
        elif line.kind == "deduction.released" and line.account == "wallet":
            released += line.amount
        elif line.kind == "recharge":
            if line.account == "wallet":
                recharge_wallet += -line.amount
            else:
                recharge_dues += -line.amount
        elif line.account == "wallet":
            adjustments.append(
                {
                    "kind": line.kind,
                    "memo": line.memo,
                    "on": _ist_date(line.occurred_at).isoformat(),
                    "amount": -line.amount,  # as it moves the shown balance: a credit raises it
                }
            )
        else:
            other_dues += line.amount
    if short_bills:
        components[SHORT_BILL_COMPONENT] = sum(s["amount"] for s in short_bills)
    if released:
        components[RELEASED_COMPONENT] = released
    deducted = daily_total + released + sum(s["amount"] for s in short_bills)
    adjusted = sum(a["amount"] for a in adjustments)

    # Balances from the ledger: today's, less what belongs to later months.
    later_wallet = inputs.later_deductions + sum(x.amount for x in later if x.account == "wallet")
    later_dues = sum(x.amount for x in later if x.account == "dues")
    closing = inputs.wallet_now + later_wallet
    month_wallet = ledger_daily + sum(x.amount for x in in_month if x.account == "wallet")
    opening = closing + month_wallet
    dues_closing = inputs.dues_now - later_dues
    dues_opening = dues_closing - sum(x.amount for x in in_month if x.account == "dues")

    recharges = sorted(
        (r for r in inputs.recharges if month.first <= _ist_date(r.paid_at) < month.end),
        key=lambda r: r.paid_at,
    )
    recharged = sum(r.amount for r in recharges)
    to_dues = sum(r.to_dues for r in recharges)
    if (recharged - to_dues, to_dues) != (recharge_wallet, recharge_dues):
        raise StatementDoesNotBalance(
            f"{c.service_no} {month}: recharges {recharged} paise ({to_dues} to dues) but the ledger"
            f" credits {recharge_wallet} to the wallet and {recharge_dues} to dues",
            service_no=c.service_no,
        )
    if opening + recharged - to_dues - deducted + adjusted != closing:
        raise StatementDoesNotBalance(
            f"{c.service_no} {month}: opening {opening} + recharged {recharged} - to dues {to_dues}"
            f" - deducted {deducted} + adjustments {adjusted} is not the closing {closing}",
            service_no=c.service_no,
        )

    units = sum(row.wh for row in days)
    lowest = min([opening, closing, *(row.balance_after for row in days)])
    recent = [row.amount for row in days][-rules.adc_window_days :]
    adc = alerts.average_daily(
        recent=recent,
        default=alerts.default_adc(category=c.category, load_w=c.load_w, rules=rules),
        rules=rules,
    )
    # [day of the month, Wh, paise, caught up]: caught up = billed later than the next morning
    # (the readings were missing, and the gap was billed when the next one came).
    next_day = dt.timedelta(days=1)
    daily = [[row.day.day, row.wh, row.amount, row.billed_on > row.day + next_day] for row in days]

    def reading(r: Reading | None) -> dict[str, Any] | None:
        return None if r is None else {"date": r.day.isoformat(), "wh": r.wh}

    def usage(u: Usage | None) -> dict[str, Any] | None:
        return None if u is None else {"units_wh": u.units_wh, "amount": u.amount}

    content: dict[str, Any] = {
        "service_no": c.service_no,
        "month": str(month),
        "period": {"from": month.first.isoformat(), "to": month.last.isoformat()},
        "consumer_name": c.consumer_name,
        "category": c.category,
        "load_w": c.load_w,
        "meter_serial": c.meter_serial,
        "registers": {"opening": reading(inputs.opening_reading), "closing": reading(inputs.closing_reading)},
        "units_wh": units,
        "days_billed": len(days),
        "catch_up_days": sum(1 for d in daily if d[3]),
        "daily": daily,
        "opening_balance": opening,
        "recharges": [
            {
                "paid_at": clock.ist_iso(r.paid_at),
                "channel": r.channel,
                "reference": r.reference,
                "amount": r.amount,
                "to_dues": r.to_dues,
                "to_wallet": r.to_wallet,
            }
            for r in recharges
        ],
        "recharged": recharged,
        "to_dues": to_dues,
        "components": [{"component": k, "amount": v} for k, v in sorted(components.items(), key=_order)],
        "deducted": deducted,
        "short_bill_deductions": short_bills,
        "adjustments": adjustments,
        "adjusted": adjusted,
        "closing_balance": closing,
        "dues": {"opening": dues_opening, "recovered": to_dues, "added": other_dues, "closing": dues_closing},
        "emergency_credit_used": max(0, -lowest),
        "adc": adc,
        "average_daily_wh": units // len(days) if days else 0,
        "days_left": max(0, closing // adc) if adc > 0 else None,
        "last_month": usage(inputs.last_month),
        "last_year": usage(inputs.last_year),
        "open_short_bills": [
            {
                "ref": s.ref,
                "amount": s.amount,
                "reason": s.reason,
                "raised_on": s.raised_on.isoformat(),
                "deduction_on": s.deduction_on.isoformat(),
            }
            for s in inputs.open_short_bills
        ],
        "held": [
            {"kind": h.kind, "from": h.from_date.isoformat(), "to": h.to_date.isoformat(), "wh": h.wh}
            for h in inputs.held
        ],
    }
    return Statement(c.service_no, month, content, canonical_json(content))


_COMPONENT_ORDER = ("energy:", "tod:", "fixed_charge", "demand_charge", "customer_charge", "electricity_duty")


def _order(item: tuple[str, int]) -> tuple[int, str]:
    return _rank(item[0])


@functools.lru_cache(maxsize=1024)
def _rank(name: str) -> tuple[int, str]:
    for rank, prefix in enumerate(_COMPONENT_ORDER):
        if name.startswith(prefix):
            return (rank, _slab_key(name))
    if name.startswith("levy:"):
        return (len(_COMPONENT_ORDER), name)
    return (len(_COMPONENT_ORDER) + 1, name)


def _slab_key(name: str) -> str:
    """energy:0-30 before energy:30-75 before energy:125-225: numbers compared as numbers."""
    parts = name.replace(":", "-").split("-")
    return "-".join(p.zfill(8) if p.isdigit() else p for p in parts)


def components_total(content: dict[str, Any]) -> int:
    return sum(int(c["amount"]) for c in content["components"])
