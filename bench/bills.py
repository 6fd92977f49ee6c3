"""Time the monthly bill run over N prepaid (or postpaid) connections with a month of real history.

    python bench/bills.py --connections 100000 --db sqlite|postgresql [--workers 2] [--mode postpaid]

With `--mode postpaid` the fleet is postpaid (with arrears brought forward): the cycle rates June's
days for the bill, and the run makes postpaid bills (posted, arrears, due date, open items).

Builds the fleet (wattwallet.simulation.fleet) on 2 June 2025, then lives June through the real engine: every
day the readings of all meters go in through the HES batch ingest and the real daily cycle bills
them (postings, lines, itemised deductions), to the cycle of 1 July that bills 30 June. Then it
times `billing.service.run_month` for June (the job of 1 July 07:00), then 200 PDF renders of
those bills (cache cleared before each). Prints `pdf_p95_ms=<n>` and, last, `bills_per_s=<n>`.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import random
import statistics
import time

import sqlalchemy as sa

from throwaway import fresh_database, migrated_context  # bench/, beside this script
from wattwallet.billing import _render
from wattwallet.billing import service as bills
from wattwallet.domain import clock, connection, readings
from wattwallet.lifecycle import daily_cycle, ingest
from wattwallet.simulation import fleet
from wattwallet.store import schema

START = dt.date(2025, 6, 2)
JUNE = bills.Month(dt.date(2025, 6, 1))
INGEST_BATCH = 5_000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="processes making bills of disjoint ranges")
    parser.add_argument("--chunk", type=int, default=bills.DEFAULT_CHUNK)
    parser.add_argument("--pdfs", type=int, default=200)
    parser.add_argument("--mode", choices=["prepaid", "postpaid"], default="prepaid")
    parser.add_argument("--profile", action="store_true", help="print where the bill run spends its time")
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    args = parser.parse_args()

    url, cleanup = fresh_database(args.db)
    try:
        ctx = migrated_context(url)
        started = time.perf_counter()
        mode = connection.BillingMode(args.mode)
        fleet.build(ctx, fleet.Spec(connections=args.connections, today=START, days=1, mode=mode))
        with ctx.store.read() as conn:
            registers = dict(
                conn.execute(
                    sa.select(schema.meters.c.serial, schema.prepaid_state.c.last_register_wh).select_from(
                        schema.meters.join(
                            schema.prepaid_state,
                            schema.prepaid_state.c.service_no == schema.meters.c.service_no,
                        )
                    )
                ).all()
            )
        rng = random.Random(13)
        day = START
        while day <= dt.date(2025, 7, 1):
            daily_cycle.run(
                ctx,
                now=dt.datetime.combine(day, ctx.policy.daily_cycle_time, tzinfo=clock.IST),
                workers=args.workers,
            )
            if day == dt.date(2025, 7, 1):
                break
            read_at = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 15), tzinfo=clock.IST)
            messages = []
            for serial in registers:
                registers[serial] += rng.randint(2_000, 14_000)
                reading = readings.Reading(serial, read_at, registers[serial])
                messages.append(ingest.Message(f"{serial}-{read_at:%Y%m%d}", reading))
            for first in range(0, len(messages), INGEST_BATCH):
                ingest.ingest(
                    ctx, messages[first : first + INGEST_BATCH], now=read_at + dt.timedelta(minutes=5)
                )
            day += dt.timedelta(days=1)
        if args.db == "postgresql":
            with ctx.store.write() as conn:
                conn.exec_driver_sql(
                    "ANALYZE"
                )  # planner statistics, as autovacuum keeps them on a live database
        built = time.perf_counter() - started
        print(f"built {args.connections} connections and lived June through the real cycle in {built:.0f}s")

        run_at = dt.datetime.combine(dt.date(2025, 7, 1), ctx.policy.bill_run_time, tzinfo=clock.IST)
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        report = bills.run_month(ctx, month=JUNE, now=run_at, chunk=args.chunk, workers=args.workers)
        elapsed = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        print(
            f"{args.mode} bills of {report.month}: {report.connections} connections, {report.created} made, "
            f"{args.workers} worker(s), chunks of {args.chunk}, {elapsed:.2f}s"
        )
        again = time.perf_counter()
        second = bills.run_month(ctx, month=JUNE, now=run_at, chunk=args.chunk, workers=args.workers)
        print(
            f"second run: {second.created} made, {second.unchanged} unchanged, "
            f"{time.perf_counter() - again:.2f}s"
        )

        with ctx.store.read() as conn:
            numbers = list(
                conn.execute(
                    sa.select(schema.bills.c.service_no).order_by(schema.bills.c.id).limit(args.pdfs)
                ).scalars()
            )
        times = []
        for i, service_no in enumerate(numbers):
            bill = bills.show(ctx, service_no=service_no, month=JUNE)
            if bill.mode != args.mode:
                continue
            _render.clear_cache()
            t0 = time.perf_counter()
            bills.pdf(ctx, bill, language="te" if i % 2 else "en")
            times.append((time.perf_counter() - t0) * 1000)
        if times:
            p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 20 else max(times)
            print(
                f"{len(times)} PDFs (first includes loading fonts): median {statistics.median(times):.0f} ms"
            )
            print(f"pdf_p95_ms={p95:.0f}")
        ctx.store.dispose()
        print(f"bills_per_s={report.created / elapsed:.0f}")
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            cleanup()


if __name__ == "__main__":
    main()
