"""Judging an uploaded site file: every parcel on its own, and all parcels together as one
site (an approval concerns the whole project). Returns a JSON-ready record that the service
stores and the report renders; pure apart from reading the layers."""

from __future__ import annotations

import json
from dataclasses import asdict

import orjson
import shapely

from layers.ingest import Upload
from layers.values import plain
from zoning.context import Judging
from zoning.judge import Project, judge_many
from zoning.site import SiteLimits, site_from_geometry


def _jsonable(obj) -> dict:
    """An answer as plain JSON data (numpy values, dates and NaN made plain; see layers.values)."""
    return orjson.loads(orjson.dumps(obj, default=plain))


def geometry_json(geom: shapely.Geometry) -> dict:
    return json.loads(shapely.to_geojson(shapely.set_precision(geom, 1e-8)))


def upload_summary(upload: Upload) -> dict:
    return {"filename": upload.filename, "format": upload.format, "sha256": upload.sha256,
            "size": upload.size, "crs": upload.crs, "crs_source": upload.crs_source,
            "warnings": upload.warnings, "parcel_count": len(upload.parcels),
            "area_m2": round(sum(p.area_m2 for p in upload.parcels), 2)}


def assess_upload(judging: Judging, upload: Upload, project: Project, edition: str, limits: SiteLimits) -> dict:
    # every parcel, and all of them as one site when there are several, in one batch judgment
    sites = [site_from_geometry(p.geometry, limits=limits) for p in upload.parcels]
    if len(sites) > 1:
        sites.append(site_from_geometry(upload.union, limits=limits.times(len(sites))))
    results = [_jsonable(asdict(a)) for a in judge_many(judging, sites, project, edition=edition)]
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


def _reasons(a: dict) -> list[str]:
    return [r["rule_id"] for r in a["reasons"]]


def rerun(judging: Judging, record: dict, limits: SiteLimits) -> dict:
    """Judge a stored upload assessment's parcels again (same project and edition) and compare
    verdicts, reasons and the layer and rules versions with the record."""
    geoms = [shapely.geometry.shape(p["geometry"]) for p in record["parcels"]]
    sites = [site_from_geometry(g, limits=limits) for g in geoms]
    if len(sites) > 1:
        sites.append(site_from_geometry(shapely.union_all(geoms), limits=limits.times(len(sites))))
    p = record["project"]
    project = Project.from_params(p)
    after = [_jsonable(asdict(a)) for a in judge_many(judging, sites, project, edition=record["key_region_edition"])]
    before = [p["assessment"] for p in record["parcels"]] + ([record["union"]] if len(sites) > 1 else [])
    rows = []
    for i, (b, a) in enumerate(zip(before, after)):
        rows.append({"index": i if i < len(record["parcels"]) else None,
                     "verdict_before": b["verdict"], "verdict_after": a["verdict"],
                     "reasons_before": _reasons(b), "reasons_after": _reasons(a)})
    lb = {ref["id"]: ref["version"] for b in before for ref in b["layers"]}
    la = {ref["id"]: ref["version"] for a in after for ref in a["layers"]}
    changed = {k: {"before": lb.get(k), "after": la.get(k)} for k in sorted(set(lb) | set(la)) if lb.get(k) != la.get(k)}
    rb, ra = record["union"]["rules_version"], after[-1]["rules_version"]
    same = not changed and rb == ra and all(r["verdict_before"] == r["verdict_after"]
                                            and r["reasons_before"] == r["reasons_after"] for r in rows)
    return {"same": same, "verdict_before": record["verdict"], "verdict_after": after[-1]["verdict"],
            "rules_version_before": rb, "rules_version_after": ra, "layers_changed": changed, "parcels": rows}
