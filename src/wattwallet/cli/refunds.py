"""`wattwallet refunds`: payments the gateway took that were never credited, and marking them refunded."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from wattwallet.cli import common
from wattwallet.domain import clock, errors, money
from wattwallet.wallet import refunds

app = typer.Typer(
    help="The refund queue: payments taken but not credited (refused by a rule, or another amount).",
    no_args_is_help=True,
)

STAFF_NAME_MAX = 64


def _as_dict(r: refunds.Refund) -> dict[str, Any]:
    return {
        "id": r.id,
        "service_no": r.service_no,
        "intent_id": r.intent_id,
        "amount_paise": r.amount,
        "code": r.code,
        "detail": r.detail,
        "event_id": r.event_id,
        "gateway_payment_id": r.gateway_payment_id,
        "status": r.status,
        "created_at": clock.ist_iso(r.created_at),
        "refunded_at": clock.ist_iso(r.refunded_at) if r.refunded_at else None,
        "refunded_by": r.refunded_by,
        "refund_reference": r.refund_reference,
    }


@app.command("list")
@common.friendly_errors
def refunds_list(
    show_all: Annotated[
        bool, typer.Option("--all", help="Include refunded ones, not only those due.")
    ] = False,
    as_json: common.JsonOption = False,
) -> None:
    """Refunds due, oldest first (with --all, refunded ones too)."""
    with common.context() as ctx:
        found = refunds.listing(ctx, status=None if show_all else refunds.DUE)
    if as_json:
        common.echo_json([_as_dict(r) for r in found])
        return
    if not found:
        typer.echo("no refunds due" if not show_all else "no refunds")
        return
    for r in found:
        done = f"refunded {r.refund_reference} by {r.refunded_by}" if r.status == refunds.REFUNDED else "due"
        typer.echo(
            f"#{r.id}  {r.service_no}  {money.inr(r.amount):>12}  {r.code:<24}  {r.intent_id}  {done}  "
            f"(since {clock.ist_iso(r.created_at)})"
        )


@app.command("mark")
@common.friendly_errors
def refunds_mark(
    refund_id: Annotated[int, typer.Argument(metavar="ID", help="The refund's number (#).")],
    reference: Annotated[str, typer.Option("--reference", help="The gateway's refund reference.")],
    by: Annotated[str, typer.Option("--by", help="Who refunded it (staff name or ID).")],
) -> None:
    """The money was returned through the gateway: keep its refund reference, who and when."""
    name = by.strip()
    if not name or len(name) > STAFF_NAME_MAX:
        raise errors.InvalidInput(f"--by must name who did it in 1 to {STAFF_NAME_MAX} characters")
    if not 1 <= refund_id < 2**63:
        raise refunds.RefundNotFound(f"no refund with id {refund_id}")
    with common.context() as ctx:
        done = refunds.mark_refunded(ctx, refund_id=refund_id, reference=reference, by=name, now=common.now())
    typer.echo(
        f"refund #{done.id} on {done.service_no}: {money.inr(done.amount)} marked refunded "
        f"(gateway reference {done.refund_reference}) by {done.refunded_by}"
    )
