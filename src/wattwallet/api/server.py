"""Running the API under uvicorn: the app is built from the environment in each worker process."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from wattwallet import config, context
from wattwallet.api import app as api_app
from wattwallet.jobs import background

# Threads that run the (synchronous) routes, per worker process. anyio's default is 40: under load
# that many threads fight over the GIL and the pool's connections and every request waits longer; a
# handful keeps PostgreSQL busy without the thrashing. SQLite takes one writer at a time and a writer
# that finds the lock taken sleeps in growing steps, so more threads only lengthen the tail. (Agents'
# recharges, the busiest route, do not use these: services.recharge_queue posts them in batches.)
ROUTE_THREADS = {"postgresql": 6, "sqlite": 2}
# How `serve` runs uvicorn: no `server: uvicorn` banner telling a prober what to aim at.
UVICORN_OPTIONS: dict[str, Any] = {"server_header": False}


def app_from_environment() -> FastAPI:
    """uvicorn's factory (`wattwallet.api.server:app_from_environment`): one store per worker."""
    settings = config.Settings()
    # uvicorn sets up its own loggers only; the background work reports through these.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ctx = context.open_context(settings, now=dt.datetime.now(dt.UTC))
    ctx, work = background.build(ctx, settings, jobs=settings.api.background)
    app = api_app.create_app(ctx, settings.api, background=work)
    _limit_route_threads(app, ROUTE_THREADS.get(ctx.store.dialect, 6))
    _settle_garbage_collector()
    return app


def _settle_garbage_collector() -> None:
    """Take what the worker has built (the app, its routes, the store, the tariffs) out of the
    collector's sight, and collect the young generation less often. A full collection walked all of
    it and stalled every request in flight for about 100 ms, and young collections every 700
    allocations took about a tenth of the CPU under load (bench/recharge_http.py). It holds for the
    whole worker process, the background work beside the API included."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def _limit_route_threads(app: FastAPI, threads: int) -> None:
    """Set the worker's thread limit when it starts serving (the limiter belongs to its event loop)."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(started: Any) -> AsyncIterator[Any]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        async with inner(started) as state:
            yield state

    app.router.lifespan_context = lifespan
