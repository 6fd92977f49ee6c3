"""`wattwallet demo`: a small fleet for a few days, its summary checked against the database."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from wattwallet.cli import simulate
from wattwallet.simulation import demo, habits
from wattwallet.store import db, migrate, schema

SPEC = demo.Spec(meters=20, days=5, seed=1)


def scalar(store: db.Store, query: sa.Select[tuple[int]]) -> int:
    with store.read() as conn:
        return int(conn.execute(query).scalar_one())


def test_a_small_demo_summary_agrees_with_the_database(store: db.Store) -> None:
    summary = demo.run(store=store, spec=SPEC)
    counts = summary.counts
    by_habit = {h: [p.service_no for p in summary.people if p.habit is h] for h in habits.Habit}
    assert all(by_habit.values()), "a fleet of 20 has every habit"
    r, d, e, a, n, dl = (
        schema.recharges,
        schema.daily_deductions,
        schema.connection_events,
        schema.alerts,
        schema.notifications,
        schema.deliveries,
    )
    count = sa.func.count()

    # Every meter reported every day, and every day was billed.
    assert (
        counts["readings"]["ingested"]
        == 20 * 5
        == scalar(store, sa.select(count).select_from(schema.meter_readings))
    )
    assert counts["deductions"]["count"] == 20 * 5 == scalar(store, sa.select(count).select_from(d))
    assert (
        float(counts["deductions"]["amount"]) * 100 == scalar(store, sa.select(sa.func.sum(d.c.amount))) > 0
    )

    with store.read() as conn:
        alerts = dict(conn.execute(sa.select(a.c.kind, count).group_by(a.c.kind)).all())
        cut = {
            row.service_no: row.at for row in conn.execute(sa.select(e).where(e.c.to_state == "disconnected"))
        }
        restored = conn.execute(
            sa.select(e.c.service_no, e.c.at).where(
                e.c.from_state == "disconnected", e.c.to_state == "active"
            )
        ).all()
        paid = conn.execute(sa.select(r.c.service_no, r.c.paid_at)).all()
        states = dict(
            conn.execute(sa.select(schema.connections.c.service_no, schema.connections.c.state)).all()
        )
        zero = set(conn.execute(sa.select(a.c.service_no).where(a.c.kind == "zero_balance")).scalars())
        delivered = conn.execute(
            sa.select(dl.c.channel, n.c.language, dl.c.status, count)
            .select_from(dl.join(n, n.c.id == dl.c.notification_id))
            .group_by(dl.c.channel, n.c.language, dl.c.status)
        ).all()
    assert counts["alerts"] == alerts
    assert set(alerts) == {"low_balance_3_days", "low_balance_2_days", "zero_balance"}

    # Those who never pay get every alert and emergency credit, are cut in the window, and stay cut.
    never = by_habit[habits.Habit.NEVER]
    assert set(never) <= zero
    assert set(never) <= set(cut)
    assert all(states[sn] == "disconnected" for sn in never)
    assert not {sn for sn, _ in paid} & set(never)
    assert counts["disconnections"] == len(cut) == counts["compliance"]["disconnections"]
    for at in cut.values():
        local = at.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30)))
        assert local.weekday() != 6 and dt.time(10) <= local.time() < dt.time(13)
    assert counts["compliance"]["disconnections_outside_window"] == 0
    assert counts["compliance"]["disconnections_without_alerts_and_emergency_credit"] == 0
    assert counts["emergency_credits"] >= len(never)

    # Those who pay after being cut are reconnected, each after a recharge of their own.
    assert counts["reconnections"] == len(restored) > 0
    late = set(by_habit[habits.Habit.AFTER_DISCONNECTION])
    assert {sn for sn, _ in restored} <= late | set(by_habit[habits.Habit.AFTER_ZERO_ALERT])
    for service_no, at in restored:
        assert any(sn == service_no and cut[service_no] < when <= at for sn, when in paid)
    reconnected = counts["compliance"]["reconnections_within_15_min_of_payment"]
    assert reconnected["total"] == reconnected["within"] == len(restored)

    # Recharges by channel add up; online ones went through succeeded payment intents.
    assert (
        counts["recharges"]["count"]
        == len(paid)
        == sum(c["count"] for c in counts["recharges"]["by_channel"].values())
    )
    online = sum(counts["recharges"]["by_channel"].get(c, {"count": 0})["count"] for c in ("app", "portal"))
    assert counts["recharges"]["payment_intents"].get("succeeded", 0) == online
    assert counts["compliance"]["recharges_reflected_within_15_min"]["within"] == len(paid)

    # Every message reached the fake gateway, over SMS and the app, in Telugu and in English.
    assert {status for _, _, status, _ in delivered} == {"sent"}
    sent: dict[str, dict[str, int]] = {}
    for channel, language, _, number in delivered:
        sent.setdefault(channel, {})[language] = number
    assert counts["notifications"]["delivered"] == sent
    assert set(sent["sms"]) == {"te", "en"} and set(sent["app"]) == {"te", "en"}
    received = counts["notifications"]["gateway_received"]
    assert {c: received[c] for c in sent} == {c: sum(v.values()) for c, v in sent.items()}
    assert counts["notifications"]["total"] == scalar(store, sa.select(count).select_from(n))
    assert counts["ledger_ok"] is True
    assert counts["consumers"]["te"] > counts["consumers"]["en"]


def test_the_command_prints_the_summary_and_last_a_json_line_the_same_for_the_same_seed(
    tmp_path: Path,
) -> None:
    app = typer.Typer()
    app.command("demo")(simulate.demo)
    app.command("simulate-meters")(simulate.simulate_meters)
    runner = CliRunner()
    first = runner.invoke(app, ["demo", "--meters", "8", "--days", "3", "--database", str(tmp_path / "a.db")])
    assert first.exit_code == 0, first.output
    lines = first.stdout.strip().splitlines()
    assert lines[0].startswith("WattWallet demo: 8 meters, 3 days from 2025-05-05")
    counts = json.loads(lines[-1])
    assert counts["readings"]["ingested"] == 24
    again = runner.invoke(
        app, ["demo", "--meters", "8", "--days", "3", "--json-only", "--database", str(tmp_path / "b.db")]
    )
    assert again.exit_code == 0, again.output
    assert again.stdout.strip().splitlines() == [lines[-1]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--start", "5 May"], "--start must be a date"),
        (
            ["simulate-meters", "--count", "2", "--days-per-second", "2", "--interval-seconds", "1"],
            "not both",
        ),
        (["simulate-meters", "--count", "2", "--broker", "http://x"], "mqtt://host:1883"),
    ],
)
def test_bad_options_get_a_clear_error_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    app = typer.Typer()
    app.command("demo")(simulate.demo)
    app.command("simulate-meters")(simulate.simulate_meters)
    result = CliRunner().invoke(app, [*args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_over_mqtt_the_link_takes_the_readings_and_the_meters_obey_the_commands(
    broker_url: str, prefix: str, tmp_path: Path
) -> None:
    store = db.Store.from_url(f"sqlite:///{tmp_path / 'mqtt.db'}")
    try:
        migrate.upgrade(store.engine)
        spec = demo.Spec(meters=10, days=4, seed=1, broker_url=broker_url, prefix=prefix)
        counts = demo.run(store=store, spec=spec).counts
        with store.read() as conn:
            h = schema.hes_commands
            statuses = dict(conn.execute(sa.select(h.c.status, sa.func.count()).group_by(h.c.status)).all())
            profiles = conn.execute(
                sa.select(sa.func.count()).select_from(schema.meter_load_profiles)
            ).scalar_one()
            acks = conn.execute(sa.select(sa.func.count()).select_from(schema.hes_acks)).scalar_one()
    finally:
        store.dispose()
    assert counts["readings"]["ingested"] == 40 == profiles  # each with its 48 half-hours, via the link
    assert counts["disconnections"] > 0
    assert statuses == {"confirmed": counts["disconnections"] + counts["reconnections"]}
    assert acks >= 2 * statuses["confirmed"]  # accepted, then executed
    assert counts["compliance"]["disconnections_outside_window"] == 0
    assert counts["ledger_ok"] is True
