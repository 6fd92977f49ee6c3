"""The faults a simulation run injects, by named profile, and the one seeded generator that decides
every one of them (and everything else in the run), so that a seed replays a run exactly.

A rate is a probability per opportunity: per SQL statement for the database faults, per engine
call for a process death, per command for the head end, per reading, per payment, per delivery,
per consumer decision. `none` injects nothing (the engine on a good day); `light` is a bad week in
the field; `heavy` is everything failing at once, often.
"""

from __future__ import annotations

import collections
import dataclasses
import random

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    # The engine's own process dies: between two statements, after a commit before the caller
    # hears of it (the acknowledgement), in the middle of a batch.
    crash_statement: float = 0.0
    crash_after_commit: float = 0.0
    # The database: a serialization failure, a deadlock, a dropped connection, each per statement.
    db_serialization: float = 0.0
    db_deadlock: float = 0.0
    db_dropped: float = 0.0
    # The head end, per command: refused, lost, acknowledged twice, late, negatively; per day, a
    # long outage (every send refused for hours).
    hes_refuse: float = 0.0
    hes_lose: float = 0.0
    hes_double_ack: float = 0.0
    hes_late_ack: float = 0.0
    hes_negative_ack: float = 0.0
    hes_outage_per_day: float = 0.0
    # A command confirmed but the relay not moved: the meter's daily relay report disagrees.
    relay_disagree: float = 0.0
    # Readings, per meter-day: late (and so out of order), duplicated, register running backwards;
    # a meter falling silent for days.
    reading_late: float = 0.0
    reading_duplicate: float = 0.0
    reading_backwards: float = 0.0
    meter_silent: float = 0.0
    # The payment gateway, per online payment: the webhook twice, out of order (a failed attempt's
    # event after the success), hours late (the intent expired meanwhile), and forged events.
    webhook_twice: float = 0.0
    webhook_out_of_order: float = 0.0
    webhook_late: float = 0.0
    webhook_forged: float = 0.0
    # The SMS / WhatsApp / push gateways: per day an outage of hours; per request 5xx or slow
    # (taken, but the answer times out, so the same delivery is sent again).
    gateway_outage_per_day: float = 0.0
    gateway_5xx: float = 0.0
    gateway_slow: float = 0.0
    # Consumers, per recharge: a double click, a retry under the same reference, a recharge moved
    # into the disconnection window; per consumer-day a switch of language.
    double_click: float = 0.0
    same_reference_retry: float = 0.0
    recharge_in_window: float = 0.0
    language_switch: float = 0.0
    # How often a job that just ran is run again at once, to check that it changes nothing.
    rerun_job: float = 0.0


NONE = Profile("none", rerun_job=0.02)
LIGHT = Profile(
    "light",
    crash_statement=0.0005,
    crash_after_commit=0.005,
    db_serialization=0.0005,
    db_deadlock=0.0002,
    db_dropped=0.0002,
    hes_refuse=0.05,
    hes_lose=0.01,
    hes_double_ack=0.02,
    hes_late_ack=0.02,
    hes_negative_ack=0.01,
    hes_outage_per_day=0.02,
    relay_disagree=0.01,
    reading_late=0.01,
    reading_duplicate=0.01,
    reading_backwards=0.001,
    meter_silent=0.002,
    webhook_twice=0.05,
    webhook_out_of_order=0.02,
    webhook_late=0.02,
    webhook_forged=0.01,
    gateway_outage_per_day=0.02,
    gateway_5xx=0.02,
    gateway_slow=0.01,
    double_click=0.03,
    same_reference_retry=0.03,
    recharge_in_window=0.05,
    language_switch=0.002,
    rerun_job=0.05,
)
HEAVY = Profile(
    "heavy",
    crash_statement=0.003,
    crash_after_commit=0.03,
    db_serialization=0.003,
    db_deadlock=0.001,
    db_dropped=0.001,
    hes_refuse=0.2,
    hes_lose=0.05,
    hes_double_ack=0.1,
    hes_late_ack=0.1,
    hes_negative_ack=0.05,
    hes_outage_per_day=0.1,
    relay_disagree=0.05,
    reading_late=0.05,
    reading_duplicate=0.05,
    reading_backwards=0.005,
    meter_silent=0.01,
    webhook_twice=0.2,
    webhook_out_of_order=0.1,
    webhook_late=0.1,
    webhook_forged=0.05,
    gateway_outage_per_day=0.15,
    gateway_5xx=0.1,
    gateway_slow=0.05,
    double_click=0.1,
    same_reference_retry=0.1,
    recharge_in_window=0.2,
    language_switch=0.01,
    rerun_job=0.1,
)
PROFILES = {profile.name: profile for profile in (NONE, LIGHT, HEAVY)}


class Crash(BaseException):
    """The engine's process dies here. A BaseException, so that no `except Exception` in the
    engine can swallow it: everything in memory is lost; what was committed stays."""


class Injector:
    """The run's one generator and the tally of what it injected. `roll(kind)` draws once."""

    def __init__(self, seed: int, profile: Profile) -> None:
        self.rng = random.Random(seed)
        self.profile = profile
        self.injected: collections.Counter[str] = collections.Counter()
        self.armed = False  # database faults only while an engine call is being made

    def roll(self, kind: str) -> bool:
        rate: float = getattr(self.profile, kind)
        if rate <= 0:
            return False
        hit = self.rng.random() < rate
        if hit:
            self.injected[kind] += 1
        return hit


class _SerializationFailure(Exception):
    sqlstate = "40001"


class _DeadlockDetected(Exception):
    sqlstate = "40P01"


class _ConnectionDropped(Exception):
    sqlstate = "08006"  # connection_failure: not one db.is_transient retries by itself


def _driver_error(engine: Engine, base: type[Exception], message: str) -> Exception:
    """An error of the driver's own class (so SQLAlchemy wraps it as it would a real one) that
    carries the SQLSTATE a real server would give."""
    dbapi = engine.dialect.loaded_dbapi
    error_class = type(base.__name__, (base, dbapi.OperationalError), {})
    return error_class(message)  # type: ignore[no-any-return]


def install(engine: Engine, injector: Injector) -> None:
    """Faults on this engine's statements while `injector.armed`: a process death, or the
    database's serialization failure, deadlock or dropped connection, raised where the statement
    would have run (the transaction is then rolled back, as the server would)."""

    @event.listens_for(engine, "before_cursor_execute")
    def _fault(conn: sa.Connection, cursor: object, statement: str, *_: object) -> None:
        if not injector.armed or statement.lstrip()[:6].upper() in ("COMMIT", "ROLLBA"):
            return
        if injector.roll("crash_statement"):
            raise Crash("process died between statements")
        if injector.roll("db_serialization"):
            raise _driver_error(engine, _SerializationFailure, "could not serialize access (injected)")
        if injector.roll("db_deadlock"):
            raise _driver_error(engine, _DeadlockDetected, "deadlock detected (injected)")
        if injector.roll("db_dropped"):
            raise _driver_error(engine, _ConnectionDropped, "server closed the connection (injected)")
