"""Agent recharges over HTTP against a real `wattwallet serve`, and webhook-to-reconnect latency.

    python bench/recharge_http.py --db sqlite|postgresql [--seconds 10] [--concurrency 32]
        [--connections 2000] [--workers 1] [--agents 8] [--clients 1]

Builds a fresh database (wattwallet.fleet: prepaid connections already past their first recharge, so
every ₹100 recharge is allowed), registers agents with keys, starts `wattwallet serve` (uvicorn) as a
subprocess on a free port, and drives `--concurrency` requests in flight for `--seconds` from
`--clients` load processes (httpx, one connection pool each), every one a new recharge with its own
reference that must be answered 201. Then it sends signed gateway webhooks for connections set up as
disconnected and reports how long from the webhook's arrival to the wallet credit and to the
reconnect command going to the head-end. The load generator shares the machine with the server and
the database. Prints `recharges_per_s=<n> p99_ms=<n>` last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from wattwallet import fleet, tariffs
from wattwallet.context import Context
from wattwallet.domain import clock, policy
from wattwallet.ledger import verify
from wattwallet.services import agents, payments
from wattwallet.store import db, migrate, schema

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# A throwaway value for the throwaway server this bench starts: not a secret of any gateway.
BENCH_WEBHOOK_SECRET = "whsec_bench_only_not_a_real_secret"
AMOUNT = 10_000  # ₹100, a valid later recharge


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight, all clients")
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--agents", type=int, default=8, help="agents (each its own daily total row)")
    parser.add_argument("--clients", type=int, default=1, help="load-generating processes")
    parser.add_argument("--reconnects", type=int, default=20, help="webhook recharges on disconnected")
    parser.add_argument("--verify", action="store_true", help="run ledger verify afterwards")
    args = parser.parse_args()

    url, cleanup = fresh_database(args.db)
    try:
        run(args, url)
    finally:
        cleanup()


def run(args: argparse.Namespace, url: str) -> None:
    store = db.Store.from_url(url)
    migrate.upgrade(store.engine)
    ctx = Context(store=store, tariffs=tariffs.load(), policy=policy.Policy())
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    spec = fleet.Spec(connections=args.connections + args.reconnects, today=clock.ist_date(now), days=2)
    fleet.build(ctx, spec)
    numbers = fleet.service_numbers(spec)
    loaded, disconnected = numbers[: args.connections], numbers[args.connections :]
    _disconnect(ctx, disconnected, now=now)
    unlimited = 10**12  # ₹1,000 crore: the bench measures throughput, not the limit
    keys = [
        agents.create(
            ctx, name=f"Bench outlet {n}", kind_name="retail", daily_limit_paise=unlimited, now=now
        ).key
        for n in range(args.agents)
    ]
    intents = [
        payments.create_intent(ctx, service_no=sn, amount_paise=AMOUNT, channel="portal", now=now, minutes=30)
        for sn in disconnected
    ]
    print(
        f"built {args.connections} connections (+{len(disconnected)} disconnected), {args.agents} agents "
        f"on {args.db} in {time.perf_counter() - started:.1f}s"
    )
    store.dispose()

    database = url.rsplit("/", 1)[-1]
    with serve(url, workers=args.workers) as (base, server_pid):
        groups: dict[str, Callable[[], list[int]]] = {
            "server": lambda: _tree(server_pid),
            "database": lambda: _backends(database) if args.db == "postgresql" else [],
        }
        before = {name: _cpu(find()) for name, find in groups.items()}
        load = drive(base, keys, loaded, args)
        spent = {name: sum(_cpu(find(), since=before[name]).values()) for name, find in groups.items()}
        spent["load generator"] = load["cpu_seconds"]
        reconnects = webhooks(base, intents)

    ok = load["statuses"].get("201", 0)
    bad = {status: n for status, n in load["statuses"].items() if status != "201"}
    latencies = sorted(load["latencies_ms"])
    rate = ok / load["elapsed"]
    p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
    print(
        f"load: {args.concurrency} in flight from {args.clients} client process(es), {args.workers} server "
        f"worker(s), {load['elapsed']:.1f}s: {ok} recharges answered 201, other answers {bad or 'none'}"
    )
    print(
        f"latency ms: p50 {p50:.1f}  p90 {_percentile(latencies, 90):.1f}  p99 {p99:.1f}  "
        f"max {latencies[-1] if latencies else 0:.1f}"
    )
    if ok:
        per = {name: seconds / ok * 1000 for name, seconds in spent.items() if seconds}
        busy = sum(per.values())
        cores = os.cpu_count() or 1
        print(
            "CPU per recharge: "
            + ", ".join(f"{name} {ms:.2f} ms" for name, ms in per.items())
            + f"; together {busy:.2f} ms: {cores} busy cores allow about {cores * 1000 / busy:.0f}/s"
        )
    store = db.Store.from_url(url)
    _check_store(store, expected=ok + len(reconnects["rows"]), agents_total=ok * AMOUNT)
    _report_reconnects(store, reconnects)
    if args.verify:
        with store.read() as conn:
            report = verify.verify(conn)
        print(f"ledger verify: {'OK' if report.ok else report.discrepancies[:3]}")
    store.dispose()
    if bad:
        print(f"NOT ALL 201: {bad}", file=sys.stderr)
    print(f"recharges_per_s={rate:.0f} p99_ms={p99:.0f}")
    if bad:
        raise SystemExit(1)


# --- the fleet and the server --------------------------------------------------------------------


def fresh_database(kind: str) -> tuple[str, Callable[[], None]]:
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


def _disconnect(ctx: Context, service_nos: list[str], *, now: dt.datetime) -> None:
    """As if the disconnection had been carried out: the relay open, the connection disconnected."""
    c, m = schema.connections, schema.meters
    with ctx.store.write() as conn:
        conn.execute(
            sa.update(c).where(c.c.service_no.in_(service_nos)).values(state="disconnected", updated_at=now)
        )
        conn.execute(sa.update(m).where(m.c.service_no.in_(service_nos)).values(relay="open"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(url: str, *, workers: int) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {
        **os.environ,
        "WATTWALLET_DATABASE_URL": url,
        "WATTWALLET_API__GATEWAY_WEBHOOK_SECRET": BENCH_WEBHOOK_SECRET,
    }
    command = [sys.executable, "-m", "wattwallet", "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(
        [*command, "--log-level", "warning", "--no-upgrade"], env=env, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/api/v1/openapi.json", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the server did not come up within 60s")
            time.sleep(0.2)
        yield base, server.pid
    finally:
        os.killpg(server.pid, signal.SIGINT)  # its own session: uvicorn and its workers
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn's workers; the load generator's client processes)."""
    tree, found, todo = _children(), [], [pid]
    while todo:
        found.append(todo.pop())
        todo += tree.get(found[-1], [])
    return found


def _backends(database: str) -> list[int]:
    """The PostgreSQL backends serving the bench's database."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if f" {database} " in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                    found.append(int(entry.name))
    return found


def _cpu(pids: list[int], since: dict[int, float] | None = None) -> dict[int, float]:
    """CPU seconds (user + system) each process has used, less what it had used at `since`."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / tick - (since or {}).get(pid, 0.0)
    return used


# --- the load ------------------------------------------------------------------------------------


def drive(base: str, keys: list[str], service_nos: list[str], args: argparse.Namespace) -> dict[str, Any]:
    clients = max(1, args.clients)
    jobs = [
        (base, keys, service_nos, n, clients, max(1, args.concurrency // clients), args.seconds)
        for n in range(clients)
    ]
    if clients == 1:
        results = [_client(*jobs[0])]
    else:
        with multiprocessing.get_context("spawn").Pool(clients) as pool:
            results = pool.starmap(_client, jobs)
    statuses: dict[str, int] = {}
    for result in results:
        for status, n in result["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    return {
        "statuses": statuses,
        "latencies_ms": [ms for result in results for ms in result["latencies_ms"]],
        "elapsed": max(result["elapsed"] for result in results),
        "cpu_seconds": sum(result["cpu_seconds"] for result in results),
    }


def _client(
    base: str, keys: list[str], service_nos: list[str], index: int, clients: int, tasks: int, seconds: float
) -> dict[str, Any]:
    return asyncio.run(_load(base, keys, service_nos, index, clients, tasks, seconds))


async def _load(
    base: str, keys: list[str], service_nos: list[str], index: int, clients: int, tasks: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    limits = httpx.Limits(max_connections=tasks, max_keepalive_connections=tasks)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        # Warm every pooled connection up (and the server's first requests) before the clock starts.
        await asyncio.gather(*(client.get("/api/v1/openapi.json") for _ in range(tasks)))
        stop = time.perf_counter() + seconds
        started, cpu = time.perf_counter(), time.process_time()

        async def worker(task: int) -> None:
            slot = index * tasks + task  # this task's agent and connections
            key = {"X-API-Key": keys[slot % len(keys)]}
            n = 0
            while time.perf_counter() < stop:
                # Each task walks its own stride of connections: different wallets, as in the field.
                service_no = service_nos[(slot + n * clients * tasks) % len(service_nos)]
                body = {"service_no": service_no, "amount_paise": AMOUNT, "reference": f"B{slot}-{n}"}
                sent = time.perf_counter()
                try:
                    answer = await client.post("/api/v1/agent/recharges", json=body, headers=key)
                    status = str(answer.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__  # counted as a failure, not a crash of the run
                latencies.append((time.perf_counter() - sent) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
                n += 1

        await asyncio.gather(*(worker(task) for task in range(tasks)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"statuses": statuses, "latencies_ms": latencies, "elapsed": elapsed, "cpu_seconds": cpu}


# --- payment confirmed to credit and reconnect ---------------------------------------------------


def webhooks(base: str, intents: list[payments.Intent]) -> dict[str, Any]:
    """One signed payment.succeeded per intent, one at a time: the latency of a single payment."""
    rows = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for n, intent in enumerate(intents):
            paid_at = dt.datetime.now(dt.UTC)
            body = json.dumps(
                {
                    "event_id": f"evt_bench_{n}",
                    "type": payments.SUCCEEDED_EVENT,
                    "intent_id": intent.id,
                    "amount_paise": intent.amount,
                    "paid_at": paid_at.isoformat(),
                    "gateway_payment_id": f"pay_bench_{n}",
                }
            ).encode()
            header = payments.sign(secret=BENCH_WEBHOOK_SECRET, timestamp=int(time.time()), body=body)
            sent = dt.datetime.now(dt.UTC)
            answer = client.post(
                "/api/v1/payments/webhook",
                content=body,
                headers={"Content-Type": "application/json", "X-Gateway-Signature": header},
            )
            answered = dt.datetime.now(dt.UTC)
            result = answer.json().get("result") if answer.status_code == 200 else answer.text
            rows.append((intent.service_no, paid_at, sent, answered, answer.status_code, result))
    return {"rows": rows}


def _report_reconnects(store: db.Store, reconnects: dict[str, Any]) -> None:
    rows = reconnects["rows"]
    if not rows:
        return
    h, r = schema.hes_commands, schema.recharges
    service_nos = [row[0] for row in rows]
    with store.read() as conn:
        commands = {
            c.service_no: c
            for c in conn.execute(
                sa.select(h).where(h.c.service_no.in_(service_nos), h.c.command == "reconnect")
            )
        }
        online = sa.select(r).where(r.c.service_no.in_(service_nos), r.c.channel == "portal")
        credits = {c.service_no: c for c in conn.execute(online)}
    answer_ms, credit_ms, reconnect_ms, paid_to_sent_ms = [], [], [], []
    failures = [row for row in rows if row[4] != 200 or row[5] != "credited"]
    for service_no, paid_at, sent, answered, _status, _result in rows:
        answer_ms.append((answered - sent).total_seconds() * 1000)
        if service_no in credits:
            credit_ms.append((credits[service_no].recorded_at - sent).total_seconds() * 1000)
        command = commands.get(service_no)
        if command is not None and command.sent_at is not None:
            reconnect_ms.append((command.sent_at - sent).total_seconds() * 1000)
            paid_to_sent_ms.append((command.sent_at - paid_at).total_seconds() * 1000)

    def figures(values: list[float]) -> str:
        if not values:
            return "none"
        return f"median {statistics.median(values):.1f} ms, max {max(values):.1f} ms"

    print(
        f"payment confirmed (webhook sent) -> answered, by then the wallet credit committed and the "
        f"reconnect handed to the head-end (an upper bound for both): {figures(answer_ms)}, "
        f"{len(rows)} webhooks one at a time"
    )
    print(
        f"  as stamped by the server (one `now` per request, so these show when the webhook arrived): "
        f"credit recorded {figures(credit_ms)} after sending; reconnect sent_at {figures(reconnect_ms)} "
        f"after sending, {figures(paid_to_sent_ms)} after the payer paid; "
        f"{len(reconnect_ms)} of {len(rows)} reconnects sent"
    )
    if failures:
        print(f"  NOT CREDITED: {failures[:3]}", file=sys.stderr)


def _check_store(store: db.Store, *, expected: int, agents_total: int) -> None:
    r, t = schema.recharges, schema.agent_daily_totals
    with store.read() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(r)).scalar_one()
        collected = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(t.c.amount), 0))).scalar_one()
    if count != expected or collected != agents_total:
        print(
            f"STORE DISAGREES: {count} recharges stored, {expected} answered; agents collected "
            f"{collected}, answered {agents_total}",
            file=sys.stderr,
        )


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


if __name__ == "__main__":
    main()
