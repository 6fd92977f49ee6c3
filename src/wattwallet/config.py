"""Configuration from the environment (WATTWALLET_*), with the defaults a new user needs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from wattwallet import tariffs
from wattwallet.domain import policy as policy_rules


class Settings(BaseSettings):
    """`WATTWALLET_DATABASE_URL`, `WATTWALLET_TARIFF_FILE`, `WATTWALLET_POLICY__<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="WATTWALLET_", env_nested_delimiter="__", extra="ignore")

    database_url: str = Field("sqlite:///wattwallet.db", description="SQLAlchemy URL of the store")
    tariff_file: Path = Field(tariffs.BUILT_IN, description="Tariff book (YAML)")
    policy: policy_rules.Policy = Field(default_factory=policy_rules.Policy)
