"""Pieces shared by several resources' answers."""

from __future__ import annotations

from typing import Any, Literal

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


class ListItemOut(_Out):
    """One item of an access list (生态环境准入清单), canonical form (layers.lists)."""

    item_id: str
    level: Literal["national", "province", "region", "city", "unit"]
    scope: list[str] = Field(description="unit codes, adcodes, unit classes, adcode/class, or *")
    dimension: str = Field(description="空间布局约束 / 污染物排放管控 / 环境风险防控 / 资源开发效率要求")
    industries: list[str] = Field(description="GB/T 4754-2017 codes or prefixes; empty: not coded (a requirement)")
    actions: list[str]
    products: list[str]
    scale: str | None = Field(None, description="size condition on the project's capacity, e.g. ≤35 蒸吨/h")
    verdict: Literal["prohibited", "conditional", "permitted"]
    text: str
    source: str
    status: Literal["reviewed", "suggested"]


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
