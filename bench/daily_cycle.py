"""Time one full daily cycle over N prepaid connections with 30 days of history.

    python bench/daily_cycle.py --connections 100000 --db sqlite|postgresql

Builds the fleet straight into a fresh database (wattwallet.simulation.fleet: bulk inserts, opening balances
through the real ledger code, 30 days of readings and billing state as if 30 cycles had run, plus
the new day's reading), then times `jobs.daily_cycle.run` (deduction, ADC, alerts, emergency credit,
disconnection marking, notifications recorded) and prints `connections_per_s=<n>` last.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from throwaway import fresh_database, migrated_context  # bench/, beside this script
from wattwallet.domain import clock
from wattwallet.ledger import verify
from wattwallet.lifecycle import daily_cycle
from wattwallet.simulation import fleet

TODAY = dt.date(2025, 7, 1)  # the cycle runs on the 1st and bills 30 June


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--batch", type=int, default=daily_cycle.DEFAULT_BATCH)
    parser.add_argument("--workers", type=int, default=1, help="processes billing disjoint ranges")
    parser.add_argument("--verify", action="store_true", help="run ledger verify afterwards (slow)")
    args = parser.parse_args()

    url, cleanup = fresh_database(args.db)
    try:
        ctx = migrated_context(url)
        store = ctx.store
        started = time.perf_counter()
        fleet.build(ctx, fleet.Spec(connections=args.connections, today=TODAY))
        built = time.perf_counter() - started
        print(f"built {args.connections} connections with 30 days of history in {built:.1f}s")
        now = dt.datetime.combine(TODAY, ctx.policy.daily_cycle_time, tzinfo=clock.IST)
        started = time.perf_counter()
        report = daily_cycle.run(ctx, now=now, batch_size=args.batch, workers=args.workers)
        elapsed = time.perf_counter() - started
        print(
            f"cycle: {report.connections} connections, {report.days} days billed, "
            f"{report.deducted_paise / 100:,.2f} rupees deducted, alerts {dict(report.alerts)}, "
            f"{report.due} due, {report.notifications} notifications, {report.batches} batches, "
            f"{args.workers} worker(s), {elapsed:.2f}s"
        )
        if args.verify:
            with store.read() as conn:
                result = verify.verify(conn)
            print(f"ledger verify: {'OK' if result.ok else result.discrepancies[:3]}")
        store.dispose()
        print(f"connections_per_s={report.connections / elapsed:.0f}")
    finally:
        cleanup()


if __name__ == "__main__":
    main()
