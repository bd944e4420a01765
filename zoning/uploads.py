"""Judging an uploaded site file: every parcel on its own, and all parcels together as one
site (an approval concerns the whole project). Returns a JSON-ready record that the service
stores and the report renders; pure apart from reading the layers."""

from __future__ import annotations

import json
from dataclasses import asdict

import shapely

from layers.ingest import Upload
from layers.store import LayerStore
from zoning.industries import IndustryCatalogue
from zoning.judge import Project, judge_many
from zoning.rules import RuleSet
from zoning.site import site_from_geometry


def _jsonable(obj) -> dict:
    return json.loads(json.dumps(obj, ensure_ascii=False, default=str))


def geometry_json(geom: shapely.Geometry) -> dict:
    return json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-8)))


def upload_summary(upload: Upload) -> dict:
    return {"filename": upload.filename, "format": upload.format, "sha256": upload.sha256,
            "size": upload.size, "crs": upload.crs, "crs_source": upload.crs_source,
            "warnings": upload.warnings, "parcel_count": len(upload.parcels),
            "area_m2": round(sum(p.area_m2 for p in upload.parcels), 2)}


def assess_upload(store: LayerStore, rules: RuleSet, industries: IndustryCatalogue, upload: Upload,
                  project: Project, edition: str, max_vertices: int) -> dict:
    # every parcel, and all of them as one site when there are several, in one batch judgment
    sites = [site_from_geometry(p.geometry, max_vertices=max_vertices) for p in upload.parcels]
    if len(sites) > 1:
        sites.append(site_from_geometry(upload.union, max_vertices=max_vertices * len(sites)))
    results = [_jsonable(asdict(a)) for a in judge_many(store, rules, industries, sites, project, edition=edition)]
    parcels = [{"index": p.index, "properties": p.properties, "area_m2": round(p.area_m2, 2),
                "vertices": p.vertices, "geometry": geometry_json(p.geometry), "assessment": result}
               for p, result in zip(upload.parcels, results)]
    union = results[-1]
    return {
        "kind": "upload",
        "verdict": union["verdict"],
        "synthetic": union["synthetic"] or any(p["assessment"]["synthetic"] for p in parcels),
        "upload": upload_summary(upload),
        "project": asdict(project),
        "key_region_edition": edition,
        "union": union,
        "parcels": parcels,
    }
