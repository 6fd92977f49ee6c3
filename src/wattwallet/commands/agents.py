"""(being written)"""

from __future__ import annotations

import typer

app = typer.Typer(help="Retail outlets and kiosks that take recharges with an API key.", no_args_is_help=True)
