"""The consumer portal's pages under load, against a real `wattwallet serve`.

    python bench/portal.py --db sqlite|postgresql [--sessions 50] [--seconds 10] [--workers 1]

Builds a fresh database with `--sessions` prepaid connections, each with 30 billed days (itemised
deductions) and a recharge, signs each one in (a session issued in the store directly: the OTP path
has its own limits per caller and is not what is measured), starts `wattwallet serve` on a free port
and has every session load its home, usage and passbook pages in a loop for `--seconds` (one
request in flight per session, httpx in this process). Every answer must be 200 with the page's
heading. Also prints the home page's size as served and gzip-compressed (the portal leaves
compression to the reverse proxy in front of it), without the font. Prints
`pages_per_s=<n> p95_ms=<n>` last.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from throwaway import free_port, fresh_database, migrated_context  # bench/, beside this script
from wattwallet.consumers import registration, sessions
from wattwallet.context import Context
from wattwallet.store import schema
from wattwallet.wallet import recharges

PAGES = ("", "usage", "passbook")


def build(ctx: Context, count: int, now: dt.datetime) -> list[tuple[str, str]]:
    """(service number, session token) for `count` connections with a month of history."""
    found = []
    today = now.date()
    for n in range(count):
        number = f"{9100000000000 + n}"
        mobile = f"+9190000{n:05d}"
        new = registration.parse(
            ctx,
            service_no=number,
            consumer_name=f"Bench Consumer {n}",
            category="LT-I",
            load_kw="2",
            mode="prepaid",
            mobile=mobile,
            language="te" if n % 2 else "en",
            meter_serial=f"BENCH{n:06d}",
            today=today,
        )
        registration.add(ctx, new, now=now)
        recharges.recharge_wallet(
            ctx, service_no=number, channel="counter", reference=f"B-{n}", amount_paise=100_000, now=now
        )
        rows = []
        for day in range(30, 0, -1):
            items = [["energy:0-30", 570], ["fixed_charge", 67], ["electricity_duty", 18]]
            rows.append(
                {
                    "service_no": number,
                    "day": today - dt.timedelta(days=day),
                    "wh": 3000,
                    "amount": 655,
                    "balance_after": 100_000 - 655 * (31 - day),
                    "items": json.dumps(items),
                    "created_at": now,
                }
            )
        with ctx.store.write() as conn:
            conn.execute(sa.insert(schema.daily_deductions), rows)
            issued = sessions.issue(
                conn, kind=sessions.CONSUMER, subject=mobile, service_no=number, minutes=120, now=now
            )
        found.append((number, issued.token))
    return found


async def drive(base: str, users: list[tuple[str, str]], seconds: float) -> tuple[int, list[float]]:
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def one(number: str, token: str) -> None:
        async with httpx.AsyncClient(base_url=base, cookies={"ww_session": token}, timeout=30) as client:
            n = 0
            while time.monotonic() < stop:
                path = f"/c/{number}/{PAGES[n % len(PAGES)]}"
                n += 1
                started = time.perf_counter()
                answer = await client.get(path)
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 200 or "<h1>" not in answer.text:
                    raise SystemExit(f"{path}: {answer.status_code} {answer.text[:200]}")

    await asyncio.gather(*(one(number, token) for number, token in users))
    return len(latencies), latencies


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    url, drop = fresh_database(args.db)
    now = dt.datetime.now(dt.UTC)
    ctx = migrated_context(url)
    try:
        users = build(ctx, args.sessions, now)
        port = free_port()
        env = {**os.environ, "WATTWALLET_DATABASE_URL": url}
        wattwallet = Path(sys.executable).with_name("wattwallet")
        server = subprocess.Popen(
            [
                str(wattwallet),
                "serve",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--workers",
                str(args.workers),
            ],
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(f"{base}/sign-in", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            number, token = users[0]
            home = httpx.get(f"{base}/c/{number}/", cookies={"ww_session": token}, timeout=10).content
            css = httpx.get(f"{base}/static/portal.css", timeout=10).content
            js = httpx.get(f"{base}/static/app.js", timeout=10).content
            whole = home + css + js
            zipped = [len(gzip.compress(part)) for part in (home, css, js)]
            print(
                f"home_html_bytes={len(home)} home_html_gzip_bytes={zipped[0]} "
                f"home_with_css_js_gzip_bytes={sum(zipped)} (raw {len(whole)})"
            )
            asyncio.run(drive(base, users, 2.0))  # warm-up, not measured
            count, latencies = asyncio.run(drive(base, users, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=20)
        p95 = statistics.quantiles(latencies, n=100)[94] * 1000
        print(f"db={args.db} sessions={args.sessions} workers={args.workers} pages={count}")
        print(f"pages_per_s={count / args.seconds:.0f} p95_ms={p95:.1f}")
    finally:
        ctx.store.dispose()
        drop()


if __name__ == "__main__":
    main()
