"""Everything that runs beside the API or in a worker process: the scheduler loop, and (when
configured) the message dispatcher and the HES link. One object to start and stop them together."""

from __future__ import annotations

import logging
from typing import Protocol

from wattwallet import config
from wattwallet.consumers import otp_courier
from wattwallet.context import Context
from wattwallet.hes.mqtt import link as hes_link
from wattwallet.jobs import runner
from wattwallet.messaging import dispatcher

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


class _Started:
    """A part that is running already (the HES link starts when it is attached): stop it at the end."""

    def __init__(self, link: hes_link.HesLink) -> None:
        self.link = link

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.link.stop()


def build(ctx: Context, settings: config.Settings, *, jobs: bool = True) -> tuple[Context, Background]:
    """The parts this configuration asks for, and the context they (and the API) must use: with a
    broker configured, commands go to the HES over MQTT instead of the in-process simulator. The
    process that runs the jobs also consumes the HES's acks, relay reports and readings."""
    ctx, link = hes_link.attach(ctx, settings.hes, consume=jobs)
    parts: list[Part] = [_Started(link)] if link is not None else []
    if jobs:
        parts.append(
            runner.Runner(ctx, settings=runner.RunnerSettings(tick_seconds=settings.jobs_tick_seconds))
        )
        parts.append(dispatcher.Dispatcher(ctx, settings=settings.delivery))
        parts.append(otp_courier.OtpCourier(ctx, poll_seconds=settings.delivery.otp_poll_seconds))
    return ctx, Background(parts)
