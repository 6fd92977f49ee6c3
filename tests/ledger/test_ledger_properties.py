"""Property: any interleaving of recharges, repeats and dues keeps the ledger true to a tiny model.

A Hypothesis state machine drives several connections (new, in service, postpaid, terminated)
through valid and invalid recharges on every channel, repeats of earlier references (the same
request, or the reference reused for another amount, connection or channel) and dues, under a
dues cap drawn per example. The model is a few integers per connection. After every step the
stored wallet and dues balances must equal the model's and a refused request must not have added
a row anywhere; at the end of every example `ledger verify` must find every invariant intact.

Each example registers its own connections (random 13-digit service numbers) and uses its own
reference prefix, so examples share the test's database without seeing one another.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import agents_for_tests, table_counts, take_recharge
from wattwallet import tariffs
from wattwallet.consumers import registration
from wattwallet.context import Context
from wattwallet.domain import errors, policy, recharge
from wattwallet.ledger import accounts, verify
from wattwallet.store import db, schema
from wattwallet.wallet import dues, recharges

CHANNELS = [c.value for c in recharge.Channel]
PROFILES = ["new", "new_lt2", "in_service", "postpaid", "terminated"]
N_CONNECTIONS = 3
# Ways a recharge request can go wrong besides its amount and its connection's state.
TWISTS = ["paid_in_future", "unknown_connection", "unknown_channel", "reference_invalid"]

# Around every boundary of the rules (zero, ₹100, ₹500, ₹900, non-multiples) and far from them.
amounts = st.one_of(
    st.sampled_from([-10_000, 0, 1, 9_999, 10_000, 10_001, 49_999, 50_000, 55_050, 89_999, 90_000]),
    st.integers(min_value=1, max_value=4).map(lambda k: k * 10_000),  # later recharges only
    st.integers(min_value=5, max_value=30).map(lambda k: k * 10_000),  # first or later
    st.integers(min_value=50_000, max_value=120_000),  # mostly first only: any paise amount
    st.integers(min_value=-1_000, max_value=300_000),
)
dues_caps = st.one_of(st.sampled_from([0, 1, 33, 50, 99, 100]), st.integers(min_value=0, max_value=100))


@dataclasses.dataclass
class Model:
    """What one connection should hold, and what its next recharge must satisfy."""

    service_no: str
    prepaid: bool
    active: bool
    first_done: bool
    first_minimum: int
    wallet: int = 0
    dues: int = 0
    receivable: int = 0  # a postpaid connection's arrears are owed on its bill, not as dues


@dataclasses.dataclass(frozen=True)
class Tried:
    """A recharge request made earlier; its reference may come back."""

    channel: str
    reference: str
    service_no: str
    amount: int


@dataclasses.dataclass(frozen=True)
class DuesRaised:
    service_no: str
    kind: str
    reference: str
    amount: int


def _service_no() -> str:
    return str(10**12 + uuid.uuid4().int % (9 * 10**12))


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self, store: db.Store, now: dt.datetime) -> None:
        super().__init__()
        self.store, self.now = store, now
        self.tag = uuid.uuid4().hex[:10]
        self.serial = 0
        self.conns: list[Model] = []
        self.tried: list[Tried] = []
        self.accepted: dict[tuple[str, str], tuple[Tried, recharges.Receipt]] = {}
        self.raised: list[DuesRaised] = []
        self.ctx = Context(store=store, tariffs=tariffs.book("sample"), policy=policy.Policy())
        agents_for_tests(self.ctx, now=now)  # the outlet and kiosk exist before any recharge is counted

    def _next_ref(self, kind: str) -> str:
        self.serial += 1
        return f"{self.tag}-{kind}{self.serial}"

    @initialize(
        cap=dues_caps,
        third=st.sampled_from(PROFILES),
        arrears=st.lists(
            st.sampled_from([0, 1, 4_321, 60_000, 250_000]), min_size=N_CONNECTIONS, max_size=N_CONNECTIONS
        ),
        opening=st.integers(min_value=-50_000, max_value=100_000),
    )
    def register(self, cap: int, third: str, arrears: list[int], opening: int) -> None:
        # Two connections that take recharges (one awaiting its first), and one of any profile.
        profiles = ["new", "in_service", third]
        self.ctx = dataclasses.replace(self.ctx, policy=policy.Policy(dues_max_share_percent=cap))
        for profile, owed in zip(profiles, arrears, strict=True):
            in_service = profile in ("in_service", "terminated")
            category, load = ("LT-II", "12") if profile == "new_lt2" else ("LT-I", "2")
            new = registration.parse(
                self.ctx,
                service_no=_service_no(),
                consumer_name="Property Consumer",
                category=category,
                load_kw=load,
                mode="postpaid" if profile == "postpaid" else "prepaid",
                mobile="+919876543210",
                language="en",
                meter_serial=f"PM-{uuid.uuid4().hex[:16]}",
                arrears_paise=owed,
                first_recharge_done=in_service,
                opening_balance_paise=opening if in_service else 0,
                today=self.now.date(),
            )
            registration.add(self.ctx, new, now=self.now)
            if profile == "terminated":
                with self.store.write() as conn:
                    c = schema.connections
                    conn.execute(
                        sa.update(c).where(c.c.service_no == new.service_no).values(state="terminated")
                    )
            mandatory = self.ctx.tariffs.mandatory_charges(
                category=category, load_kw=new.load_kw, on=self.now.date()
            ).total_paise
            self.conns.append(
                Model(
                    service_no=new.service_no,
                    prepaid=profile != "postpaid",
                    active=profile != "terminated",
                    first_done=in_service,
                    first_minimum=max(50_000, mandatory),
                    wallet=new.opening_balance_paise,
                    dues=0 if profile == "postpaid" else owed,
                    receivable=owed if profile == "postpaid" else 0,
                )
            )

    # -- the model's verdicts -------------------------------------------------------------

    def _refusal(self, model: Model | None, amount: int) -> str | None:
        """The code a new reference's recharge must be refused with, or None to accept it."""
        if model is None:
            return "unknown_connection"
        if not model.active:
            return "connection_terminated"
        if not model.prepaid:
            return "connection_not_prepaid"
        if not model.first_done:
            return "first_recharge_below_minimum" if amount < model.first_minimum else None
        if amount < 10_000:
            return "below_minimum"
        if amount % 10_000:
            return "not_multiple_of_100"
        return None

    def _attempt(self, request: Tried, paid_late: bool) -> None:
        """Make the request and check its answer, and the store, against the model."""
        model = next((m for m in self.conns if m.service_no == request.service_no), None)
        earlier = self.accepted.get((request.channel, request.reference))
        if request.channel not in CHANNELS:
            expected: str | None = "unknown_channel"
        elif request.reference.startswith("-"):
            expected = "reference_invalid"
        elif request.amount <= 0:
            expected = "amount_not_positive"
        elif paid_late:
            expected = "paid_at_in_future"
        elif earlier is not None:
            first = earlier[0]
            same = (first.service_no, first.amount) == (request.service_no, request.amount)
            expected = None if same else "duplicate_conflict"
        else:
            expected = self._refusal(model, request.amount)
        if expected not in ("unknown_channel", "reference_invalid"):
            self.tried.append(request)  # a malformed request is not worth retrying
        # Counting every table is slow on a grown database: count only when nothing may change.
        before = table_counts(self.store) if expected is not None or earlier is not None else None
        paid_at = self.now + dt.timedelta(minutes=1) if paid_late else self.now - dt.timedelta(hours=2)
        try:
            receipt = take_recharge(
                self.ctx,
                service_no=request.service_no,
                channel=request.channel,
                reference=request.reference,
                amount_paise=request.amount,
                now=self.now,
                paid_at=paid_at,
            )
        except errors.WattWalletError as exc:
            assert exc.code == expected, (request, exc)
            assert table_counts(self.store) == before, "a refused recharge wrote a row"
            return
        assert expected is None, (request, receipt)
        if earlier is not None:
            # A repeat: the first answer again, and not a paisa moved.
            assert receipt == dataclasses.replace(earlier[1], replayed=True)
            assert table_counts(self.store) == before
            return
        assert model is not None
        to_dues = min(model.dues, request.amount * self.ctx.policy.dues_max_share_percent // 100)
        was_first = not model.first_done
        model.dues -= to_dues
        model.wallet += request.amount - to_dues
        model.first_done = True
        assert (receipt.amount, receipt.to_dues, receipt.to_wallet) == (
            request.amount,
            to_dues,
            request.amount - to_dues,
        )
        assert (receipt.balance, receipt.dues_remaining) == (model.wallet, model.dues)
        assert receipt.first_recharge is was_first and not receipt.replayed
        self.accepted[(request.channel, request.reference)] = (request, receipt)

    # -- rules ----------------------------------------------------------------------------

    @rule(
        which=st.integers(min_value=0, max_value=N_CONNECTIONS - 1),
        channel=st.sampled_from(CHANNELS),
        amount=amounts,
        twist=st.sampled_from([None] * 12 + TWISTS),
    )
    def recharge(self, which: int, channel: str, amount: int, twist: str | None) -> None:
        service_no = _service_no() if twist == "unknown_connection" else self.conns[which].service_no
        reference = self._next_ref("R")
        if twist == "unknown_channel":
            channel = "cash"
        elif twist == "reference_invalid":
            reference = f"-{reference}"  # must start with a letter or digit
        request = Tried(channel, reference, service_no, amount)
        self._attempt(request, paid_late=twist == "paid_in_future")

    @precondition(lambda self: bool(self.tried))
    @rule(
        pick=st.integers(min_value=0),
        of_accepted=st.booleans(),
        change=st.sampled_from(["same", "same", "amount", "connection", "channel"]),
        which=st.integers(min_value=0, max_value=N_CONNECTIONS - 1),
        amount=amounts,
    )
    def reuse_reference(self, pick: int, of_accepted: bool, change: str, which: int, amount: int) -> None:
        # An earlier reference again: a retried payment (accepted or refused the first time), or a
        # channel reusing it for something else. Most requests are refused, so lean on the others.
        accepted = [first for first, _ in self.accepted.values()]
        pool = accepted if of_accepted and accepted else self.tried
        request = pool[pick % len(pool)]
        if change == "amount":
            request = dataclasses.replace(request, amount=amount)
        elif change == "connection":
            request = dataclasses.replace(request, service_no=self.conns[which].service_no)
        elif change == "channel":
            others = [c for c in CHANNELS if c != request.channel]
            request = dataclasses.replace(request, channel=others[which % len(others)])
        self._attempt(request, False)

    @rule(
        which=st.integers(min_value=0, max_value=N_CONNECTIONS - 1),
        kind=st.sampled_from(["arrears", "technical_adjustment", "technical_adjustment", "penalty"]),
        amount=st.one_of(
            st.integers(min_value=1, max_value=300_000), st.sampled_from([-500, 0, 1, 10_000, 4_321])
        ),
        reason=st.sampled_from(["arrears brought over", "meter reassessment", "reassessed", "", "   "]),
    )
    def add_dues(self, which: int, kind: str, amount: int, reason: str) -> None:
        model = self.conns[which]
        if kind not in ("arrears", "technical_adjustment"):
            expected: str | None = "dues_kind_invalid"
        elif amount <= 0:
            expected = "amount_not_positive"
        elif not reason.strip():
            expected = "reason_missing"
        else:
            expected = None
        reference = self._next_ref("D")
        before = table_counts(self.store) if expected is not None else None
        try:
            added = dues.add(
                self.ctx,
                service_no=model.service_no,
                kind=kind,
                amount_paise=amount,
                reason=reason,
                reference=reference,
                now=self.now,
            )
        except errors.WattWalletError as exc:
            assert exc.code == expected, exc
            assert table_counts(self.store) == before
            return
        assert expected is None
        model.dues += amount
        assert (added.dues_total, added.replayed) == (model.dues, False)
        self.raised.append(DuesRaised(model.service_no, kind, reference, amount))

    @precondition(lambda self: bool(self.raised))
    @rule(pick=st.integers(min_value=0), other_amount=st.booleans())
    def repeat_dues(self, pick: int, other_amount: bool) -> None:
        earlier = self.raised[pick % len(self.raised)]
        model = next(m for m in self.conns if m.service_no == earlier.service_no)
        before = table_counts(self.store)
        try:
            added = dues.add(
                self.ctx,
                service_no=earlier.service_no,
                kind=earlier.kind,
                amount_paise=earlier.amount + (100 if other_amount else 0),
                reason="the same dues again",
                reference=earlier.reference,
                now=self.now,
            )
        except errors.WattWalletError as exc:
            assert other_amount and exc.code == "duplicate_conflict", exc
        else:
            assert not other_amount
            assert (added.dues_total, added.replayed) == (model.dues, True)
        assert table_counts(self.store) == before

    # -- after every step, and at the end ---------------------------------------------------

    @invariant()
    def balances_match_the_model(self) -> None:
        a = schema.ledger_accounts
        with self.store.read() as conn:
            stored = dict(
                conn.execute(
                    sa.select(a.c.code, a.c.balance).where(
                        a.c.service_no.in_([m.service_no for m in self.conns])
                    )
                ).all()
            )
        expected = {}
        for m in self.conns:
            expected[accounts.wallet(m.service_no)] = m.wallet
            expected[accounts.dues(m.service_no)] = m.dues
            if not m.prepaid:
                expected[accounts.receivable(m.service_no)] = m.receivable
                expected[accounts.advance(m.service_no)] = 0
                expected[accounts.deposit(m.service_no)] = 0
        assert stored == expected

    def teardown(self) -> None:
        # Every invariant of the whole ledger (balanced postings, stored balances, hash chains,
        # recharge splits). Once per example: it reads every example's rows so far.
        with self.store.read() as conn:
            report = verify.verify(conn)
        assert report.ok, report.discrepancies


def test_any_interleaving_keeps_the_ledger_true_to_the_model(store: db.Store, now: dt.datetime) -> None:
    class OnThisStore(LedgerMachine):
        def __init__(self) -> None:
            super().__init__(store, now)

    # About 25 examples x 20 steps per backend keeps the file near 15 s on two cores.
    run_state_machine_as_test(
        OnThisStore,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
