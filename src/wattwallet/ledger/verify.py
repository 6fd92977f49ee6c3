"""`wattwallet ledger verify`: every invariant of the ledger, checked from the stored rows.

1. every posting has at least two lines summing to zero, and every line belongs to a posting and
   names an account that exists (the lines table has no foreign keys, for speed);
2. all accounts together sum to zero;
3. every stored balance (wallet, dues) equals the sum of its account's lines;
4. no posting was changed, removed or inserted out of turn: each connection's postings run
   1, 2, 3... with each digest recomputed from the content and the previous digest, and the
   wallet row's chain head pointing at the last one;
5. every recharge's split adds up and matches the lines of its posting;
6. the postpaid account (DOMAIN.md §8): each connection's unpaid bill items sum to its receivable,
   each postpaid payment's split matches its posting, and the rated postpaid days taken are exactly
   those the bills and the switches to prepaid charged.
"""

from __future__ import annotations

import collections
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from wattwallet.ledger import accounts, postings
from wattwallet.store import schema


@dataclasses.dataclass(frozen=True)
class Discrepancy:
    check: str
    message: str


@dataclasses.dataclass
class Report:
    postings: int = 0
    lines: int = 0
    accounts: int = 0
    discrepancies: list[Discrepancy] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.discrepancies


def verify(conn: Connection) -> Report:
    report = Report()
    for check in (
        _postings_balance,
        _total_is_zero,
        _stored_balances,
        _chains,
        _recharges,
        _postpaid_items,
        _postpaid_payments,
        _postpaid_bills,
    ):
        report.discrepancies.extend(check(conn, report))
    return report


def _postings_balance(conn: Connection, report: Report) -> Iterator[Discrepancy]:
    p, line = schema.ledger_postings, schema.ledger_lines
    query = (
        sa.select(
            p.c.id,
            p.c.service_no,
            sa.func.count(line.c.id),
            sa.func.coalesce(sa.func.sum(line.c.amount), 0),
        )
        .select_from(p.outerjoin(line, line.c.posting_id == p.c.id))
        .group_by(p.c.id, p.c.service_no)
        .having(sa.or_(sa.func.count(line.c.id) < 2, sa.func.coalesce(sa.func.sum(line.c.amount), 0) != 0))
        .order_by(p.c.id)
    )
    for posting_id, service_no, count, total in conn.execute(query):
        yield Discrepancy(
            "posting_balanced",
            f"posting {posting_id} ({service_no}) has {count} line(s) summing to {total} paise, not 0",
        )
    orphans = conn.execute(
        sa.select(sa.func.count()).select_from(line).where(~sa.exists().where(p.c.id == line.c.posting_id))
    ).scalar_one()
    if orphans:
        yield Discrepancy("posting_balanced", f"{orphans} ledger line(s) belong to no posting")
    a = schema.ledger_accounts
    unknown = conn.execute(
        sa.select(line.c.account_code, sa.func.count())
        .where(~sa.exists().where(a.c.code == line.c.account_code))
        .group_by(line.c.account_code)
        .order_by(line.c.account_code)
    ).all()
    for code, count in unknown:
        yield Discrepancy(
            "line_account", f"{count} ledger line(s) name account {code!r}, which does not exist"
        )


def _total_is_zero(conn: Connection, report: Report) -> Iterator[Discrepancy]:
    line = schema.ledger_lines
    count, total = conn.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(line.c.amount), 0))
    ).one()
    report.lines = int(count)
    if total != 0:
        yield Discrepancy("accounts_sum_to_zero", f"all accounts sum to {total} paise, not 0")


def _stored_balances(conn: Connection, report: Report) -> Iterator[Discrepancy]:
    a, line = schema.ledger_accounts, schema.ledger_lines
    sums = (
        sa.select(line.c.account_code, sa.func.sum(line.c.amount).label("total"))
        .group_by(line.c.account_code)
        .subquery()
    )
    query = (
        sa.select(a.c.code, a.c.balance, sa.func.coalesce(sums.c.total, 0))
        .select_from(a.outerjoin(sums, sums.c.account_code == a.c.code))
        .order_by(a.c.code)
    )
    for code, stored, total in conn.execute(query):
        report.accounts += 1
        if stored is None:
            continue  # DISCOM-side accounts keep no stored balance
        expected = accounts.sign(code) * int(total)
        if stored != expected:
            yield Discrepancy(
                "stored_balance",
                f"account {code} stores a balance of {stored} paise but its postings sum to {expected}",
            )


def _chains(conn: Connection, report: Report) -> Iterator[Discrepancy]:
    p, line = schema.ledger_postings, schema.ledger_lines
    query = (
        sa.select(
            p.c.id,
            p.c.service_no,
            p.c.seq,
            p.c.kind,
            p.c.reference,
            p.c.memo,
            p.c.occurred_at,
            p.c.prev_digest,
            p.c.digest,
            line.c.account_code,
            line.c.amount,
        )
        .select_from(p.join(line, line.c.posting_id == p.c.id))
        .order_by(p.c.service_no, p.c.seq, line.c.id)
    )
    heads: dict[str, tuple[int, str]] = {}
    current: list[Any] = []
    for row in conn.execution_options(stream_results=True, yield_per=5000).execute(query):
        if current and current[0].id != row.id:
            report.postings += 1
            yield from _check_link(current, heads)
            current = []
        current.append(row)
    if current:
        report.postings += 1
        yield from _check_link(current, heads)

    a = schema.ledger_accounts
    wallet_heads = conn.execute(
        sa.select(a.c.service_no, a.c.chain_seq, a.c.chain_digest).where(
            a.c.kind == accounts.Kind.WALLET.value
        )
    )
    for service_no, chain_seq, chain_digest in wallet_heads:
        seq, digest = heads.get(service_no, (0, accounts.GENESIS_DIGEST))
        if (chain_seq, chain_digest) != (seq, digest):
            yield Discrepancy(
                "chain_head",
                f"connection {service_no}: wallet says the last posting is #{chain_seq}, "
                f"the postings end at #{seq} (a posting was removed or added outside the ledger)",
            )


def _check_link(rows: list[Any], heads: dict[str, tuple[int, str]]) -> Iterator[Discrepancy]:
    first = rows[0]
    service_no = str(first.service_no)
    prev_seq, prev_digest = heads.get(service_no, (0, accounts.GENESIS_DIGEST))
    if first.seq != prev_seq + 1:
        yield Discrepancy(
            "chain",
            f"connection {service_no}: posting #{first.seq} (id {first.id}) follows #{prev_seq}",
        )
    if first.prev_digest != prev_digest:
        yield Discrepancy(
            "chain",
            f"posting {first.id} ({service_no} #{first.seq}) does not link to the one before",
        )
    recomputed = postings.posting_digest(
        service_no=service_no,
        seq=int(first.seq),
        kind=str(first.kind),
        reference=first.reference,
        memo=str(first.memo),
        occurred_at=first.occurred_at,
        lines=[(str(r.account_code), int(r.amount)) for r in rows],
        prev_digest=str(first.prev_digest),
    )
    if recomputed != first.digest:
        yield Discrepancy(
            "posting_unchanged",
            f"posting {first.id} ({service_no} #{first.seq}) was changed after it was written",
        )
    heads[service_no] = (int(first.seq), str(first.digest))


def _recharges(conn: Connection, report: Report) -> Iterator[Discrepancy]:
    r, line = schema.recharges, schema.ledger_lines
    wallet_amount = sa.func.coalesce(
        sa.select(sa.func.sum(line.c.amount))
        .where(line.c.posting_id == r.c.posting_id, line.c.account_code.like("wallet:%"))
        .scalar_subquery(),
        0,
    )
    dues_amount = sa.func.coalesce(
        sa.select(sa.func.sum(line.c.amount))
        .where(line.c.posting_id == r.c.posting_id, line.c.account_code.like("dues:%"))
        .scalar_subquery(),
        0,
    )
    query = sa.select(
        r.c.id, r.c.reference, r.c.amount, r.c.to_dues, r.c.to_wallet, wallet_amount, dues_amount
    ).where(
        sa.or_(
            r.c.to_dues + r.c.to_wallet != r.c.amount,
            -wallet_amount != r.c.to_wallet,
            -dues_amount != r.c.to_dues,
        )
    )
    for rid, ref, amount, to_dues, to_wallet, wallet_lines, dues_lines in conn.execute(query):
        yield Discrepancy(
            "recharge_split",
            f"recharge {rid} ({ref}): {amount} = {to_dues} to dues + {to_wallet} to wallet, "
            f"but its posting credits {-wallet_lines} to the wallet and {-dues_lines} to dues",
        )


def _postpaid_items(conn: Connection, report: Report) -> Iterator[Discrepancy]:
    a, i = schema.ledger_accounts, schema.postpaid_items
    owed = (
        sa.select(i.c.service_no, sa.func.sum(i.c.amount - i.c.paid).label("owed"))
        .group_by(i.c.service_no)
        .subquery()
    )
    query = (
        sa.select(a.c.service_no, a.c.balance, sa.func.coalesce(owed.c.owed, 0))
        .select_from(a.outerjoin(owed, owed.c.service_no == a.c.service_no))
        .where(a.c.kind == accounts.Kind.RECEIVABLE.value, a.c.balance != sa.func.coalesce(owed.c.owed, 0))
    )
    for service_no, balance, items in conn.execute(query):
        yield Discrepancy(
            "postpaid_items",
            f"connection {service_no}: the receivable is {balance} paise "
            f"but its unpaid bill items sum to {items}",
        )


def _postpaid_payments(conn: Connection, report: Report) -> Iterator[Discrepancy]:
    p, line = schema.postpaid_payments, schema.ledger_lines

    def lines_on(prefix: str) -> Any:
        return sa.func.coalesce(
            sa.select(sa.func.sum(line.c.amount))
            .where(line.c.posting_id == p.c.posting_id, line.c.account_code.like(f"{prefix}:%"))
            .scalar_subquery(),
            0,
        )

    query = sa.select(p.c.id, p.c.reference, p.c.amount, p.c.applied, p.c.to_advance).where(
        sa.or_(
            lines_on("clearing") != p.c.amount,
            -lines_on("receivable") != p.c.applied,
            -lines_on("advance") != p.c.to_advance,
        )
    )
    for pid, ref, amount, applied, to_advance in conn.execute(query):
        yield Discrepancy(
            "postpaid_payment_split",
            f"postpaid payment {pid} ({ref}): {amount} = {applied} to bills + {to_advance} advance "
            "does not match its posting",
        )


def _postpaid_bills(conn: Connection, report: Report) -> Iterator[Discrepancy]:
    """Each connection's postpaid days marked taken are exactly those its bills and its switches to
    prepaid charged: none lost, none charged twice."""
    b, pc, s, m = schema.bills, schema.postpaid_charges, schema.prepaid_state, schema.mode_switches
    charged: dict[str, int] = collections.defaultdict(int)
    bills = sa.select(b.c.service_no, b.c.content).where(b.c.mode == "postpaid")
    for service_no, content in conn.execution_options(stream_results=True, yield_per=5000).execute(bills):
        charged[service_no] += int(json.loads(content)["charges"])
    switches = sa.select(m.c.service_no, sa.func.sum(m.c.unbilled)).where(m.c.unbilled.is_not(None))
    for service_no, total in conn.execute(switches.group_by(m.c.service_no)):
        charged[service_no] += int(total)
    taken = (
        sa.select(pc.c.service_no, sa.func.sum(pc.c.amount))
        .select_from(pc.join(s, s.c.service_no == pc.c.service_no))
        .where(pc.c.id <= s.c.postpaid_taken_id)
        .group_by(pc.c.service_no)
    )
    rated = {service_no: int(total) for service_no, total in conn.execute(taken)}
    for service_no in sorted(set(charged) | set(rated)):
        if charged.get(service_no, 0) != rated.get(service_no, 0):
            yield Discrepancy(
                "postpaid_days_charged",
                f"connection {service_no}: its postpaid days taken sum to {rated.get(service_no, 0)} paise, "
                f"its bills and switches charged {charged.get(service_no, 0)}",
            )
