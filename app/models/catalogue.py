"""The catalogue: layers, rasters, industries, rules, health."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.models.common import TextOut


class CoverageOut(BaseModel):
    admin_layer: str
    adcodes: list[str] | Literal["all"]


class LayerOut(BaseModel):
    id: str
    title: TextOut
    kind: str
    synthetic: bool
    version: str
    vintage: str
    licence: str
    provenance: str
    description: str
    crs: str = Field(description="storage CRS of the served data")
    source_crs: str
    count: int
    bbox: list[float] | None
    geometry_type: str
    fields: list[str]
    coverage: CoverageOut | None
    warnings: list[str]


class RasterOut(BaseModel):
    id: str
    title: TextOut
    kind: Literal["raster"]
    synthetic: bool
    version: str
    vintage: str
    licence: str
    provenance: str
    description: str
    quantity: str
    unit: str
    crs: str = Field(description="the file's own CRS (read by window, reprojected per tile)")
    bbox: list[float] = Field(description="lon/lat extent, EPSG:4490")
    width: int
    height: int
    resolution: list[float]
    nodata: float | None
    colormap: str
    range: list[float]
    minzoom: int
    maxzoom: int


class LayersResponse(BaseModel):
    storage_crs: str
    layers: list[LayerOut]
    rasters: list[RasterOut]


class IndustryOut(BaseModel):
    code: str
    level: Literal["section", "division", "group", "class"]
    zh: str
    en: str | None
    two_high: str | None
    renewable: str | None
    energy_intensive: bool
    traits: dict[str, str | bool] = Field(description="rule-relevant traits every class under the code has "
                                                      "(see `traits` of the answer for their sources)")
    changed_2019: str | None = Field(None, description="how the 2019 amendment changed the code's meaning")
    products: list[str] = Field(description="keys of the product vocabulary of this code")


class TraitOut(BaseModel):
    key: str
    zh: str
    source: str
    codes: list[str]
    values: dict[str, list[str]]


class ProductOut(BaseModel):
    key: str
    zh: str
    en: str
    classes: list[str]
    aliases: list[str]


class IndustriesResponse(BaseModel):
    standard: str
    version: str
    coverage: str = Field(description="complete when the table holds every code of the standard at every level")
    counts: dict[str, int] = Field(description="codes per level in the whole table")
    traits: list[TraitOut]
    industries: list[IndustryOut]
    products: list[ProductOut]
    capacity_units: list[str] = Field(description="the units a project's capacity may be given in")


class RulesResponse(BaseModel):
    version: str
    families: list[dict[str, Any]]


class HealthResponse(BaseModel):
    status: Literal["ok"]
    layers: int
    rules_version: str
    loaded_at: str | None
    pid: int = Field(description="the process that answered (one of the workers)")
    runs_jobs: bool = Field(description="whether this process runs the batch-job runner (one per instance)")
