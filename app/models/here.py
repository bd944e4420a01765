"""GET /v1/here: what every layer says at a point."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.models.common import FeatureRefOut, TextOut


class HereLayerOut(BaseModel):
    id: str
    kind: str
    version: str
    synthetic: bool
    covers_point: bool
    features: list[FeatureRefOut]


class RasterValueOut(BaseModel):
    id: str
    quantity: str
    unit: str
    value: float | None = Field(description="nearest-pixel value; null outside the raster or on nodata")
    version: str
    synthetic: bool


class HereResponse(BaseModel):
    lon: float
    lat: float
    layers: list[HereLayerOut]
    values: list[RasterValueOut] = Field(description="raster layers sampled at the point")
    synthetic: bool
    notice: TextOut | None
