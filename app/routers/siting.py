"""POST /v1/siting: which candidate land in an area can take PV or wind; exports of a result."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.auth import PrincipalDep, audit, ensure_may_assess, record_owner
from app.deps import ServicesDep
from app.models.siting import SitingRequest, SitingResponse
from app.routing import StrictRoute
from layers.export import export_features
from zoning.errors import InvalidParameter
from zoning.judge import SYNTHETIC_NOTICE
from zoning.site import parse_site
from zoning.siting import LAND_KINDS, SitingQuery, siting
from zoning.uploads import geometry_json

router = APIRouter(route_class=StrictRoute, prefix="/v1", tags=["siting"])
ADMIN_LAYERS = ("admin_province", "admin_city", "admin_county")


def _aoi(body: SitingRequest, services):
    if (body.aoi is None) == (body.adcode is None):
        raise InvalidParameter("give exactly one of `aoi` (a GeoJSON polygon) or `adcode`")
    if body.aoi is not None:
        return parse_site(body.aoi.model_dump(exclude_none=True),
                          limits=services.settings.site_limits()).geometry
    for layer in ADMIN_LAYERS:
        idx = services.store.index_of(layer, body.adcode)
        if idx is not None:
            return services.store.geometries(layer, [idx])[0]
    raise InvalidParameter(f"adcode {body.adcode} is not a province, city or county of the admin layers")


def candidate_feature(c: dict) -> dict:
    props = {k: v for k, v in c.items() if k != "geometry"}
    return {"type": "Feature", "id": c["id"], "geometry": geometry_json(c["geometry"]), "properties": props}


def _links(request: Request, rid: str) -> dict[str, str]:
    base = str(request.base_url).rstrip("/")
    return {f"export_{f}": f"{base}/v1/siting/{rid}/export.{f}" for f in ("geojson", "gpkg", "csv")} | {
        "self": f"{base}/v1/siting/{rid}"}


@router.post("/siting", response_model=SitingResponse, operation_id="siting")
def run_siting(body: SitingRequest, request: Request, services: ServicesDep, who: PrincipalDep) -> SitingResponse:
    """Candidate land for PV or wind in an area: usable geometry after exclusions and setbacks,
    slope, resource, grid distance, capacity, generation, permit verdict, score and rank; every
    rejected candidate with its reasons; a summary per land kind and the supply curve."""
    ensure_may_assess(services, who)
    owner, quota = record_owner(services, who, request)
    aoi = _aoi(body, services)
    result = siting(
        services.judging,
        SitingQuery(aoi=aoi, tech=body.tech, land_kinds=tuple(body.land_kinds or LAND_KINDS),
                    setbacks_m=body.setbacks_m, min_area_ha=body.min_area_ha, max_slope_deg=body.max_slope_deg,
                    min_resource=body.min_resource, max_grid_km=body.max_grid_km, weights=body.weights),
        edition=body.key_region_edition or services.settings.key_region_edition,
    )
    doc = {
        "type": "FeatureCollection",
        "features": [candidate_feature(c) for c in result["candidates"]],
        "rejected": [{k: v for k, v in r.items() if k != "geometry"} for r in result["rejected"]],
        "summary": result["summary"], "supply_curve": result["supply_curve"],
        "parameters": {**result["parameters"], "aoi": geometry_json(aoi)},
        "synthetic": result["synthetic"],
        "notice": SYNTHETIC_NOTICE if result["synthetic"] else None,
    }
    rid = services.records.add("siting", doc, owner=owner, quota=quota)
    audit(services, who, "siting", rid, None, {"tech": body.tech, "candidates": len(doc["features"]),
                                               "rejected": len(doc["rejected"])})
    return SitingResponse.model_validate({**services.records.get(rid), "links": _links(request, rid)})


@router.get("/siting/{result_id}", response_model=SitingResponse, operation_id="getSiting")
def get_siting(result_id: str, request: Request, services: ServicesDep) -> SitingResponse:
    return SitingResponse.model_validate({**services.records.get(result_id, kind="siting"), "links": _links(request, result_id)})


COLUMNS = ["rank", "id", "land_kind", "name", "usable_ha", "area_ha", "mean_slope_deg", "mean_resource",
           "resource_unit", "grid_km", "capacity_mw", "generation_mwh", "verdict", "score", "layer_version",
           "synthetic"]


@router.get("/siting/{result_id}/export.{fmt}", operation_id="exportSiting",
            responses={200: {"content": {"application/geo+json": {}, "application/geopackage+sqlite3": {},
                                         "text/csv": {}}}})
def export_siting(result_id: str, fmt: Literal["geojson", "gpkg", "csv"], services: ServicesDep) -> Response:
    """A stored siting result as GeoJSON, GeoPackage (EPSG:4490) or CSV (one row per candidate)."""
    doc = services.records.get(result_id, kind="siting")
    data, media = export_features(doc["features"], fmt, COLUMNS, "candidates")
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="siting-{result_id}.{fmt}"'})
