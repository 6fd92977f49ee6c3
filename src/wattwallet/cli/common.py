"""What every command shares: the clock, the context, error handling, JSON output."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
from collections.abc import Callable, Iterator
from typing import Annotated, Any, ParamSpec, TypeVar

import sqlalchemy as sa
import typer

from wattwallet import config
from wattwallet.context import Context, open_context
from wattwallet.domain import errors

P = ParamSpec("P")
R = TypeVar("R")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def settings() -> config.Settings:
    return config.Settings()


class OptionNotForChannel(errors.InvalidInput):
    code = "option_not_for_channel"


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Anticipated failures become one line on stderr and exit 2; an unusable store, exit 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except errors.WattWalletError as exc:
            typer.echo(f"error: {exc.message} [{exc.code}]", err=True)
            raise typer.Exit(2) from None
        except sa.exc.OperationalError as exc:
            typer.echo(f"error: the database cannot be used: {exc.orig}", err=True)
            raise typer.Exit(1) from None

    return wrapper


@contextlib.contextmanager
def context() -> Iterator[Context]:
    ctx = open_context(settings(), now=now())
    try:
        yield ctx
    finally:
        ctx.store.dispose()


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def parse_instant(text: str, what: str) -> dt.datetime:
    try:
        instant = dt.datetime.fromisoformat(text)
    except ValueError:
        raise errors.InvalidInput(f"{what} must be an ISO 8601 instant, got {text!r}") from None
    if instant.tzinfo is None:
        raise errors.InvalidInput(f"{what} needs a UTC offset, e.g. +05:30")
    return instant
