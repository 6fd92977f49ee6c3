"""`wattwallet agent`: retail outlets and kiosks, their API keys and daily limits."""

from __future__ import annotations

from typing import Annotated

import typer

from wattwallet.cli import common
from wattwallet.domain import money
from wattwallet.wallet import agents

app = typer.Typer(help="Retail outlets and kiosks that take recharges with an API key.", no_args_is_help=True)

AgentId = Annotated[str, typer.Argument(help="The agent's id, as `agent add` printed it (e.g. AG1F2E3D4C).")]


def _show_key(issued: agents.Issued) -> None:
    typer.echo(f"api key: {issued.key}")
    typer.echo("The key is shown only this once: hand it over securely. Only its hash is kept.", err=True)


@app.command("add")
@common.friendly_errors
def add(
    name: Annotated[str, typer.Option(help="The outlet's or kiosk's name, e.g. 'Sri Sai Kirana'.")],
    kind: Annotated[str, typer.Option(help="retail or kiosk.")],
    daily_limit_rupees: Annotated[str, typer.Option(help="Most it may collect in an IST day, in rupees.")],
) -> None:
    """Register an agent and print its id and its first API key (once)."""
    limit = money.parse_rupees(daily_limit_rupees)
    with common.context() as ctx:
        issued = agents.create(ctx, name=name, kind_name=kind, daily_limit_paise=limit, now=common.now())
    a = issued.agent
    typer.echo(f"agent {a.id}: {a.name} ({a.kind.value}), daily limit {money.inr(a.daily_limit)}")
    _show_key(issued)


@app.command("rotate-key")
@common.friendly_errors
def rotate_key(agent_id: AgentId) -> None:
    """Revoke the agent's keys at once and print a new one (once)."""
    with common.context() as ctx:
        issued = agents.rotate_key(ctx, agent_id=agent_id, now=common.now())
    typer.echo(f"agent {issued.agent.id}: earlier keys revoked")
    _show_key(issued)


@app.command("suspend")
@common.friendly_errors
def suspend(agent_id: AgentId) -> None:
    """Refuse the agent's keys until it is resumed."""
    with common.context() as ctx:
        agent = agents.set_active(ctx, agent_id=agent_id, active=False)
    typer.echo(f"agent {agent.id} suspended")


@app.command("resume")
@common.friendly_errors
def resume(agent_id: AgentId) -> None:
    """Accept the agent's live keys again."""
    with common.context() as ctx:
        agent = agents.set_active(ctx, agent_id=agent_id, active=True)
    typer.echo(f"agent {agent.id} active")


@app.command("list")
@common.friendly_errors
def list_agents(as_json: common.JsonOption = False) -> None:
    """Every agent: kind, daily limit, what it collected today (IST), its live keys' prefixes."""
    with common.context() as ctx:
        found = agents.all_agents(ctx, now=common.now())
    if as_json:
        common.echo_json(
            [
                {
                    "id": f.agent.id,
                    "name": f.agent.name,
                    "kind": f.agent.kind.value,
                    "daily_limit": money.rupees(f.agent.daily_limit),
                    "collected_today": money.rupees(f.collected_today),
                    "active": f.agent.active,
                    "keys": f.key_prefixes,
                }
                for f in found
            ]
        )
        return
    if not found:
        typer.echo("no agents")
    for f in found:
        a = f.agent
        state = "active" if a.active else "suspended"
        keys = ", ".join(f"{p}…" for p in f.key_prefixes) or "no live key"
        typer.echo(
            f"{a.id}  {a.kind.value:<6}  {state:<9}  today {money.inr(f.collected_today)} of "
            f"{money.inr(a.daily_limit)}  keys: {keys}  {a.name}"
        )
