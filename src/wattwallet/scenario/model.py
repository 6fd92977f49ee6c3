"""Reading a scenario file into checked values. Every error names the field and its YAML line."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml

from wattwallet import tariffs
from wattwallet.domain import errors, money, policy

# Event kinds this version replays: SCENARIOS.md's, and `payment` and `deposit` for postpaid.
KNOWN_EVENTS = (
    "recharge",
    "reading",
    "short_bill",
    "complaint",
    "hes",
    "mobile_change",
    "language",
    "mode",
    "payment",
    "deposit",
)


class ScenarioInvalid(errors.InvalidInput):
    code = "scenario_invalid"


@dataclasses.dataclass(frozen=True)
class ConnectionSpec:
    id: str
    fields: Mapping[str, Any]  # as written; validated by services.connections.parse
    arrears_paise: int
    balance_paise: int
    first_recharge_done: bool
    path: str
    deposit_paise: int = 0


@dataclasses.dataclass(frozen=True)
class RechargeEvent:
    connection: str
    amount_paise: int
    channel: str
    ref: str
    paid_at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class ReadingEvent:
    connection: str
    kwh: object  # checked by services.readings.parse, which the engine applies to every reading


@dataclasses.dataclass(frozen=True)
class ShortBillEvent:
    connection: str
    amount_paise: int
    reason: str
    ref: str


@dataclasses.dataclass(frozen=True)
class ComplaintEvent:
    connection: str
    kind: str
    ref: str
    source: str


@dataclasses.dataclass(frozen=True)
class HesEvent:
    mode: str  # ok | fail | delay
    count: int = 0
    minutes: int = 0


@dataclasses.dataclass(frozen=True)
class LanguageEvent:
    connection: str
    language: str


@dataclasses.dataclass(frozen=True)
class MobileChangeEvent:
    connection: str
    new: str
    via: str
    old: str | None
    ref: str | None
    by: str | None


@dataclasses.dataclass(frozen=True)
class ModeEvent:
    """A billing-mode switch request (effective from the day `from`, default the next day), or its
    withdrawal (`withdraw: true`)."""

    connection: str
    mode: str | None
    on: dt.date | None
    withdraw: bool


@dataclasses.dataclass(frozen=True)
class PaymentEvent:
    connection: str
    amount: object  # checked by the payment rules (at least ₹1, two decimals), like a real one
    channel: str
    ref: str
    paid_at: dt.datetime | None


@dataclasses.dataclass(frozen=True)
class DepositEvent:
    connection: str
    amount: object


Body = (
    ModeEvent
    | PaymentEvent
    | DepositEvent
    | RechargeEvent
    | ReadingEvent
    | ShortBillEvent
    | ComplaintEvent
    | HesEvent
    | LanguageEvent
    | MobileChangeEvent
)


@dataclasses.dataclass(frozen=True)
class Event:
    at: dt.datetime
    index: int
    kind: str
    body: Body


@dataclasses.dataclass(frozen=True)
class Scenario:
    start: dt.datetime
    end: dt.datetime | None
    policy: policy.Policy
    connections: Sequence[ConnectionSpec]
    events: Sequence[Event]
    tariff_book: str = tariffs.DEFAULT_DISCOM  # a built-in book's name (tariffs.names())


def load(text: str, *, default_book: str = tariffs.DEFAULT_DISCOM) -> Scenario:
    """Read a scenario; without a `tariff_book:` key it is rated by `default_book` (the deployment
    DISCOM's book)."""
    try:
        root_node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioInvalid(f"not valid YAML: {exc}") from None
    return _Reader(root_node, default_book=default_book).scenario(data)


class _Reader:
    def __init__(self, root: yaml.Node | None, *, default_book: str) -> None:
        self.root = root
        self.default_book = default_book

    def fail(self, path: str, message: str) -> ScenarioInvalid:
        line = self._line(path)
        where = f"line {line}, {path}" if line else path
        return ScenarioInvalid(f"{where}: {message}", field=path, line=line)

    def _line(self, path: str) -> int | None:
        """Walk the composed YAML nodes along `path` (a.b[2].c) to find where it is written."""
        node = self.root
        found: int | None = node.start_mark.line + 1 if node is not None else None
        for part in path.replace("[", ".[").split("."):
            if not part or node is None:
                continue
            if part.startswith("[") and isinstance(node, yaml.SequenceNode):
                i = int(part[1:-1])
                node = node.value[i] if i < len(node.value) else None
            elif isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == part), None)
            else:
                node = None
            if node is not None:
                found = node.start_mark.line + 1
        return found

    def scenario(self, data: object) -> Scenario:
        if not isinstance(data, dict):
            raise self.fail("(top)", "a scenario is a mapping with start, connections and events")
        self._no_unknown(data, "", {"start", "end", "tariff_book", "settings", "connections", "events"})
        book = data.get("tariff_book", self.default_book)
        if book not in tariffs.names():
            raise self.fail(
                "tariff_book", f"unknown tariff book {book!r}; known: {', '.join(tariffs.names())}"
            )
        start = self._instant(data.get("start"), "start")
        end = None if data.get("end") is None else self._instant(data["end"], "end")
        if end is not None and end < start:
            raise self.fail("end", "end is before start")
        connections = [
            self._connection(c, f"connections[{i}]") for i, c in enumerate(self._list(data, "connections"))
        ]
        ids = [c.id for c in connections]
        for i, cid in enumerate(ids):
            if cid in ids[:i]:
                raise self.fail(f"connections[{i}].id", f"connection {cid} appears twice")
        events = [self._event(e, i) for i, e in enumerate(self._list(data, "events"))]
        for event in events:
            if event.at < start:
                raise self.fail(f"events[{event.index}].at", "event is before the scenario start")
            if end is not None and event.at > end:
                raise self.fail(f"events[{event.index}].at", "event is after the scenario end")
        return Scenario(start, end, self._policy(data.get("settings")), connections, events, str(book))

    def _list(self, data: Mapping[str, Any], key: str) -> list[Any]:
        value = data.get(key) or []
        if not isinstance(value, list):
            raise self.fail(key, f"{key} must be a list")
        return value

    def _no_unknown(self, data: Mapping[str, Any], path: str, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                prefix = f"{path}." if path else ""
                raise self.fail(
                    f"{prefix}{key}",
                    f"unknown field {key!r}; expected one of {', '.join(sorted(allowed))}",
                )

    def _instant(self, value: object, path: str) -> dt.datetime:
        if isinstance(value, dt.datetime):
            instant = value
        elif isinstance(value, str):
            try:
                instant = dt.datetime.fromisoformat(value)
            except ValueError:
                raise self.fail(path, f"{value!r} is not an ISO 8601 instant") from None
        else:
            raise self.fail(
                path,
                "an ISO 8601 instant with its offset is required, e.g. 2025-06-02T09:00:00+05:30",
            )
        if instant.tzinfo is None:
            raise self.fail(path, f"{value!r} has no UTC offset (write +05:30 for IST)")
        return instant

    def _rupees(self, value: object, path: str) -> int:
        try:
            return money.parse_rupees(value, allow_zero=True, allow_negative=True)
        except errors.WattWalletError as exc:
            raise self.fail(path, exc.message) from None

    def _text(self, body: Mapping[str, Any], key: str, path: str, *, default: str | None = None) -> str:
        value = body.get(key, default)
        if value is None:
            raise self.fail(f"{path}.{key}", "is required")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.fail(f"{path}.{key}", f"must be text, got {value!r}")
        return str(value)

    def _policy(self, settings: object) -> policy.Policy:
        if settings is None:
            return policy.Policy()
        if not isinstance(settings, dict):
            raise self.fail("settings", "settings must be a mapping of policy names to values")
        known = set(policy.Policy.model_fields)
        self._no_unknown(settings, "settings", known)
        try:
            return policy.Policy(**settings)
        except ValueError as exc:
            first = exc.errors()[0] if hasattr(exc, "errors") else {"loc": (), "msg": str(exc)}
            field = ".".join(str(p) for p in first["loc"])
            raise self.fail(f"settings.{field}", str(first["msg"])) from None

    def _connection(self, spec: object, path: str) -> ConnectionSpec:
        if not isinstance(spec, dict):
            raise self.fail(path, "a connection is a mapping")
        allowed = {
            "id",
            "name",
            "category",
            "load_kw",
            "mode",
            "mobile",
            "language",
            "meter",
            "register_kwh",
            "arrears",
            "first_recharge_done",
            "balance",
            "deposit",
        }
        self._no_unknown(spec, path, allowed)
        cid = self._text(spec, "id", path)
        for key in ("category", "load_kw", "mobile"):
            if spec.get(key) is None:
                raise self.fail(f"{path}.{key}", "is required")
        done = spec.get("first_recharge_done", False)
        if not isinstance(done, bool):
            raise self.fail(f"{path}.first_recharge_done", "must be true or false")
        balance = self._rupees(spec.get("balance", 0), f"{path}.balance")
        if balance and not done:
            raise self.fail(f"{path}.balance", "an opening balance needs first_recharge_done: true")
        arrears = self._rupees(spec.get("arrears", 0), f"{path}.arrears")
        if arrears < 0:
            raise self.fail(f"{path}.arrears", "arrears cannot be negative")
        deposit = self._rupees(spec.get("deposit", 0), f"{path}.deposit")
        if deposit < 0:
            raise self.fail(f"{path}.deposit", "a deposit cannot be negative")
        return ConnectionSpec(cid, spec, arrears, balance, done, path, deposit)

    def _event(self, raw: object, index: int) -> Event:
        path = f"events[{index}]"
        if not isinstance(raw, dict):
            raise self.fail(path, "an event is a mapping with `at` and one event kind")
        at = self._instant(raw.get("at"), f"{path}.at")
        kinds = [k for k in raw if k != "at"]
        if len(kinds) != 1:
            raise self.fail(path, f"an event has `at` and exactly one of {', '.join(KNOWN_EVENTS)}")
        kind = kinds[0]
        if kind not in KNOWN_EVENTS:
            raise self.fail(
                f"{path}.{kind}", f"unknown event kind; expected one of {', '.join(KNOWN_EVENTS)}"
            )
        body = raw[kind]
        if not isinstance(body, dict):
            raise self.fail(f"{path}.{kind}", "must be a mapping")
        parsers: dict[str, Callable[[Mapping[str, Any], str], Body]] = {
            "recharge": self._recharge,
            "reading": self._reading,
            "short_bill": self._short_bill,
            "complaint": self._complaint,
            "hes": self._hes,
            "language": self._language,
            "mobile_change": self._mobile_change,
            "mode": self._mode,
            "payment": self._payment,
            "deposit": self._deposit,
        }
        parsed: Body = parsers[kind](body, f"{path}.{kind}")
        return Event(at, index, kind, parsed)

    def _short_bill(self, body: Mapping[str, Any], path: str) -> ShortBillEvent:
        self._no_unknown(body, path, {"connection", "amount", "reason", "ref"})
        if body.get("amount") is None:
            raise self.fail(f"{path}.amount", "is required")
        return ShortBillEvent(
            connection=self._text(body, "connection", path),
            amount_paise=self._rupees(body["amount"], f"{path}.amount"),
            reason=self._text(body, "reason", path),
            ref=self._text(body, "ref", path),
        )

    def _complaint(self, body: Mapping[str, Any], path: str) -> ComplaintEvent:
        self._no_unknown(body, path, {"connection", "kind", "ref", "source"})
        source = self._text(body, "source", path, default="consumer")
        if source not in ("consumer", "helpline"):
            raise self.fail(f"{path}.source", "a scenario complaint comes from the consumer or the helpline")
        return ComplaintEvent(
            connection=self._text(body, "connection", path),
            kind=self._text(body, "kind", path, default="reconnection"),
            ref=self._text(body, "ref", path),
            source=source,
        )

    def _hes(self, body: Mapping[str, Any], path: str) -> HesEvent:
        self._no_unknown(body, path, {"mode", "count", "minutes"})
        mode = self._text(body, "mode", path)
        if mode not in ("ok", "fail", "delay"):
            raise self.fail(f"{path}.mode", f"mode must be ok, fail or delay, got {mode!r}")
        count, minutes = body.get("count", 1 if mode == "fail" else 0), body.get("minutes", 0)
        for key, value in (("count", count), ("minutes", minutes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise self.fail(f"{path}.{key}", f"must be a whole number of 0 or more, got {value!r}")
        if mode == "delay" and not minutes:
            raise self.fail(f"{path}.minutes", "a delay needs minutes")
        return HesEvent(mode, count, minutes)

    def _mobile_change(self, body: Mapping[str, Any], path: str) -> MobileChangeEvent:
        self._no_unknown(body, path, {"connection", "new", "via", "old", "ref", "by"})
        optional = {
            key: None if body.get(key) is None else self._text(body, key, path)
            for key in ("old", "ref", "by")
        }
        return MobileChangeEvent(
            connection=self._text(body, "connection", path),
            new=self._text(body, "new", path),
            via=self._text(body, "via", path),
            **optional,
        )

    def _mode(self, body: Mapping[str, Any], path: str) -> ModeEvent:
        # `from`, not `on`: YAML 1.1 reads a bare `on` key as the boolean true.
        self._no_unknown(body, path, {"connection", "mode", "from", "withdraw"})
        withdraw = body.get("withdraw", False)
        if not isinstance(withdraw, bool):
            raise self.fail(f"{path}.withdraw", "must be true or false")
        mode = None if withdraw else self._text(body, "mode", path)
        if mode is not None and mode not in ("prepaid", "postpaid"):
            raise self.fail(f"{path}.mode", f"mode must be prepaid or postpaid, got {mode!r}")
        on = body.get("from")
        if isinstance(on, dt.datetime):
            raise self.fail(
                f"{path}.from", "must be a date (a switch takes effect from its start), not an instant"
            )
        if on is not None and not isinstance(on, dt.date):
            try:
                on = dt.date.fromisoformat(str(on))
            except ValueError:
                raise self.fail(f"{path}.from", f"must be a date like 2025-07-01, got {on!r}") from None
        return ModeEvent(self._text(body, "connection", path), mode, on, withdraw)

    def _payment(self, body: Mapping[str, Any], path: str) -> PaymentEvent:
        self._no_unknown(body, path, {"connection", "amount", "channel", "ref", "paid_at"})
        if body.get("amount") is None:
            raise self.fail(f"{path}.amount", "is required")
        paid_at = None if body.get("paid_at") is None else self._instant(body["paid_at"], f"{path}.paid_at")
        return PaymentEvent(
            connection=self._text(body, "connection", path),
            amount=body["amount"],
            channel=self._text(body, "channel", path, default="portal"),
            ref=self._text(body, "ref", path),
            paid_at=paid_at,
        )

    def _deposit(self, body: Mapping[str, Any], path: str) -> DepositEvent:
        self._no_unknown(body, path, {"connection", "amount"})
        if body.get("amount") is None:
            raise self.fail(f"{path}.amount", "is required")
        return DepositEvent(self._text(body, "connection", path), body["amount"])

    def _language(self, body: Mapping[str, Any], path: str) -> LanguageEvent:
        self._no_unknown(body, path, {"connection", "language"})
        return LanguageEvent(self._text(body, "connection", path), self._text(body, "language", path))

    def _reading(self, body: Mapping[str, Any], path: str) -> ReadingEvent:
        self._no_unknown(body, path, {"connection", "kwh"})
        if body.get("kwh") is None:
            raise self.fail(f"{path}.kwh", "is required (the cumulative register, kWh)")
        kwh = body["kwh"]
        if isinstance(kwh, bool) or not isinstance(kwh, int | float | str):
            raise self.fail(f"{path}.kwh", f"must be a number of kWh, got {kwh!r}")
        return ReadingEvent(connection=self._text(body, "connection", path), kwh=kwh)

    def _recharge(self, body: Mapping[str, Any], path: str) -> RechargeEvent:
        self._no_unknown(body, path, {"connection", "amount", "channel", "ref", "paid_at"})
        if body.get("amount") is None:
            raise self.fail(f"{path}.amount", "is required")
        paid_at = None if body.get("paid_at") is None else self._instant(body["paid_at"], f"{path}.paid_at")
        return RechargeEvent(
            connection=self._text(body, "connection", path),
            amount_paise=self._rupees(body["amount"], f"{path}.amount"),
            channel=self._text(body, "channel", path, default="portal"),
            ref=self._text(body, "ref", path),
            paid_at=paid_at,
        )
