"""`wattwallet templates`: the SMS texts as the DISCOM registers them on the DLT platform."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from wattwallet.cli import common
from wattwallet.messaging import registration

app = typer.Typer(help="The message templates and their DLT registration.", no_args_is_help=True)


class SheetFormat(enum.StrEnum):
    TEXT = "text"
    CSV = "csv"


@app.command("export")
@common.friendly_errors
def export(
    output_format: Annotated[
        SheetFormat, typer.Option("--format", help="text (to read) or csv (to upload or fill in)")
    ] = SheetFormat.TEXT,
) -> None:
    """Print the DLT registration sheet: every SMS template in English and Telugu with its id,
    category, header, exact text ({#var#} for variables), variables and whitelisted numbers."""
    sheet = registration.rows()
    typer.echo(
        registration.as_csv(sheet) if output_format is SheetFormat.CSV else registration.as_text(sheet),
        nl=False,
    )
