"""Site files: parsed sites, stored upload assessments, re-runs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.models.assess import AssessResponse
from zoning.vocabulary import Verdict


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
    verdict: Verdict = Field(
        description="the verdict for all parcels together as one site")
    synthetic: bool
    upload: UploadOut
    project: dict[str, Any]
    key_region_edition: str
    union: AssessResponse
    parcels: list[ParcelAssessmentOut]
    links: dict[str, str]


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
