"""Agent recharges over HTTP against a real `wattwallet serve`, and webhook-to-reconnect latency.

    python bench/recharge_http.py --db sqlite|postgresql [--seconds 10] [--warmup 2] [--concurrency 32]
        [--connections 2000] [--workers 1] [--agents 8] [--generator wrk|httpx] [--clients 1]

Builds a fresh database (wattwallet.simulation.fleet: prepaid connections past their first recharge, so
every ₹100 recharge is allowed), registers agents with keys, starts `wattwallet serve` (uvicorn) as a
subprocess on a free port, warms it up with `--warmup` seconds of the same load (not measured), and
drives `--concurrency` requests in flight for `--seconds` from wrk
(the default: a C load generator, whose few CPU-microseconds per request leave the shared cores to the
server; it must be installed, e.g. `apt-get install wrk`) or from `--clients` httpx processes (one
connection pool each), every one a new recharge with its own reference that must be answered 201 and
be found stored afterwards. Then it sends signed gateway webhooks for connections set up as
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
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from throwaway import free_port, fresh_database, migrated_context  # bench/, beside this script
from wattwallet.context import Context
from wattwallet.domain import clock
from wattwallet.ledger import verify
from wattwallet.simulation import fleet
from wattwallet.store import db, schema
from wattwallet.wallet import agents, payments

# A throwaway value for the throwaway server this bench starts: not a secret of any gateway.
BENCH_WEBHOOK_SECRET = "whsec_bench_only_not_a_real_secret"
AMOUNT = 10_000  # ₹100, a valid later recharge


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before the measured run")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight, all clients")
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--agents", type=int, default=8, help="agents (each its own daily total row)")
    parser.add_argument("--clients", type=int, default=1, help="load-generating processes (httpx)")
    parser.add_argument(
        "--generator",
        choices=["wrk", "httpx"],
        default="wrk",
        help="wrk (C, needs the `wrk` program: costs the shared cores far less) or httpx (Python)",
    )
    parser.add_argument("--reconnects", type=int, default=20, help="webhook recharges on disconnected")
    parser.add_argument("--verify", action="store_true", help="run ledger verify afterwards")
    args = parser.parse_args()

    if args.generator == "wrk" and shutil.which("wrk") is None:
        raise SystemExit(
            "the wrk load generator is not installed (Debian: apt-get install wrk); "
            "or run with --generator httpx"
        )
    url, cleanup = fresh_database(args.db)
    try:
        run(args, url)
    finally:
        cleanup()


def run(args: argparse.Namespace, url: str) -> None:
    ctx = migrated_context(url)
    store = ctx.store
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
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")  # planner statistics, as autovacuum keeps them on a live database
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
        warm = warm_up(base, keys, loaded, args)
        before = {name: _cpu(find()) for name, find in groups.items()}
        load = (drive_wrk if args.generator == "wrk" else drive)(base, keys, loaded, args)
        spent = {name: sum(_cpu(find(), since=before[name]).values()) for name, find in groups.items()}
        spent["load generator"] = load["cpu_seconds"]
        reconnects = webhooks(base, intents)

    ok = load["statuses"].get("201", 0)
    bad = {status: n for status, n in load["statuses"].items() if status != "201"}
    latencies = sorted(load.get("latencies_ms", []))
    rate = ok / load["elapsed"]
    figures = load.get("percentiles_ms") or {
        "p50": _percentile(latencies, 50),
        "p90": _percentile(latencies, 90),
        "p99": _percentile(latencies, 99),
        "max": latencies[-1] if latencies else 0.0,
    }
    p99 = figures["p99"]
    clients = "wrk" if args.generator == "wrk" else f"{args.clients} httpx client process(es)"
    print(
        f"load: {args.concurrency} in flight from {clients}, {args.workers} server "
        f"worker(s), {load['elapsed']:.1f}s: {ok} recharges answered 201, other answers {bad or 'none'}"
    )
    print(
        f"latency ms: p50 {figures['p50']:.1f}  p90 {figures['p90']:.1f}  p99 {p99:.1f}  "
        f"max {figures['max']:.1f}"
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
    _check_store(
        store,
        answered=None if load.get("references") is None else load["references"] + warm["references"],
        expected=ok + warm["statuses"].get("201", 0) + len(reconnects["rows"]),
        # wrk drops what is in flight when its time is up: the server may still commit those.
        unanswered_allowed=args.concurrency * (1 + bool(warm["references"]))
        if args.generator == "wrk"
        else 0,
    )
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


def _disconnect(ctx: Context, service_nos: list[str], *, now: dt.datetime) -> None:
    """As if the disconnection had been carried out: the relay open, the connection disconnected."""
    c, m = schema.connections, schema.meters
    with ctx.store.write() as conn:
        conn.execute(
            sa.update(c).where(c.c.service_no.in_(service_nos)).values(state="disconnected", updated_at=now)
        )
        conn.execute(sa.update(m).where(m.c.service_no.in_(service_nos)).values(relay="open"))


@contextlib.contextmanager
def serve(url: str, *, workers: int) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "WATTWALLET_DATABASE_URL": url,
        "WATTWALLET_API__GATEWAY_WEBHOOK_SECRET": BENCH_WEBHOOK_SECRET,
    }
    command = [sys.executable, "-m", "wattwallet", "serve", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(
        [*command, "--log-level", "warning", "--no-upgrade", *os.environ.get("BENCH_SERVE_ARGS", "").split()],
        env=env,
        start_new_session=True,
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


_WRK_SCRIPT = r"""
local keys = {%(keys)s}
local services = {%(services)s}
local threads = {}
-- Globals, not locals: setup() sets each thread's `tid`, done() reads `statuses` and `references`.
tid, n = 0, 0
statuses, references = {}, {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function request()
  -- Each thread walks the wallets from its own offset: the requests in flight hit different wallets.
  n = n + 1
  local slot = tid * %(stride)d + n
  local body = string.format('{"service_no":"%%s","amount_paise":%(amount)d,"reference":"%(prefix)s%%d-%%d"}',
    services[slot %% #services + 1], tid, n)
  return wrk.format("POST", "/api/v1/agent/recharges",
    {["Content-Type"] = "application/json", ["X-API-Key"] = keys[slot %% #keys + 1]}, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local reference = string.match(body, '"reference":"([^"]*)"')
  if status == 201 and reference then references[#references + 1] = reference end
end

function done(summary, latency, requests)
  local out = io.open("%(out)s", "w")
  out:write(string.format('{"elapsed_us": %%d, "errors": {"connect": %%d, "read": %%d, "write": %%d, ' ..
    '"timeout": %%d}, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d}\n',
    summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do out:write("status ", status, " ", count, "\n") end
    for _, reference in ipairs(thread:get("references")) do out:write("ref ", reference, "\n") end
  end
  out:close()
end
"""


def drive_wrk(base: str, keys: list[str], service_nos: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """The same load from wrk (C): every request a new recharge with its own reference; the Lua
    script counts the answers by status and notes every reference answered 201."""
    return _run_wrk(base, keys, service_nos, args, seconds=args.seconds, prefix="W")


def warm_up(base: str, keys: list[str], service_nos: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """`--warmup` seconds of the same load, not measured: each worker's first requests pay for its
    imports, its compiled statements and its pool's connections once. Its recharges are checked."""
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(10):
            client.get("/api/v1/openapi.json")
    if args.generator != "wrk" or not args.warmup:
        return {"statuses": {}, "references": []}
    return _run_wrk(base, keys, service_nos, args, seconds=args.warmup, prefix="U")


def _run_wrk(
    base: str,
    keys: list[str],
    service_nos: list[str],
    args: argparse.Namespace,
    *,
    seconds: float,
    prefix: str,
) -> dict[str, Any]:
    threads = 2 if args.concurrency >= 2 else 1
    with tempfile.TemporaryDirectory(prefix="ww-wrk-") as folder:
        script, out = Path(folder) / "recharge.lua", Path(folder) / "result.txt"
        script.write_text(
            _WRK_SCRIPT
            % {
                "keys": ", ".join(json.dumps(k) for k in keys),
                "services": ", ".join(json.dumps(s) for s in service_nos),
                "stride": len(service_nos) // threads + 1,
                "amount": AMOUNT,
                "prefix": prefix,
                "out": str(out),
            }
        )
        command = ["wrk", "-t", str(threads), "-c", str(args.concurrency), "-d", f"{max(1, round(seconds))}s"]
        command += ["--timeout", "30s", "-s", str(script), base]
        log = Path(folder) / "wrk.log"
        with log.open("w") as sink:
            wrk = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
            _pid, code, usage = os.wait4(wrk.pid, 0)  # its CPU time too
        wrk.returncode = os.waitstatus_to_exitcode(code)
        if wrk.returncode != 0 or not out.exists():
            raise SystemExit(f"wrk failed ({wrk.returncode}): {log.read_text()[-2000:]}")
        head, *lines = out.read_text().splitlines()
    summary = json.loads(head)
    statuses: dict[str, int] = {}
    references = []
    for line in lines:
        kind, *rest = line.split(" ")
        if kind == "status":
            statuses[rest[0]] = statuses.get(rest[0], 0) + int(rest[1])
        else:
            references.append(rest[0])
    for error, count in summary["errors"].items():
        if count:
            statuses[f"socket {error}"] = count
    return {
        "statuses": statuses,
        "percentiles_ms": {p: summary[f"{p}_us"] / 1000 for p in ("p50", "p90", "p99", "max")},
        "elapsed": summary["elapsed_us"] / 1e6,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "references": references,
    }


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


def _check_store(
    store: db.Store, *, answered: list[str] | None, expected: int, unanswered_allowed: int
) -> None:
    """Every recharge answered 201 is stored (by its reference, when the generator tells them), at
    most `unanswered_allowed` more were stored, and the agents collected exactly what was stored."""
    r, t = schema.recharges, schema.agent_daily_totals
    agent_channels = [k.value for k in agents.Kind]
    with store.read() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(r)).scalar_one()
        by_agents = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(r.c.amount), 0)).where(r.c.channel.in_(agent_channels))
        ).scalar_one()
        collected = conn.execute(sa.select(sa.func.coalesce(sa.func.sum(t.c.amount), 0))).scalar_one()
        stored = set(conn.execute(sa.select(r.c.reference).where(r.c.channel.in_(agent_channels))).scalars())
    missing: list[str] = []
    if answered is not None:
        own = {s.split("/", 1)[1] for s in stored}
        missing = [ref for ref in answered if ref not in own][:3]
    extra = count - expected
    if not 0 <= extra <= unanswered_allowed or collected != by_agents or missing:
        print(
            f"STORE DISAGREES: {count} recharges stored, {expected} answered (up to {unanswered_allowed} "
            f"more allowed); agents collected {collected}, their recharges hold {by_agents}; answered "
            f"but not stored: {missing or 'none'}",
            file=sys.stderr,
        )
        raise SystemExit(1)
    print(
        f"store agrees: every answered recharge stored ({extra} more, still in flight when the load "
        f"stopped); agents' totals equal their recharges"
    )


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


if __name__ == "__main__":
    main()
