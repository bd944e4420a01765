"""Request and response models of the HTTP API (OpenAPI is generated from these)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from geojson_pydantic import Feature, FeatureCollection, MultiPolygon, Point, Polygon
from pydantic import BaseModel, ConfigDict, Field, field_validator

SiteGeoJSON = Annotated[
    Point | Polygon | MultiPolygon | Feature | FeatureCollection,
    Field(discriminator="type", description="lon/lat in EPSG:4490 (CGCS2000) or WGS84"),
]


class ProjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    industry: str = Field(
        min_length=1, max_length=8,
        description="GB/T 4754-2017 code at any level: C3120 (炼钢), or C31 for the whole division",
        examples=["C3120"],
    )
    action: Literal["new", "expand", "rebuild"] = Field("new", description="新建 / 扩建 / 改建")
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
    key_region_edition: Literal["2018", "2023"] | None = Field(
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


class ReasonOut(_Out):
    rule_id: str
    verdict: Literal["prohibited", "undetermined", "conditional", "permitted"]
    summary: TextOut
    clause: ClauseOut
    layer: LayerRefOut | None
    features: list[FeatureRefOut]
    note: str | None = None


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
    action: str
    product: str | None
    name: str | None
    captive: bool
    capacity_replacement: bool
    major_project: bool


class AssessResponse(_Out):
    verdict: Literal["prohibited", "undetermined", "conditional", "permitted"]
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
    products: list[str] = Field(description="keys of the product vocabulary of this code")


class ProductOut(BaseModel):
    key: str
    zh: str
    en: str
    classes: list[str]
    aliases: list[str]


class IndustriesResponse(BaseModel):
    standard: str
    version: str
    coverage: str = Field(description="complete, or partial: which levels the table holds")
    industries: list[IndustryOut]
    products: list[ProductOut]


class RulesResponse(BaseModel):
    version: str
    families: list[dict[str, Any]]


class HealthResponse(BaseModel):
    status: Literal["ok"]
    layers: int
    rules_version: str
    loaded_at: str | None


class UploadOut(BaseModel):
    filename: str
    format: str
    sha256: str
    size: int
    crs: str = Field(description="the CRS the coordinates were read in")
    crs_source: str = Field(description="where that CRS came from: the file, the parameter, …")
    warnings: list[str]
    parcel_count: int
    area_m2: float


class SitesResponse(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    upload: UploadOut
    features: list[dict[str, Any]] = Field(
        description="one Feature per parcel, lon/lat in EPSG:4490; properties: index, area_m2, "
                    "vertices, attributes (the file's own columns)")


class ParcelAssessmentOut(BaseModel):
    index: int
    properties: dict[str, Any]
    area_m2: float
    vertices: int
    geometry: dict[str, Any]
    assessment: AssessResponse


class UploadAssessmentOut(BaseModel):
    id: str
    created: str
    kind: Literal["upload"]
    verdict: Literal["prohibited", "undetermined", "conditional", "permitted"] = Field(
        description="the verdict for all parcels together as one site")
    synthetic: bool
    upload: UploadOut
    project: dict[str, Any]
    key_region_edition: str
    union: AssessResponse
    parcels: list[ParcelAssessmentOut]
    links: dict[str, str]


class SitingRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False,
        json_schema_extra={"examples": [{"adcode": "640000", "tech": "pv"},
                                        {"adcode": "140200", "tech": "wind", "setbacks_m": {"protected_area": 1000},
                                         "weights": {"resource": 0.6, "grid": 0.4, "slope": 0, "area": 0}}]},
    )
    aoi: Polygon | MultiPolygon | None = Field(None, description="area of interest, lon/lat (EPSG:4490)")
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
    key_region_edition: Literal["2018", "2023"] | None = None


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


class JobOut(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    created: str
    started: str | None
    finished: str | None
    total: int = Field(description="sites in the job")
    done: int = Field(description="sites judged so far")
    chunks_done: int
    chunks_total: int
    chunk_size: int
    rate: float | None = Field(description="sites per second of judging")
    eta_s: float | None = Field(description="seconds to go at that rate")
    error: str | None
    params: dict[str, Any]
    upload: dict[str, Any]
    links: dict[str, str]


# --- layer and rules versions, keys, audit ------------------------------------------------------

class ValidationReportOut(BaseModel):
    ok: bool = True
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    counts: dict[str, Any] = {}


class _VersionFields(BaseModel):
    """What a layer version is: its data's date, source file and checksum, size and changes."""

    vintage: str
    source_name: str | None = None
    source_sha256: str | None = None
    feature_count: int
    summary: dict[str, Any]


class LayerVersionOut(_VersionFields):
    layer_id: str
    version: str
    previous: str | None = None
    dry_run: bool = False
    actor: str
    report: ValidationReportOut
    note: str | None = None
    event: dict[str, Any] | None = None


class _EventOut(BaseModel):
    """One entry of a version history."""

    seq: int
    action: Literal["baseline", "publish", "rollback"]
    at: str
    actor: str
    note: str | None = None


class LayerEventOut(_EventOut, _VersionFields):
    version: str
    created: str
    published_by: str


class LayerHistoryOut(BaseModel):
    layer_id: str
    version_in_force: str
    history: list[LayerEventOut]


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    version: str = Field(min_length=1, max_length=100)
    note: str | None = Field(None, max_length=500)


class RollbackOut(BaseModel):
    layer_id: str
    version: str
    previous: str
    event: dict[str, Any]


class RulesVersionOut(BaseModel):
    file: str
    family: str | None = None
    declared_version: str | None = None
    sha256: str
    rules_version: str
    summary: dict[str, list[str]] = {}
    dry_run: bool = False
    seq: int | None = None


class RulesEventOut(_EventOut):
    file: str
    sha256: str
    declared_version: str
    family: str


class RulesHistoryOut(BaseModel):
    rules_version: str
    history: list[RulesEventOut]


class RulesRollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    note: str | None = Field(None, max_length=500)


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    role: Literal["reader", "editor", "admin"]


class KeyOut(BaseModel):
    name: str
    role: Literal["reader", "editor", "admin"]
    prefix: str
    created: str
    created_by: str
    revoked: str | None = None


class NewKeyOut(BaseModel):
    name: str
    role: Literal["reader", "editor", "admin"]
    key: str = Field(description="shown once: only its SHA-256 is stored")


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    actor: str
    role: str | None = None
    action: str
    target: str | None = None
    input_sha256: str | None = None
    result: dict[str, Any]
    hash: str


class AuditOut(BaseModel):
    intact: bool = Field(description="the hash chain recomputes from the first entry")
    broken_at: int | None = None
    entries: list[AuditEntryOut]


class RerunOut(BaseModel):
    id: str
    against: Literal["recorded", "current"]
    same: bool = Field(description="same verdicts, reasons and layer/rules versions for the whole and every parcel")
    verdict_before: str
    verdict_after: str
    rules_version_before: str
    rules_version_after: str
    layers_changed: dict[str, dict[str, str | None]] = Field(description="layer id -> {before, after} versions")
    parcels: list[dict[str, Any]] = Field(description="per parcel (and the whole, index null): verdict and "
                                                      "reasons before and after")
