"""Time one full daily cycle over N prepaid connections with 30 days of history.

    python bench/daily_cycle.py --connections 100000 --db sqlite|postgresql

Builds the connections straight into a fresh database (bulk inserts; opening balances through the
real ledger code), with 30 days of readings and billing state as if 30 cycles had run, plus the
new day's reading. Then times `jobs.daily_cycle.run` (deduction, ADC, alerts, emergency credit,
disconnection marking, notifications recorded) and prints `connections_per_s=<n>` last.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from wattwallet import tariffs
from wattwallet.context import Context
from wattwallet.domain import alerts, clock, policy
from wattwallet.jobs import daily_cycle
from wattwallet.ledger import accounts, postings, verify
from wattwallet.store import db, migrate, schema

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TODAY = dt.date(2025, 7, 1)  # the cycle runs on the 1st: the new day billed is 30 June
HISTORY = 30
CHUNK = 5_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--batch", type=int, default=daily_cycle.DEFAULT_BATCH)
    parser.add_argument("--verify", action="store_true", help="run ledger verify afterwards (slow)")
    args = parser.parse_args()

    url, cleanup = _fresh_database(args.db)
    try:
        store = db.Store.from_url(url)
        migrate.upgrade(store.engine)
        ctx = Context(store=store, tariffs=tariffs.load(), policy=policy.Policy())
        started = time.perf_counter()
        _build(ctx, args.connections)
        print(f"built {args.connections} connections with {HISTORY} days of history "
              f"in {time.perf_counter() - started:.1f}s")
        now = dt.datetime.combine(TODAY, ctx.policy.daily_cycle_time, tzinfo=clock.IST)
        started = time.perf_counter()
        report = daily_cycle.run(ctx, now=now, batch_size=args.batch)
        elapsed = time.perf_counter() - started
        print(
            f"cycle: {report.connections} connections, {report.days} days billed, "
            f"{report.deducted_paise / 100:,.2f} rupees deducted, alerts {dict(report.alerts)}, "
            f"{report.due} due, {report.notifications} notifications, {report.batches} batches, {elapsed:.2f}s"
        )
        if args.verify:
            with store.read() as conn:
                result = verify.verify(conn)
            print(f"ledger verify: {'OK' if result.ok else result.discrepancies[:3]}")
        store.dispose()
        print(f"connections_per_s={report.connections / elapsed:.0f}")
    finally:
        cleanup()


def _fresh_database(kind: str) -> tuple[str, object]:
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="ww-bench-")
        return f"sqlite:///{Path(folder) / 'bench.db'}", lambda: shutil.rmtree(folder, ignore_errors=True)
    name = f"wattwallet_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def _build(ctx: Context, n: int) -> None:
    rng = random.Random(7)
    start = TODAY - dt.timedelta(days=HISTORY + 1)  # installed 31 days ago
    installed = dt.datetime.combine(start, dt.time(9), tzinfo=clock.IST)
    with ctx.store.write() as conn:
        accounts.ensure_system_accounts(conn, now=installed)
        accounts.ensure_system_accounts(
            conn, now=installed, codes=accounts.charge_accounts([lv.name for lv in ctx.tariffs.levies])
        )
    for first in range(0, n, CHUNK):
        ids = range(first, min(n, first + CHUNK))
        with ctx.store.write() as conn:
            _chunk(ctx, conn, ids, rng, start, installed)


def _chunk(ctx: Context, conn: sa.Connection, ids: range, rng: random.Random, start: dt.date,
           installed: dt.datetime) -> None:
    sns = [f"{9000000000000 + i}" for i in ids]
    consumer_ids = conn.execute(
        sa.insert(schema.consumers).returning(schema.consumers.c.id, sort_by_parameter_order=True),
        [{"name": f"Bench consumer {sn}", "created_at": installed} for sn in sns],
    ).scalars().all()
    conn.execute(sa.insert(schema.connections), [
        {"service_no": sn, "consumer_id": cid, "category": "LT-I", "sanctioned_load_w": 2_000,
         "billing_mode": "prepaid", "mobile": "+919876543210", "language": "te" if i % 2 else "en",
         "state": "active", "first_recharge_done": True, "created_at": installed, "updated_at": installed}
        for i, sn, cid in zip(ids, sns, consumer_ids, strict=True)
    ])
    conn.execute(sa.insert(schema.meters), [
        {"serial": f"BM{sn}", "service_no": sn, "relay": "closed", "commissioned_register_wh": 0,
         "installed_at": installed} for sn in sns
    ])
    for sn in sns:
        accounts.open_connection_accounts(conn, service_no=sn, now=installed)
    readings, states, entries = [], [], []
    for sn in sns:
        daily = [rng.randint(3_000, 12_000) for _ in range(HISTORY + 1)]  # Wh, day 1 .. day 31 (the new one)
        register = 0
        for day_index, wh in enumerate(daily):
            register += wh
            read_day = start + dt.timedelta(days=day_index + 1)
            readings.append({"meter_serial": f"BM{sn}", "service_no": sn,
                             "read_at": dt.datetime.combine(read_day, dt.time(0, 15), tzinfo=clock.IST),
                             "read_date": read_day, "register_wh": register, "received_at": installed})
        adc = 4_000  # about ₹40 a day for 3-12 kWh on LT-I
        history = [rng.randint(2_500, 5_500) for _ in range(HISTORY)]
        billed_register = register - daily[-1]
        states.append({
            "service_no": sn, "billed_through": TODAY - dt.timedelta(days=1), "billed_register_wh": billed_register,
            "last_read_at": readings[-1]["read_at"], "last_read_date": TODAY, "last_register_wh": register,
            "month_start": start.replace(day=1) if start.month == (TODAY - dt.timedelta(days=1)).month
            else (TODAY - dt.timedelta(days=1)).replace(day=1),
            "month_first_day": (TODAY - dt.timedelta(days=1)).replace(day=1),
            "mtd_wh": sum(daily[1:-1]), "recent_daily_paise": ",".join(map(str, history)), "adc_paise": adc,
            "updated_at": installed,
        })
        # Balances from ₹0 to ₹1,500 against an ADC near ₹40: about one connection in ten
        # crosses an alert level tonight, as in a fleet that recharges every few weeks. The alerts
        # already due at that balance went out on earlier days, as 30 real cycles would have sent them.
        opening = rng.randint(1, 1_500) * 100
        sent = alerts.evaluate(balance=opening, adc=adc, state=alerts.State(), now=installed, rules=ctx.policy).state
        states[-1].update(alerts_sent=sent.sent, zero_alert_at=sent.zero_alert_at,
                          emergency_credit_paise=sent.emergency_credit, disconnect_due_at=sent.disconnect_due_at)
        entries.append(postings.Entry(sn, "wallet.opening", [
            postings.Line(accounts.OPENING_WALLETS, opening), postings.Line(accounts.wallet(sn), -opening)
        ], installed, None, "bench opening balance"))
    conn.execute(sa.insert(schema.meter_readings), readings)
    conn.execute(sa.insert(schema.prepaid_state), states)
    books = postings.lock_many(conn, sns)
    postings.post_many(conn, books, entries, recorded_at=installed)


if __name__ == "__main__":
    main()
