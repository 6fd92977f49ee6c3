"""Retail outlets and kiosks: recharges taken with an API key, within a daily limit per agent.

A key is 256 random bits shown once; only its SHA-256 is stored, so a copy of the database lets no
one recharge. Each agent's references live in their own space (`<agent id>/<reference>` on the
agent's channel): two outlets may both use "R-1" and neither can replay or read the other's receipt.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from wattwallet.context import Context
from wattwallet.domain import clock, errors, money, recharge
from wattwallet.domain import events as domain_events
from wattwallet.store import schema
from wattwallet.wallet import recharge_batch, recharges

KEY_PREFIX = "wwk_"
_ID_PREFIX = "AG"
ID_LENGTH = len(_ID_PREFIX) + 8
# The stored reference is "<agent id>/<agent's reference>" and must fit recharge.reference (64).
REFERENCE_MAX = 64 - ID_LENGTH - 1
_KEY_MAX = 128
# Looked up when a presented key is malformed, so that every refusal costs about the same.
_NO_SUCH_HASH = hashlib.sha256(b"no agent has this key").hexdigest()


class Kind(enum.StrEnum):
    RETAIL = "retail"
    KIOSK = "kiosk"


class AgentInvalid(errors.InvalidInput):
    code = "agent_invalid"


class UnknownAgent(errors.NotFound):
    code = "agent_not_found"


class KeyInvalid(errors.Unauthenticated):
    """Unknown, revoked or malformed key, or an inactive agent: one answer for all."""

    code = "api_key_invalid"


class DailyLimitReached(errors.RuleViolation):
    code = "agent_daily_limit_reached"


class ReceiptNotFound(errors.NotFound):
    """No recharge under this reference among the agent's own (another agent's looks the same)."""

    code = "recharge_not_found"


@dataclasses.dataclass(frozen=True)
class Agent:
    id: str
    name: str
    kind: Kind
    daily_limit: int
    active: bool


@dataclasses.dataclass(frozen=True)
class Issued:
    """A new key: `key` is shown once and never stored."""

    agent: Agent
    key: str
    prefix: str


@dataclasses.dataclass(frozen=True)
class Listed:
    agent: Agent
    key_prefixes: list[str]  # live keys only
    collected_today: int


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str]:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:12]


def kind(raw: object) -> Kind:
    try:
        return Kind(str(raw).strip().lower())
    except ValueError:
        raise AgentInvalid(f"an agent is retail or kiosk, got {raw!r}") from None


def create(ctx: Context, *, name: str, kind_name: str, daily_limit_paise: int, now: dt.datetime) -> Issued:
    """Register an agent and issue its first key."""
    name = " ".join(str(name).split())
    if not 1 <= len(name) <= 120:
        raise AgentInvalid("an agent's name is 1 to 120 characters")
    chosen = kind(kind_name)
    if daily_limit_paise <= 0:
        raise money.AmountNotPositive("the daily limit must be greater than zero")
    agent = Agent(
        id=_ID_PREFIX + secrets.token_hex(4).upper(),
        name=name,
        kind=chosen,
        daily_limit=daily_limit_paise,
        active=True,
    )
    key, prefix = _new_key()
    with ctx.store.write() as conn:
        conn.execute(
            sa.insert(schema.agents).values(
                id=agent.id,
                name=agent.name,
                kind=agent.kind.value,
                daily_limit_paise=agent.daily_limit,
                active=True,
                created_at=now,
            )
        )
        _store_key(conn, agent.id, key, prefix, now)
    return Issued(agent, key, prefix)


def rotate_key(ctx: Context, *, agent_id: str, now: dt.datetime) -> Issued:
    """Revoke every live key of the agent and issue a new one (a key that leaked stops working now)."""
    key, prefix = _new_key()
    k = schema.agent_keys
    with ctx.store.write() as conn:
        agent = _get(conn, agent_id)
        conn.execute(
            sa.update(k).where(k.c.agent_id == agent.id, k.c.revoked_at.is_(None)).values(revoked_at=now)
        )
        _store_key(conn, agent.id, key, prefix, now)
    return Issued(agent, key, prefix)


def get(ctx: Context, *, agent_id: str) -> Agent:
    """The agent with this id (`UnknownAgent` if there is none)."""
    with ctx.store.read() as conn:
        return _get(conn, agent_id)


def set_active(ctx: Context, *, agent_id: str, active: bool) -> Agent:
    """A suspended agent's keys are refused until it is active again."""
    a = schema.agents
    with ctx.store.write() as conn:
        agent = _get(conn, agent_id)
        conn.execute(sa.update(a).where(a.c.id == agent.id).values(active=active))
    return dataclasses.replace(agent, active=active)


def all_agents(ctx: Context, *, now: dt.datetime) -> list[Listed]:
    a, k, t = schema.agents, schema.agent_keys, schema.agent_daily_totals
    today = clock.ist_date(now)
    with ctx.store.read() as conn:
        agents = [_agent(row) for row in conn.execute(sa.select(a).order_by(a.c.created_at, a.c.id))]
        prefixes: dict[str, list[str]] = {}
        for row in conn.execute(
            sa.select(k.c.agent_id, k.c.prefix).where(k.c.revoked_at.is_(None)).order_by(k.c.created_at)
        ):
            prefixes.setdefault(row.agent_id, []).append(row.prefix)
        totals = {
            row.agent_id: row.amount
            for row in conn.execute(sa.select(t.c.agent_id, t.c.amount).where(t.c.day == today))
        }
    return [Listed(agent, prefixes.get(agent.id, []), totals.get(agent.id, 0)) for agent in agents]


# Built once: it runs on every agent request, and building it costs about as much as running it.
_BY_KEYS = (
    sa.select(schema.agents, schema.agent_keys.c.key_hash, schema.agent_keys.c.revoked_at)
    .select_from(schema.agent_keys.join(schema.agents, schema.agents.c.id == schema.agent_keys.c.agent_id))
    .where(schema.agent_keys.c.key_hash.in_(sa.bindparam("digests", expanding=True)))
)


def authenticate(ctx: Context, key: str | None) -> Agent:
    """The active agent a live key belongs to; `KeyInvalid` for anything else."""
    with ctx.store.read() as conn:
        return _authenticate(conn, key)


def _authenticate(conn: Connection, key: str | None) -> Agent:
    [found] = _authenticate_many(conn, [key])
    if isinstance(found, KeyInvalid):
        raise found
    return found


def _authenticate_many(conn: Connection, keys: Sequence[str | None]) -> list[Agent | KeyInvalid]:
    """Keys are found by their SHA-256, so what an index lookup's timing could reveal is about a hash
    nobody can aim at; a malformed key still costs a lookup so it answers no faster."""
    digests = [_digest(key) if _well_formed(key) and key is not None else _NO_SUCH_HASH for key in keys]
    rows = {row.key_hash: row for row in conn.execute(_BY_KEYS, {"digests": sorted(set(digests))})}
    found: list[Agent | KeyInvalid] = []
    for key, digest in zip(keys, digests, strict=True):
        row = rows.get(digest)
        if not _well_formed(key) or row is None or row.revoked_at is not None or not row.active:
            found.append(KeyInvalid("the API key is unknown, revoked, or its agent is suspended"))
        else:
            found.append(_agent(row))
    return found


def _well_formed(key: str | None) -> bool:
    return isinstance(key, str) and key.startswith(KEY_PREFIX) and len(key) <= _KEY_MAX


def recharge_wallet(
    ctx: Context,
    *,
    agent: Agent,
    service_no: str,
    amount_paise: int,
    reference: str,
    now: dt.datetime,
    paid_at: dt.datetime | None = None,
    events: domain_events.Log | None = None,
) -> recharges.Receipt:
    """A cash recharge taken by the agent: idempotent by the agent's own reference, and counted against
    its limit for the IST day it is recorded on, inside the recharge's transaction."""
    own = _own_reference(agent, reference)
    recharges.check_backdate(ctx, paid_at=paid_at, now=now, taker=f"agent {agent.id}")
    receipt = recharges.recharge_wallet(
        ctx,
        service_no=service_no,
        channel=agent.kind.value,
        reference=own,
        amount_paise=amount_paise,
        now=now,
        paid_at=paid_at,
        guard=_within_limit(agent, now),
        events=events,
    )
    return dataclasses.replace(receipt, reference=reference)


@dataclasses.dataclass(frozen=True)
class KeyedRecharge:
    """A recharge as an agent's till sends it: the key it presents and what it asks."""

    key: str | None
    service_no: str
    amount_paise: int
    reference: str
    paid_at: dt.datetime | None = None
    received_at: dt.datetime | None = None  # None: when the batch is posted


def recharge_with_key(
    ctx: Context,
    *,
    key: str | None,
    service_no: str,
    amount_paise: int,
    reference: str,
    now: dt.datetime,
    paid_at: dt.datetime | None = None,
) -> recharges.Receipt:
    """`recharge_wallet` for whoever holds `key`, looked up first thing inside the recharge's own
    transaction (one transaction per recharge, not two): `KeyInvalid` still comes before any
    complaint about the request, as when `authenticate` is called first."""
    asked = KeyedRecharge(key, service_no, amount_paise, reference, paid_at)
    [outcome] = recharge_many(ctx, [asked], now=now)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def recharge_many(
    ctx: Context, asked: Sequence[KeyedRecharge], *, now: dt.datetime, send_reconnects: bool = True
) -> list[recharges.Receipt | Exception]:
    """Agents' recharges posted together in one transaction (`services.recharge_queue` gathers
    them): each gets its receipt or its own refusal. The keys are looked up in one query inside the
    transaction; a bad key refuses only its own request, before anything else is said of it.
    Reconnects are sent before this returns unless `send_reconnects` is False (the caller sends
    them: `recharges.send_reconnect`)."""

    def prepare(
        conn: Connection, items: Sequence[KeyedRecharge]
    ) -> list[recharge_batch.Request | errors.WattWalletError]:
        found = _authenticate_many(conn, [item.key for item in items])
        requests: list[recharge_batch.Request | errors.WattWalletError] = []
        for item, agent in zip(items, found, strict=True):
            try:
                if isinstance(agent, errors.WattWalletError):
                    raise agent
                recharges.check_backdate(
                    ctx, paid_at=item.paid_at, now=item.received_at or now, taker=f"agent {agent.id}"
                )
                requests.append(
                    recharges.request(
                        item.service_no,
                        agent.kind.value,
                        _own_reference(agent, item.reference),
                        item.amount_paise,
                        now=item.received_at or now,
                        paid_at=item.paid_at,
                        guard=_within_limit(agent, item.received_at or now),
                    )
                )
            except errors.WattWalletError as refused:
                requests.append(refused)
        return requests

    answers: list[recharges.Receipt | Exception] = []
    for item, outcome in zip(
        asked, recharges.run_many(ctx, asked, prepare, now=now, send_reconnects=send_reconnects), strict=True
    ):
        result = outcome.result
        # The agent's own reference on its receipt, not the stored "<agent id>/<reference>".
        answers.append(
            dataclasses.replace(result, reference=item.reference)
            if isinstance(result, recharges.Receipt)
            else result
        )
    return answers


def _within_limit(agent: Agent, received_at: dt.datetime) -> recharges.Guard:
    """The agent's limit for the IST day the request was received on."""
    day = clock.ist_date(received_at)
    return recharge_batch.Guard(f"agent:{agent.id}:{day.isoformat()}", (agent, day), _LimitTally, "agent")


class _LimitTally:
    """Agents' daily totals within one batch of recharges: the totals the batch touches are locked
    in one statement (in the batch's key order, so batches never wait on each other in a circle),
    counted here in the order the requests came, and written back when the batch is done. A day's
    first total is written only then, and only if something was counted, so a refused request
    leaves nothing behind. On SQLite the write lock is already held."""

    def __init__(self, conn: Connection, subjects: list[tuple[Agent, dt.date]]) -> None:
        self.conn = conn
        self.limits = {(agent.id, day): agent.daily_limit for agent, day in subjects}
        self.start = _lock_totals(conn, list(self.limits))
        self.totals = {key: self.start.get(key, 0) for key in self.limits}

    def take(self, subject: tuple[Agent, dt.date], amount: int) -> errors.WattWalletError | None:
        agent, day = subject
        total = self.totals[(agent.id, day)] + amount
        if total > agent.daily_limit:
            return DailyLimitReached(
                f"this agent's daily limit of {money.inr(agent.daily_limit)} would be exceeded",
                limit=money.rupees(agent.daily_limit),
            )
        self.totals[(agent.id, day)] = total
        return None

    def finish(self) -> None:
        changed = [
            {"t_agent": agent_id, "t_day": day, "t_amount": total}
            for (agent_id, day), total in self.totals.items()
            if (agent_id, day) in self.start and total != self.start[(agent_id, day)]
        ]
        if changed:
            self.conn.execute(_SET_TOTAL, changed)
        firsts = [(key, total) for key, total in self.totals.items() if key not in self.start and total]
        if firsts and _add_firsts(self.conn, firsts) != {key for key, _ in firsts}:
            raise recharge_batch.Contended("another batch opened the same agent's day and took its room")


def _lock_totals(conn: Connection, keys: list[tuple[str, dt.date]]) -> dict[tuple[str, dt.date], int]:
    """The existing (agent, day) totals among `keys`, locked in key order."""
    rows = conn.execute(
        _LOCK_TOTALS[conn.dialect.name],
        {"agents": sorted({a for a, _ in keys}), "days": sorted({d for _, d in keys})},
    )
    wanted = set(keys)
    return {(a, d): amount for a, d, amount in rows if (a, d) in wanted}


def _add_firsts(conn: Connection, firsts: list[tuple[tuple[str, dt.date], int]]) -> set[tuple[str, dt.date]]:
    """Write the first totals of agents' days. Should another transaction have written one since
    this batch looked (two processes, one agent's first recharges of the day), the amounts add up
    when they stay within the agent's limit; the keys not written are those that would not."""
    t = schema.agent_daily_totals
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(t)
    statement = (
        insert.values([{"agent_id": a, "day": d, "amount": total} for (a, d), total in firsts])
        .on_conflict_do_update(
            index_elements=[t.c.agent_id, t.c.day],
            set_={"amount": t.c.amount + insert.excluded.amount},
            where=t.c.amount + insert.excluded.amount <= _LIMIT,
        )
        .returning(t.c.agent_id, t.c.day)
    )
    return {(a, d) for a, d in conn.execute(statement)}


# Each row's own agent's limit. Spelt out because SQLAlchemy does not correlate a subquery with the
# upsert's `excluded` row (it would add a FROM of its own).
_LIMIT: sa.ColumnElement[int] = sa.literal_column(
    "(SELECT agents.daily_limit_paise FROM agents WHERE agents.id = excluded.agent_id)"
)


def _lock_totals_statement(dialect: str) -> sa.Select[Any]:
    t = schema.agent_daily_totals
    query = (
        sa.select(t.c.agent_id, t.c.day, t.c.amount)
        .where(
            t.c.agent_id.in_(sa.bindparam("agents", expanding=True)),
            t.c.day.in_(sa.bindparam("days", expanding=True)),
        )
        .order_by(t.c.agent_id, t.c.day)
    )
    return query.with_for_update() if dialect == "postgresql" else query


# Built once per dialect: every batch of agent recharges runs them.
_LOCK_TOTALS = {dialect: _lock_totals_statement(dialect) for dialect in ("postgresql", "sqlite")}
_SET_TOTAL = (
    sa.update(schema.agent_daily_totals)
    .where(
        schema.agent_daily_totals.c.agent_id == sa.bindparam("t_agent"),
        schema.agent_daily_totals.c.day == sa.bindparam("t_day"),
    )
    .values(amount=sa.bindparam("t_amount"))
)


def receipt(ctx: Context, *, agent: Agent, reference: str) -> recharges.Receipt:
    """The agent's own recharge under its reference; another agent's is not found."""
    try:
        own = _own_reference(agent, reference)
    except recharge.ReferenceInvalid:
        raise ReceiptNotFound("no recharge with this reference among yours") from None
    found = recharges.find(ctx, channel=agent.kind.value, reference=own)
    if found is None:
        raise ReceiptNotFound("no recharge with this reference among yours")
    return dataclasses.replace(found, reference=reference)


def _own_reference(agent: Agent, reference: str) -> str:
    """The stored reference: the agent's id, a slash, and the agent's reference (at most REFERENCE_MAX)."""
    text = recharge.reference(reference)
    if len(text) > REFERENCE_MAX:
        raise recharge.ReferenceInvalid(
            f"an agent's recharge reference is at most {REFERENCE_MAX} characters, got {len(text)}"
        )
    return f"{agent.id}/{text}"


def _store_key(conn: Connection, agent_id: str, key: str, prefix: str, now: dt.datetime) -> None:
    conn.execute(
        sa.insert(schema.agent_keys).values(
            key_hash=_digest(key), agent_id=agent_id, prefix=prefix, created_at=now, revoked_at=None
        )
    )


def _get(conn: Connection, agent_id: str) -> Agent:
    a = schema.agents
    row = conn.execute(sa.select(a).where(a.c.id == str(agent_id).strip().upper())).first()
    if row is None:
        raise UnknownAgent(f"no agent with id {agent_id!r}")
    return _agent(row)


def _agent(row: sa.Row[tuple[object, ...]]) -> Agent:
    m = row._mapping
    return Agent(
        id=m["id"],
        name=m["name"],
        kind=Kind(m["kind"]),
        daily_limit=m["daily_limit_paise"],
        active=m["active"],
    )
