"""POST /v1/assess: the project and site in, the judgment out."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from geojson_pydantic import Feature, FeatureCollection, MultiPolygon, Point, Polygon
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.models.common import ClauseOut, FeatureRefOut, LayerRefOut, ListItemOut, TextOut, _Out
from zoning.errors import InvalidParameter
from zoning.scale import UNITS, unit_of
from zoning.vocabulary import Action, Edition, Verdict

SiteGeoJSON = Annotated[
    Point | Polygon | MultiPolygon | Feature | FeatureCollection,
    Field(discriminator="type", description="lon/lat in EPSG:4490 (CGCS2000) or WGS84"),
]


def numbers_only(geojson) -> None:
    """Coordinates must be JSON numbers: ``"118.17"`` (a string) or ``true`` is refused rather
    than coerced."""
    stack = [geojson]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "coordinates" in node:
                flat = [node["coordinates"]]
                while flat:
                    c = flat.pop()
                    if isinstance(c, list):
                        flat.extend(c)
                    elif isinstance(c, bool) or not isinstance(c, int | float):
                        raise ValueError(f"coordinates must be numbers; got {type(c).__name__} {str(c)[:30]!r}")
            stack.extend(v for k, v in node.items() if k != "coordinates")
        elif isinstance(node, list):
            stack.extend(node)


class CapacityIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    value: float = Field(ge=0, le=1e12, description="the project's capacity in `unit`")
    unit: str = Field(min_length=1, max_length=20, description=f"one of {', '.join(UNITS)} (or their Chinese names)")

    @field_validator("unit")
    @classmethod
    def _known(cls, v: str) -> str:
        try:
            return unit_of(v)
        except InvalidParameter as exc:
            raise ValueError(str(exc)) from None


class ProjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    industry: str = Field(
        min_length=1, max_length=8,
        description="GB/T 4754-2017 code at any level: C3120 (炼钢), or C31 for the whole division",
        examples=["C3120"],
    )
    action: Action = Field("new", description="新建 / 扩建 / 改建")
    product: str | None = Field(
        None, max_length=200,
        description="product or process from the industry's vocabulary (GET /v1/industries): key, "
                    "Chinese or English name, e.g. eaf_steel, 水泥粉磨站, 光伏压延玻璃")
    name: str | None = Field(None, max_length=200)
    captive: bool = Field(False, description="自备: a captive plant of an industrial user")
    capacity_replacement: bool = Field(
        False, description="产能置换: the capacity replaces shut-down capacity under the replacement rules")
    major_project: bool = Field(
        False, description="国家重大项目: the caller claims a state major project (the answer shows it; "
                           "such projects go to the State Council)")
    capacity: CapacityIn | None = Field(
        None, description="规模: how big the project is, e.g. {\"value\": 35, \"unit\": \"蒸吨/h\"}; rules and "
                          "list items with a size condition are undetermined without it")
    process: str | None = Field(None, max_length=200, description="工艺: the process as the owner describes it "
                                                                  "(shown in the answer; the product is what rules tell apart)")

    def to_project(self):
        from zoning.judge import Project
        from zoning.scale import Capacity

        fields = self.model_dump(exclude={"capacity"})
        return Project(**fields, capacity=Capacity(self.capacity.value, self.capacity.unit) if self.capacity else None)


class AssessRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "site": {
                        "type": "Polygon",
                        "coordinates": [[[118.17, 39.62], [118.19, 39.62], [118.19, 39.64],
                                         [118.17, 39.64], [118.17, 39.62]]],
                    },
                    "project": {"industry": "C3120", "action": "new", "name": "唐山某钢铁项目"},
                    "key_region_edition": "2023",
                }
            ]
        },
    )
    site: SiteGeoJSON
    project: ProjectIn

    @field_validator("site", mode="before")
    @classmethod
    def _numeric_coordinates(cls, v):
        numbers_only(v)
        return v
    key_region_edition: Edition | None = Field(
        None, description="key-region map: 2018 (国发〔2018〕22号) or 2023 (国发〔2023〕24号, default)"
    )
    as_of: dt.date | None = Field(
        None, description="judge against the layer and rules versions in force at the end of this "
                          "day (China Standard Time); default: those in force now")

    @field_validator("as_of", mode="before")
    @classmethod
    def _date_text(cls, v):
        if v is not None and not isinstance(v, str | dt.date):
            raise ValueError("as_of is a date, YYYY-MM-DD")
        return v


class ReasonOut(_Out):
    rule_id: str
    verdict: Verdict
    summary: TextOut
    clause: ClauseOut
    layer: LayerRefOut | None
    features: list[FeatureRefOut]
    note: str | None = None
    item: ListItemOut | None = Field(None, description="the access-list item behind the reason, if any")


class SiteOut(_Out):
    type: str
    area_m2: float
    centroid: list[float]
    area_crs: str
    vertices: int
    bbox: list[float]


class ProjectOut(_Out):
    industry: str
    industry_level: Literal["section", "division", "group", "class"]
    industry_name: TextOut
    industry_changed_2019: str | None = Field(
        None, description="for a code the 2019 amendment of GB/T 4754-2017 gave another meaning, what changed")
    action: str
    product: str | None
    name: str | None
    captive: bool
    capacity_replacement: bool
    major_project: bool
    capacity: dict | None = Field(None, description="the project's capacity as given: value and unit")
    process: str | None = None


class AssessResponse(_Out):
    verdict: Verdict
    reasons: list[ReasonOut]
    zones: list[FeatureRefOut]
    admin: list[FeatureRefOut]
    site: SiteOut
    project: ProjectOut
    layers: list[LayerRefOut]
    rules_version: str
    key_region_edition: str
    synthetic: bool = Field(description="true when synthetic sample data speaks in this answer")
    notice: TextOut | None
    assessed_at: str
    as_of: str | None = Field(None, description="the date the layers and rules were taken as of")
