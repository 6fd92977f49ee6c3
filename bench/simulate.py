"""Seeds of the fault simulation, one after another, and how fast they go.

    python bench/simulate.py --seeds 100 [--first 1] [--connections 20] [--days 30] [--faults heavy]
                             [--db sqlite|postgresql]

Each seed is a whole run (wattwallet.simulation.chaos) on a fresh database. Prints one line per
seed that found a violation (with the command that replays it), then `seeds=<n> failed=<n>`,
`seeds_per_hour=<n>` and, last, `sim_days_per_s=<n>` (connection-days simulated per second).
"""

from __future__ import annotations

import argparse
import logging
import time

from throwaway import fresh_database  # bench/, beside this script
from wattwallet.simulation import chaos, faults


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--first", type=int, default=1)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--faults", choices=sorted(faults.PROFILES), default="heavy")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    logging.disable(logging.ERROR)  # the engine logs the faults it meets; the figures are the output

    started, failed = time.perf_counter(), 0
    for seed in range(args.first, args.first + args.seeds):
        url, cleanup = fresh_database(args.db)
        try:
            chaos.fresh(url)
            spec = chaos.Spec(
                seed=seed,
                connections=args.connections,
                days=args.days,
                profile=faults.PROFILES[args.faults],
                url=url,
            )
            result = chaos.run(spec)
        finally:
            cleanup()
        if not result.ok:
            failed += 1
            first = result.violations[0]
            print(f"seed {seed}: {len(result.violations)} violations; first [{first.check}] {first.message}")
            print(f"  replay: {result.replay}", flush=True)
        done = seed - args.first + 1
        if done % 50 == 0:
            print(f"  ... {done} seeds, {failed} failed, {time.perf_counter() - started:.0f} s", flush=True)
    seconds = time.perf_counter() - started
    print(f"seeds={args.seeds} failed={failed} from={args.first} profile={args.faults} db={args.db}")
    print(f"seeds_per_hour={args.seeds * 3600 / seconds:.0f}")
    print(f"sim_days_per_s={args.seeds * args.connections * args.days / seconds:.0f}")


if __name__ == "__main__":
    main()
