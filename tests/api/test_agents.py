"""Retail outlets and kiosks: API keys, recharges in each agent's own reference space, and the daily
limit counted once per recharge (both databases)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.api.conftest import Api
from tests.conftest import table_counts
from wattwallet.cli import main as cli
from wattwallet.store import schema
from wattwallet.wallet import agents
from wattwallet.wallet import views as wallets

RECHARGES = "/api/v1/agent/recharges"


def new_agent(api: Api, *, kind: str = "retail", limit_rupees: int = 50_000) -> agents.Issued:
    return agents.create(
        api.ctx, name="Sri Sai Kirana", kind_name=kind, daily_limit_paise=limit_rupees * 100, now=api.clock()
    )


def key(issued: agents.Issued) -> dict[str, str]:
    return {"X-API-Key": issued.key}


def pay(api: Api, issued: agents.Issued, service_no: str, paise: int, reference: str, **extra: Any) -> Any:
    body = {"service_no": service_no, "amount_paise": paise, "reference": reference, **extra}
    return api.client.post(RECHARGES, json=body, headers=key(issued))


def collected(api: Api, agent_id: str) -> int:
    t = schema.agent_daily_totals
    with api.ctx.store.read() as conn:
        return int(
            conn.execute(sa.select(sa.func.sum(t.c.amount)).where(t.c.agent_id == agent_id)).scalar() or 0
        )


def test_a_recharge_gets_a_receipt_and_its_repeat_the_same_one(api: Api, consumer: Any) -> None:
    service_no, _ = consumer(1)
    outlet = new_agent(api)
    paid = api.clock() - dt.timedelta(minutes=3)
    first = pay(api, outlet, service_no, 50_000, "SLIP-1", paid_at=paid.isoformat())
    assert first.status_code == 201, first.text
    receipt = first.json()
    assert receipt["receipt_no"].startswith("WW")
    assert (
        receipt["channel"],
        receipt["reference"],
        receipt["amount_paise"],
        receipt["balance_after_paise"],
    ) == (
        "retail",
        "SLIP-1",
        50_000,
        50_000,
    )
    assert dt.datetime.fromisoformat(receipt["paid_at"]) == paid and not receipt["replayed"]
    # Instants in IST, as every other route answers them (issue 12: the agent API said UTC).
    assert receipt["paid_at"].endswith("+05:30") and receipt["recorded_at"].endswith("+05:30")
    r = schema.recharges
    with api.ctx.store.read() as conn:
        (row,) = conn.execute(sa.select(r).where(r.c.service_no == service_no)).all()
    assert (row.channel, row.reference) == ("retail", f"{outlet.agent.id}/SLIP-1")
    again = pay(api, outlet, service_no, 50_000, "SLIP-1", paid_at=paid.isoformat())
    assert again.status_code == 200
    assert again.json() == {**receipt, "replayed": True}
    conflict = pay(api, outlet, service_no, 60_000, "SLIP-1")
    assert conflict.status_code == 409 and conflict.json()["code"] == "duplicate_conflict"
    fetched = api.client.get(f"{RECHARGES}/SLIP-1", headers=key(outlet))
    assert fetched.status_code == 200 and fetched.json() == receipt
    assert wallets.view(api.ctx, service_no=service_no, now=api.clock()).balance == 50_000
    assert collected(api, outlet.agent.id) == 50_000


def test_a_kiosk_recharges_on_the_kiosk_channel(api: Api, consumer: Any) -> None:
    service_no, _ = consumer(1, first_recharge_done=True)
    kiosk = new_agent(api, kind="kiosk")
    answer = pay(api, kiosk, service_no, 10_000, "K/2025/06/02/0001")
    assert answer.status_code == 201 and answer.json()["channel"] == "kiosk"
    fetched = api.client.get(f"{RECHARGES}/K/2025/06/02/0001", headers=key(kiosk))
    assert fetched.status_code == 200 and fetched.json()["receipt_no"] == answer.json()["receipt_no"]


def test_two_agents_may_use_one_reference_and_never_see_each_others(api: Api, consumer: Any) -> None:
    service_no, _ = consumer(1, first_recharge_done=True)
    a, b = new_agent(api), new_agent(api)
    first = pay(api, a, service_no, 10_000, "R-1")
    second = pay(api, b, service_no, 10_000, "R-1")
    assert [first.status_code, second.status_code] == [201, 201]
    assert first.json()["receipt_no"] != second.json()["receipt_no"]
    assert second.json()["balance_after_paise"] == 20_000 and not second.json()["replayed"]
    assert pay(api, a, service_no, 10_000, "A-ONLY").status_code == 201
    assert (
        api.client.get(f"{RECHARGES}/R-1", headers=key(b)).json()["receipt_no"]
        == (second.json()["receipt_no"])
    )
    hidden = api.client.get(f"{RECHARGES}/A-ONLY", headers=key(b))
    assert hidden.status_code == 404 and hidden.json()["code"] == "recharge_not_found"
    # Nor by naming A's stored reference: it lands in B's own space.
    sneaky = api.client.get(f"{RECHARGES}/{a.agent.id}/A-ONLY", headers=key(b))
    assert sneaky.status_code == 404
    # B repeating A's reference and amount is B's own recharge, not a replay of A's.
    own = pay(api, b, service_no, 10_000, "A-ONLY")
    assert own.status_code == 201 and not own.json()["replayed"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": ""}, {"X-API-Key": "wwk_not-a-key"}, {"X-API-Key": "x" * 5_000}],
    ids=["missing", "empty", "unknown", "huge"],
)
def test_a_bad_key_is_refused_and_writes_nothing(api: Api, consumer: Any, headers: dict[str, str]) -> None:
    service_no, _ = consumer(1)
    new_agent(api)
    before = table_counts(api.ctx.store)
    body = {"service_no": service_no, "amount_paise": 50_000, "reference": "R-1"}
    answer = api.client.post(RECHARGES, json=body, headers=headers)
    assert answer.status_code == 401 and answer.json()["code"] == "api_key_invalid"
    assert api.client.get(f"{RECHARGES}/R-1", headers=headers).status_code == 401
    assert table_counts(api.ctx.store) == before


def test_a_rotated_key_and_a_suspended_agent_are_refused(api: Api, consumer: Any) -> None:
    service_no, _ = consumer(1, first_recharge_done=True)
    old = new_agent(api)
    new = agents.rotate_key(api.ctx, agent_id=old.agent.id, now=api.clock())
    assert new.key != old.key and new.agent == old.agent
    refused = pay(api, old, service_no, 10_000, "R-1")
    assert refused.status_code == 401 and refused.json()["code"] == "api_key_invalid"
    assert pay(api, new, service_no, 10_000, "R-1").status_code == 201
    agents.set_active(api.ctx, agent_id=old.agent.id, active=False)
    assert pay(api, new, service_no, 10_000, "R-2").status_code == 401
    agents.set_active(api.ctx, agent_id=old.agent.id, active=True)
    assert pay(api, new, service_no, 10_000, "R-2").status_code == 201


def test_only_the_hash_of_a_key_is_stored(api: Api) -> None:
    issued = new_agent(api)
    with api.ctx.store.read() as conn:
        rows = conn.execute(sa.select(schema.agent_keys)).all()
    assert len(rows) == 1 and issued.key not in repr(rows[0])
    assert re.fullmatch(r"wwk_[A-Za-z0-9_-]{43}", issued.key) and rows[0].prefix == issued.key[:12]


def test_the_daily_limit_refuses_the_recharge_that_would_pass_it(api: Api, consumer: Any) -> None:
    service_no, _ = consumer(1, first_recharge_done=True)
    outlet = new_agent(api, limit_rupees=1_000)
    assert pay(api, outlet, service_no, 60_000, "R-1").status_code == 201
    before = table_counts(api.ctx.store)
    refused = pay(api, outlet, service_no, 50_000, "R-2")
    assert refused.status_code == 422 and refused.json()["code"] == "agent_daily_limit_reached"
    assert refused.json()["limit"] == "1000.00"
    assert table_counts(api.ctx.store) == before
    assert collected(api, outlet.agent.id) == 60_000
    # A repeat does not count twice; the rest of the limit is still there, to the paisa.
    assert pay(api, outlet, service_no, 60_000, "R-1").status_code == 200
    assert pay(api, outlet, service_no, 40_000, "R-2").status_code == 201
    assert collected(api, outlet.agent.id) == 100_000
    assert pay(api, outlet, service_no, 10_000, "R-3").status_code == 422
    # A new IST day starts from nothing (NOW is 09:00 IST: 15 hours later is midnight).
    api.clock.advance(hours=15)
    assert pay(api, outlet, service_no, 100_000, "R-3").status_code == 201
    another = new_agent(api, limit_rupees=1_000)  # another agent's limit is its own
    assert pay(api, another, service_no, 100_000, "R-4").status_code == 201
    assert pay(api, outlet, service_no, 100_000, "R-5").json()["code"] == "agent_daily_limit_reached"
    listed = {entry.agent.id: entry.collected_today for entry in agents.all_agents(api.ctx, now=api.clock())}
    assert listed == {outlet.agent.id: 100_000, another.agent.id: 100_000}


def test_a_refused_recharge_does_not_count_against_the_limit(api: Api, consumer: Any) -> None:
    service_no, _ = consumer(1)
    outlet = new_agent(api, limit_rupees=1_000)
    before = table_counts(api.ctx.store)
    refused = pay(api, outlet, service_no, 40_000, "R-1")
    assert refused.status_code == 422 and refused.json()["code"] == "first_recharge_below_minimum"
    assert table_counts(api.ctx.store) == before
    assert pay(api, outlet, service_no, 100_000, "R-1").status_code == 201


@pytest.mark.parametrize(
    ("reference", "code"),
    [("x" * (agents.REFERENCE_MAX + 1), "reference_invalid"), ("-starts-badly", "reference_invalid")],
)
def test_a_bad_reference_is_refused(api: Api, consumer: Any, reference: str, code: str) -> None:
    service_no, _ = consumer(1)
    answer = pay(api, new_agent(api), service_no, 50_000, reference)
    assert answer.status_code == 422 and answer.json()["code"] == code


def test_the_longest_reference_fits(api: Api, consumer: Any) -> None:
    service_no, _ = consumer(1)
    outlet = new_agent(api)
    reference = "R" * agents.REFERENCE_MAX
    assert pay(api, outlet, service_no, 50_000, reference).status_code == 201
    assert api.client.get(f"{RECHARGES}/{reference}", headers=key(outlet)).status_code == 200


def test_unknown_connection_and_future_payment_time(api: Api) -> None:
    outlet = new_agent(api)
    unknown = pay(api, outlet, "9999999999999", 50_000, "R-1")
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_connection"
    later = (api.clock() + dt.timedelta(minutes=1)).isoformat()
    future = pay(api, outlet, "9999999999999", 50_000, "R-1", paid_at=later)
    assert future.status_code == 422 and future.json()["code"] == "paid_at_in_future"


def found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in {text!r}"
    return match.group(1)


def test_agent_commands_print_the_key_once_and_rotate_it(api: Api, consumer: Any, store_url: str) -> None:
    service_no, _ = consumer(1, first_recharge_done=True)

    def wattwallet(*args: str) -> Any:
        return CliRunner().invoke(cli.app, list(args), env={"WATTWALLET_DATABASE_URL": store_url})

    added = wattwallet(
        "agent", "add", "--name", "Sri Sai Kirana", "--kind", "retail", "--daily-limit-rupees", "50000"
    )
    assert added.exit_code == 0, added.output
    agent_id = found(r"agent (AG[0-9A-F]{8}):", added.stdout)
    issued = found(r"api key: (wwk_\S+)", added.stdout)
    assert "₹50,000.00" in added.stdout
    answer = api.client.post(
        RECHARGES,
        json={"service_no": service_no, "amount_paise": 20_000, "reference": "C-1"},
        headers={"X-API-Key": issued},
    )
    assert answer.status_code == 201
    listed = wattwallet("agent", "list")
    assert agent_id in listed.stdout and "of ₹50,000.00" in listed.stdout  # today by the real clock
    assert issued not in listed.stdout and issued[:12] in listed.stdout
    rotated = wattwallet("agent", "rotate-key", agent_id.lower())
    assert rotated.exit_code == 0, rotated.output
    fresh = found(r"api key: (wwk_\S+)", rotated.stdout)
    for presented, status in ((issued, 401), (fresh, 200)):
        assert api.client.get(f"{RECHARGES}/C-1", headers={"X-API-Key": presented}).status_code == status
    bad = wattwallet("agent", "add", "--name", "X", "--kind", "van", "--daily-limit-rupees", "100")
    assert bad.exit_code == 2 and "[agent_invalid]" in bad.stderr
    unknown = wattwallet("agent", "rotate-key", "AG00000000")
    assert unknown.exit_code == 2 and "[agent_not_found]" in unknown.stderr


def test_back_dating_is_bounded_and_what_is_allowed_shows_in_the_compliance_report(
    api: Api, consumer: Any
) -> None:
    from tests.api.conftest import bearer

    service_no, _ = consumer(1, first_recharge_done=True)
    outlet = new_agent(api)
    hours = api.ctx.policy.recharge_backdate_max_hours
    assert hours == 72  # the default
    before = table_counts(api.ctx.store)
    for paid in (dt.datetime(1970, 1, 1, tzinfo=dt.UTC), api.clock() - dt.timedelta(hours=hours, seconds=1)):
        refused = pay(api, outlet, service_no, 10_000, f"OLD-{paid.year}", paid_at=paid.isoformat())
        assert (refused.status_code, refused.json()["code"]) == (422, "paid_at_too_old"), refused.text
    assert table_counts(api.ctx.store) == before
    # Within the bound it is taken, and the compliance report names it with the agent.
    paid = api.clock() - dt.timedelta(hours=hours - 1)
    taken = pay(api, outlet, service_no, 10_000, "LATE-1", paid_at=paid.isoformat())
    assert taken.status_code == 201, taken.text
    assert pay(api, outlet, service_no, 10_000, "NOW-1").status_code == 201  # not back-dated
    auth = bearer(api.staff_token("billing"))
    day = api.clock().astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))).date().isoformat()
    report = api.client.get(
        "/api/v1/staff/reports/compliance", params={"from": day, "to": day}, headers=auth
    ).json()
    assert report["backdated_recharges"] == 1, report
    (line,) = report["breaches"]["backdated_recharges"]
    assert taken.json()["receipt_no"] in line and outlet.agent.id in line and "71.0 hours back" in line
    # The counter is bounded the same way.
    counter = bearer(api.staff_token("service_centre"))
    old = (api.clock() - dt.timedelta(hours=hours + 1)).isoformat()
    body = {"service_no": service_no, "amount_paise": 10_000, "reference": "CC-OLD", "paid_at": old}
    at_counter = api.client.post("/api/v1/staff/recharges", json=body, headers=counter)
    assert (at_counter.status_code, at_counter.json()["code"]) == (422, "paid_at_too_old")
