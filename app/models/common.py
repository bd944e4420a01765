"""Pieces shared by several resources' answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TextOut(_Out):
    zh: str
    en: str


class ClauseOut(_Out):
    document: str
    number: str | None = None
    article: str
    binds: str | None = Field(None, description="whom the clause binds, as its document says "
                                                "(absent in answers stored before it was recorded)")
    text: str
    quote_checked: bool


class LayerRefOut(_Out):
    id: str
    version: str
    synthetic: bool
    kind: str
    covers_site: bool | None = None


class FeatureRefOut(_Out):
    layer_id: str
    feature_id: str
    properties: dict[str, Any]
    overlap_m2: float | None = Field(None, description="m² in the site's local Gauss-Krüger zone")
    share: float | None = Field(None, description="share of the site's area (0-1)")
