"""`wattwallet mode`, `wattwallet pay`, `wattwallet deposit` and `wattwallet postpaid`: prepaid or
postpaid on the same meter (DOMAIN.md §8), from the staff side."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from wattwallet.billing import deposits, mode_switch, postpaid_payments
from wattwallet.cli import common
from wattwallet.domain import billing_mode, clock, money

mode_app = typer.Typer(help="Switch a connection between prepaid and postpaid billing.", no_args_is_help=True)
deposit_app = typer.Typer(help="The security deposit a connection's consumer paid.", no_args_is_help=True)
postpaid_app = typer.Typer(help="Postpaid accounts: what is owed, and overdue bills.", no_args_is_help=True)


def _switch_dict(s: mode_switch.Switch) -> dict[str, Any]:
    return {
        "id": s.id,
        "service_no": s.service_no,
        "from": s.before.value,
        "to": s.after.value,
        "effective_on": s.effective_on.isoformat(),
        "status": s.status.value,
        "via": s.via,
        "requested_by": s.requested_by,
        "requested_at": clock.ist_iso(s.requested_at),
        **{
            name: None if value is None else money.rupees(value)
            for name, value in (
                ("carried", s.carried),
                ("to_dues", s.to_dues),
                ("deposit_adjusted", s.deposit_adjusted),
                ("to_bill", s.to_receivable),
            )
        },
    }


@mode_app.command("switch")
@common.friendly_errors
def mode_switch_command(
    service_no: Annotated[str, typer.Argument(help="The service number.")],
    to: Annotated[str, typer.Option("--to", help="prepaid or postpaid.")],
    on: Annotated[
        str | None, typer.Option("--on", help="The IST day it takes effect from (default: tomorrow).")
    ] = None,
    by: Annotated[str, typer.Option("--by", help="Who asks (staff name or ID), for the audit.")] = "cli",
    as_json: common.JsonOption = False,
) -> None:
    """Ask for a switch from the start of a day; it is settled that morning, after the daily cycle."""
    with common.context() as ctx:
        done = mode_switch.request(
            ctx,
            service_no=service_no,
            to=to,
            effective_on=mode_switch.parse_day(on),
            via=billing_mode.Via.STAFF,
            by=by,
            now=common.now(),
        )
    if as_json:
        common.echo_json(_switch_dict(done))
        return
    typer.echo(
        f"{done.service_no}: {done.before.value} -> {done.after.value} from {done.effective_on.isoformat()} "
        f"(request #{done.id}; withdraw with `wattwallet mode withdraw {done.service_no}`)"
    )


@mode_app.command("withdraw")
@common.friendly_errors
def mode_withdraw_command(service_no: Annotated[str, typer.Argument(help="The service number.")]) -> None:
    """Call off the pending switch before its day."""
    with common.context() as ctx:
        done = mode_switch.withdraw(ctx, service_no=service_no, now=common.now())
    typer.echo(f"{done.service_no}: the switch to {done.after.value} from {done.effective_on} is withdrawn")


@mode_app.command("history")
@common.friendly_errors
def mode_history_command(
    service_no: Annotated[str, typer.Argument(help="The service number.")], as_json: common.JsonOption = False
) -> None:
    """Every switch request of the connection, newest first, with its settlement."""
    with common.context() as ctx:
        found = mode_switch.history(ctx, service_no=service_no)
    if as_json:
        common.echo_json([_switch_dict(s) for s in found])
        return
    if not found:
        typer.echo("no billing-mode switches")
    for s in found:
        settled = (
            f" carried {money.inr(s.carried or 0)}, to dues {money.inr(s.to_dues or 0)}, "
            f"deposit adjusted {money.inr(s.deposit_adjusted or 0)}, "
            f"to the first bill {money.inr(s.to_receivable or 0)}"
            if s.status is billing_mode.Status.DONE
            else ""
        )
        typer.echo(
            f"#{s.id} {s.before.value} -> {s.after.value} from {s.effective_on} {s.status.value}{settled}"
        )


def pay(
    service_no: Annotated[str, typer.Argument(help="The service number (a postpaid connection).")],
    amount: Annotated[str, typer.Argument(help="Rupees, at least 1, up to two decimals.")],
    channel: Annotated[str, typer.Option("--channel", help="portal, app, retail, kiosk or counter.")],
    ref: Annotated[str, typer.Option("--ref", help="The channel's own reference (idempotency key).")],
    as_json: common.JsonOption = False,
) -> None:
    """Pay a postpaid bill: applied to the oldest bill first; beyond what is owed, an advance."""
    with common.context() as ctx:
        receipt = postpaid_payments.pay(
            ctx,
            service_no=service_no,
            amount_paise=billing_mode.payment_amount(amount),
            channel=channel,
            reference=ref,
            now=common.now(),
        )
    if as_json:
        common.echo_json(
            {
                "service_no": receipt.service_no,
                "channel": receipt.channel.value,
                "ref": receipt.reference,
                "amount": money.rupees(receipt.amount),
                "applied": money.rupees(receipt.applied),
                "to_advance": money.rupees(receipt.to_advance),
                "outstanding": money.rupees(receipt.outstanding),
                "repeat": receipt.replayed,
            }
        )
        return
    again = " (already received: this is the same payment)" if receipt.replayed else ""
    typer.echo(
        f"{receipt.service_no}: {money.inr(receipt.amount)} received{again}: {money.inr(receipt.applied)} "
        f"to bills, {money.inr(receipt.to_advance)} as advance; still owed {money.inr(receipt.outstanding)}"
    )


@deposit_app.command("set")
@common.friendly_errors
def deposit_set(
    service_no: Annotated[str, typer.Argument(help="The service number.")],
    amount: Annotated[str, typer.Argument(help="The deposit held, in rupees (0 or more).")],
    by: Annotated[str, typer.Option("--by", help="Who records it (staff name or ID).")] = "cli",
) -> None:
    """Record the security deposit held for the connection, as on the DISCOM's records."""
    with common.context() as ctx:
        changed = deposits.set_deposit(
            ctx, service_no=service_no, amount_paise=deposits.parse_amount(amount), by=by, now=common.now()
        )
    typer.echo(f"{changed.connection}: deposit {money.inr(changed.before)} -> {money.inr(changed.after)}")


@postpaid_app.command("account")
@common.friendly_errors
def postpaid_account(service_no: Annotated[str, typer.Argument(help="The service number.")]) -> None:
    """What a postpaid connection owes, bill by bill, its advance, deposit and unbilled days."""
    with common.context() as ctx:
        found = postpaid_payments.account(ctx, service_no=service_no)
    typer.echo(
        f"{found.service_no}: owed {money.inr(found.outstanding)}, advance {money.inr(found.advance)}, "
        f"deposit {money.inr(found.deposit)}, unbilled so far {money.inr(found.unbilled)}"
    )
    for item in found.unpaid:
        due = f" due {item.due_on}" if item.due_on else ""
        typer.echo(f"  {item.label}: {money.inr(item.owed)} of {money.inr(item.amount)}{due}")


@postpaid_app.command("overdue")
@common.friendly_errors
def postpaid_overdue() -> None:
    """Postpaid bills past their due date and not paid in full, most overdue first."""
    with common.context() as ctx:
        found = postpaid_payments.overdue(ctx, today=clock.ist_date(common.now()))
    if not found:
        typer.echo("no overdue postpaid bills")
    for item in found:
        typer.echo(f"{item.service_no}  {item.label}  {money.inr(item.owed):>12} owed  due {item.due_on}")
