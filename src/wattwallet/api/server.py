"""Running the API under uvicorn: the app is built from the environment in each worker process."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI

from wattwallet import config, context
from wattwallet.api import app as api_app
from wattwallet.jobs import background


def app_from_environment() -> FastAPI:
    """uvicorn's factory (`wattwallet.api.server:app_from_environment`): one store per worker."""
    settings = config.Settings()
    ctx = context.open_context(settings, now=dt.datetime.now(dt.UTC))
    work = background.build(ctx, settings) if settings.api.background else None
    return api_app.create_app(ctx, settings.api, background=work)
