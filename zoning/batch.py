"""One chunk of a batch job: many sites, one project, judged together (:func:`judge_many`),
each reduced to a result row. Pure apart from reading the layers."""

from __future__ import annotations

import shapely

from zoning.context import Judging
from zoning.errors import InvalidSite
from zoning.judge import Project, judge_many
from zoning.site import SiteLimits, site_from_geometry
from zoning.uploads import geometry_json


def assess_chunk(judging: Judging, sites: list[tuple[int, bytes, dict]], project: Project, edition: str,
                 limits: SiteLimits) -> list[dict]:
    rows, ok, parsed = [], [], []
    for idx, wkb, props in sites:
        geom = shapely.from_wkb(wkb)
        base = {"index": idx, "properties": props, "geometry": geometry_json(geom)}
        try:
            parsed.append(site_from_geometry(geom, limits=limits))
            ok.append(base)
        except InvalidSite as exc:
            rows.append({**base, "verdict": "error", "area_m2": None, "reasons": "", "prohibited_by": "",
                         "zones": "", "synthetic": False, "error": str(exc)})
    for base, site, a in zip(ok, parsed, judge_many(judging, parsed, project, edition)):
        rows.append({
            **base, "verdict": a.verdict, "area_m2": round(site.area_m2, 2),
            "reasons": ";".join(r.rule_id for r in a.reasons),
            "prohibited_by": ";".join(r.rule_id for r in a.reasons if r.verdict == "prohibited"),
            "zones": ";".join(f"{z.layer_id}:{z.feature_id}" for z in a.zones),
            "synthetic": a.synthetic, "error": None,
        })
    rows.sort(key=lambda r: r["index"])
    return rows
