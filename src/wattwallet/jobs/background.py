"""Everything that runs beside the API or in a worker process: the scheduler loop, and (when
configured) the message dispatcher and the HES link. One object to start and stop them together."""

from __future__ import annotations

import logging
from typing import Protocol

from wattwallet import config
from wattwallet.context import Context
from wattwallet.jobs import runner
from wattwallet.notify import dispatcher

log = logging.getLogger("wattwallet.background")


class Part(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class Background:
    def __init__(self, parts: list[Part]) -> None:
        self.parts = parts

    def start(self) -> None:
        for part in self.parts:
            part.start()
        log.info("background work started: %s", ", ".join(type(p).__name__ for p in self.parts))

    def stop(self) -> None:
        for part in reversed(self.parts):
            part.stop()


def build(ctx: Context, settings: config.Settings, *, jobs: bool = True) -> Background:
    """The parts this configuration asks for."""
    parts: list[Part] = []
    if jobs:
        parts.append(
            runner.Runner(ctx, settings=runner.RunnerSettings(tick_seconds=settings.jobs_tick_seconds))
        )
        parts.append(dispatcher.Dispatcher(ctx, settings=settings.delivery))
    return Background(parts)
