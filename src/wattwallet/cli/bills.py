"""`wattwallet bills`: make a month's e-bills, show one, write its PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from wattwallet.billing import service as bills
from wattwallet.cli import common
from wattwallet.domain import clock, money

app = typer.Typer(
    help="Monthly e-bills: the statement of each prepaid connection's month.", no_args_is_help=True
)

MonthOption = Annotated[str, typer.Option("--month", help="The month, YYYY-MM (it must be over).")]


@app.command("run")
@common.friendly_errors
def bills_run(
    month: MonthOption,
    service_no: Annotated[
        str | None, typer.Option("--connection", help="Only this service number (default: every one).")
    ] = None,
    revise: Annotated[
        bool,
        typer.Option("--revise", help="Issue a new revision of bills that no longer agree with the ledger."),
    ] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Processes sharing the run.")] = 1,
    as_json: common.JsonOption = False,
) -> None:
    """Make the month's bills (the job on the 1st does this by itself). Running it again makes nothing new."""
    chosen = bills.parse_month(month)
    now = common.now()
    bills.check_month_over(chosen, now=now)
    with common.context() as ctx:
        if service_no is not None:
            report = bills.run_one(ctx, service_no=service_no, month=chosen, now=now, revise=revise)
        else:
            report = bills.run_month(ctx, month=chosen, now=now, revise=revise, workers=workers)
    if as_json:
        common.echo_json(vars(report))
        return
    typer.echo(
        f"bills of {report.month}: {report.connections} connections, {report.created} new, "
        f"{report.revised} revised, {report.unchanged} unchanged"
        + (
            f", {report.stale} no longer agree with the ledger (--revise issues corrections)"
            if report.stale
            else ""
        )
        + (f", {report.pending} wait for the daily cycle to bill their readings" if report.pending else "")
    )


def _as_dict(bill: bills.Bill) -> dict[str, Any]:
    return {
        "bill_no": bill.bill_no,
        "service_no": bill.service_no,
        "month": str(bill.month),
        "revision": bill.revision,
        "replaces_id": bill.replaces_id,
        "language": bill.language,
        "issued_at": clock.ist_iso(bill.issued_at),
        "content_hash": bill.content_hash,
        "verification_code": bill.verification_code,
        "statement": bill.content,
    }


@app.command("show")
@common.friendly_errors
def bills_show(
    service_no: Annotated[str, typer.Argument(metavar="SERVICE_NO")],
    month: MonthOption,
    revision: Annotated[int | None, typer.Option("--revision", min=1, help="An earlier revision.")] = None,
    as_json: common.JsonOption = False,
) -> None:
    """A connection's bill of a month (the newest revision unless --revision)."""
    chosen = bills.parse_month(month)
    with common.context() as ctx:
        bill = bills.show(ctx, service_no=service_no, month=chosen, revision=revision)
    if as_json:
        common.echo_json(_as_dict(bill))
        return
    c = bill.content
    typer.echo(
        f"{bill.bill_no}  {c['consumer_name']}  {c['category']}  {bill.month}  revision {bill.revision}"
    )
    typer.echo(
        f"  units {bill.units_wh / 1000:.3f} over {c['days_billed']} days ({c['catch_up_days']} caught up)"
    )
    typer.echo(f"  opening balance {money.inr(c['opening_balance']):>14}")
    typer.echo(f"  recharged       {money.inr(c['recharged']):>14}  (to dues {money.inr(c['to_dues'])})")
    for item in c["components"]:
        typer.echo(f"    {item['component']:<32}{money.inr(item['amount']):>14}")
    typer.echo(f"  deducted        {money.inr(c['deducted']):>14}")
    if c["adjusted"]:
        typer.echo(f"  adjustments     {money.inr(c['adjusted']):>14}")
    typer.echo(f"  closing balance {money.inr(c['closing_balance']):>14}")
    typer.echo(f"  dues left       {money.inr(c['dues']['closing']):>14}")
    typer.echo(f"  verification code {bill.verification_code}")


@app.command("pdf")
@common.friendly_errors
def bills_pdf(
    service_no: Annotated[str, typer.Argument(metavar="SERVICE_NO")],
    month: MonthOption,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the PDF.")],
    language: Annotated[
        str | None, typer.Option("--language", help="en or te (default: the consumer's language).")
    ] = None,
    revision: Annotated[int | None, typer.Option("--revision", min=1, help="An earlier revision.")] = None,
) -> None:
    """Write a bill's PDF, in the consumer's language or the one asked for."""
    chosen = bills.parse_month(month)
    bills.parse_language(language)
    with common.context() as ctx:
        bill = bills.show(ctx, service_no=service_no, month=chosen, revision=revision)
        data = bills.pdf(ctx, bill, language=language)
    output.write_bytes(data)
    typer.echo(f"{bill.bill_no} ({language or bill.language}): {output} ({len(data):,} bytes)")
