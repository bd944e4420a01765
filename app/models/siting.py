"""POST /v1/siting: the query and the ranked candidates."""

from __future__ import annotations

from typing import Any, Literal

from geojson_pydantic import MultiPolygon, Polygon
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.models.assess import numbers_only
from app.models.common import TextOut
from zoning.vocabulary import Edition


class SitingRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False,
        json_schema_extra={"examples": [{"adcode": "640000", "tech": "pv"},
                                        {"adcode": "140200", "tech": "wind", "setbacks_m": {"protected_area": 1000},
                                         "weights": {"resource": 0.6, "grid": 0.4, "slope": 0, "area": 0}}]},
    )
    aoi: Polygon | MultiPolygon | None = Field(None, description="area of interest, lon/lat (EPSG:4490)")

    @field_validator("aoi", mode="before")
    @classmethod
    def _numeric_coordinates(cls, v):
        numbers_only(v)
        return v
    adcode: str | None = Field(None, pattern=r"^\d{6}$", description="or an admin code (province, city, county)")
    tech: Literal["pv", "wind"]
    land_kinds: list[Literal["abandoned_mine", "coal_subsidence", "closed_landfill", "contaminated_plot",
                             "desert_gobi"]] | None = Field(None, min_length=1, description="default: all five")
    setbacks_m: dict[str, float | None] = Field(
        default_factory=dict, description="metres per exclusion layer kind (red_line, protected_area, basic_farmland, "
                                          "settlement, water, road); null: not an exclusion")
    min_area_ha: float | None = Field(None, ge=0, le=1e6)
    max_slope_deg: float | None = Field(None, ge=0, le=90)
    min_resource: float | None = Field(None, ge=0, description="GHI kWh/m²/a (pv) or m/s at 100 m (wind)")
    max_grid_km: float = Field(30.0, gt=0, le=500)
    weights: dict[str, float] = Field(default_factory=dict, description="resource, grid, slope, area")
    key_region_edition: Edition | None = None


class SitingResponse(BaseModel):
    id: str
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]] = Field(description="ranked candidates: usable geometry + figures")
    rejected: list[dict[str, Any]] = Field(description="candidates left out, with reasons and removed shares")
    summary: dict[str, Any] = Field(description="per land kind")
    supply_curve: list[dict[str, Any]]
    parameters: dict[str, Any]
    synthetic: bool
    notice: TextOut | None
    links: dict[str, str]
