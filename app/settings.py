"""Service settings, read from the environment with the ``ZONING_`` prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from layers.catalog import DEFAULT_CATALOG
from zoning.rules import RULES_DIR


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZONING_", env_file=".env", extra="ignore")

    catalog: Path = Field(DEFAULT_CATALOG, description="layer catalog YAML")
    data_dir: Path | None = Field(None, description="overrides the catalog's data_dir")
    rules_dir: Path = Field(RULES_DIR, description="folder of rule-family YAML files")
    key_region_edition: Literal["2018", "2023"] = "2023"
    max_site_vertices: int = Field(100_000, ge=4, le=2_000_000)
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="largest request body")
    cors_origins: list[str] = Field(default_factory=list, description="allowed browser origins")


@lru_cache
def get_settings() -> Settings:
    return Settings()
