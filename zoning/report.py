"""Assessment reports for the approval file: HTML (and PDF from the same HTML, WeasyPrint
with the CJK font embedded). Chinese by default, English on request.

The site map is an SVG drawn in the site's local Gauss-Krüger zone (metres, so the scale bar
is true): the parcels, the zoning features they touch, admin boundaries, a scale bar and a
north arrow (grid north; convergence within a 3° zone is under 2°)."""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from pathlib import Path

import jinja2
import numpy as np
import shapely
from pyproj import Transformer

from layers.crs import gk3_epsg, to_gk3
from layers.store import LayerStore
from layers.tiles import clip
from zoning.vocabulary import ACTION_NAMES

TEMPLATES = Path(__file__).parent / "templates"
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                          trim_blocks=True, lstrip_blocks=True)

CONCLUSION = {
    "prohibited": ("不符合（判定不通过）", "Not compliant (prohibited)"),
    "conditional": ("受限准入（需进一步论证）", "Conditional (further justification required)"),
    "permitted": ("符合（判定通过）", "Compliant (permitted)"),
    "undetermined": ("待补充信息（无法判定）", "Undetermined (information missing)"),
}
COMPLIES = {
    "prohibited": ("不符合", "No"), "conditional": ("有条件符合", "With conditions"),
    "permitted": ("符合", "Yes"), "undetermined": ("无法判定", "Cannot tell"),
}
ZONE_COLOURS = {"control_unit": "#dc2626", "red_line": "#991b1b", "protected_area": "#065f46",
                "basic_farmland": "#84cc16", "key_region": "#a855f7", "industrial_park": "#475569",
                "candidate_land": "#f59e0b", "drinking_water": "#1e3a8a",
                "cultivated_land": "#65a30d", "urban_boundary": "#f97316",
                "river_shore": "#0ea5e9", "main_function_zone": "#34d399"}
LABELS = {
    "zh": {"title": "建设项目生态环境分区管控符合性研判报告", "synthetic": "本报告使用合成示例数据，仅供演示，不得用于审批。",
           "project": "项目", "industry": "行业", "action": "建设性质", "name": "项目名称", "input": "输入文件",
           "checksum": "SHA-256", "crs": "坐标系", "parcels": "地块", "area": "面积", "map": "位置图",
           "verdict": "研判结论", "clauses": "逐条对照", "clause": "条款", "situation": "项目情况",
           "complies": "是否符合", "overlaps": "叠加分析", "layer": "图层", "feature": "要素", "share": "占比",
           "versions": "数据与规则版本", "version": "版本", "rules_version": "规则版本", "time": "研判时间",
           "generated": "报告生成", "id": "编号", "per_parcel": "分地块结论", "parcel": "地块",
           "union": "全部地块合并研判", "edition": "重点区域版本", "source": "来源",
           "legend_site": "项目地块", "legend_admin": "行政界线", "none": "无"},
    "en": {"title": "Zoning compliance assessment report", "synthetic": "This report uses SYNTHETIC sample data; it is a demonstration, not an approval basis.",
           "project": "Project", "industry": "Industry", "action": "Action", "name": "Project name", "input": "Input file",
           "checksum": "SHA-256", "crs": "CRS", "parcels": "Parcels", "area": "Area", "map": "Site map",
           "verdict": "Conclusion", "clauses": "Clause by clause", "clause": "Clause", "situation": "Project situation",
           "complies": "Complies", "overlaps": "Overlaps", "layer": "Layer", "feature": "Feature", "share": "Share",
           "versions": "Data and rules versions", "version": "Version", "rules_version": "Rules version", "time": "Assessed at",
           "generated": "Report generated", "id": "Id", "per_parcel": "Per parcel", "parcel": "Parcel",
           "union": "All parcels as one site", "edition": "Key-region edition", "source": "source",
           "legend_site": "Site parcels", "legend_admin": "Admin boundaries", "none": "none"},
}


def _path(geom: shapely.Geometry, fx, fy) -> str:
    out = []
    for poly in shapely.get_parts(geom):
        if poly.geom_type == "Polygon":
            rings = [poly.exterior, *poly.interiors]
            for ring in rings:
                xy = np.asarray(ring.coords)
                out.append("M" + " L".join(f"{fx(x):.1f},{fy(y):.1f}" for x, y in xy) + " Z")
        elif poly.geom_type in ("LineString", "LinearRing"):
            xy = np.asarray(poly.coords)
            out.append("M" + " L".join(f"{fx(x):.1f},{fy(y):.1f}" for x, y in xy))
        elif poly.geom_type in ("MultiLineString", "MultiPolygon", "GeometryCollection"):
            out.append(_path(poly, fx, fy))
    return " ".join(out)


def site_map_svg(store: LayerStore, parcels: list[shapely.Geometry], zones: list[dict],
                 width: int = 640, height: int = 440) -> str:
    """The site, the zoning features it touches and admin boundaries, in local GK metres."""
    site = shapely.union_all(parcels)
    lon = shapely.centroid(site).x
    epsg = gk3_epsg(lon)
    site_gk = to_gk3(np.asarray(parcels, dtype=object), epsg)
    minx, miny, maxx, maxy = shapely.total_bounds(site_gk)
    span = max(maxx - minx, maxy - miny, 200.0) * 1.6
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    sx = span * width / height
    box_gk = shapely.box(cx - sx / 2, cy - span / 2, cx + sx / 2, cy + span / 2)
    scale = height / span
    fx = lambda x: (x - (cx - sx / 2)) * scale  # noqa: E731
    fy = lambda y: height - (y - (cy - span / 2)) * scale  # noqa: E731
    # the map window in lon/lat, to find what to draw
    inv = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4490", always_xy=True)
    bx, by = inv.transform([box_gk.bounds[0], box_gk.bounds[2]], [box_gk.bounds[1], box_gk.bounds[3]])
    window_ll = shapely.box(min(bx), min(by), max(bx), max(by))
    layers_svg = []
    for z in zones:
        idx = store.index_of(z["layer_id"], z["feature_id"])
        if idx is None:
            continue
        g = store.geometries(z["layer_id"], np.array([idx]))[0]
        g = clip(np.array([g], dtype=object), *window_ll.bounds)[0]
        if g.is_empty:
            continue
        gk = clip(to_gk3(np.array([g], dtype=object), epsg), *box_gk.bounds)[0]
        colour = ZONE_COLOURS.get(store.info(z["layer_id"]).kind, "#64748b")
        layers_svg.append(f'<path d="{_path(gk, fx, fy)}" fill="{colour}" fill-opacity="0.18" '
                          f'stroke="{colour}" stroke-width="1" fill-rule="evenodd"/>')
    for admin in ("admin_county", "admin_city"):
        try:
            _, idx = store.query(admin, np.array([window_ll], dtype=object))
        except KeyError:
            continue
        for g in store.geometries(admin, idx):
            line = clip(np.array([shapely.boundary(g)], dtype=object), *window_ll.bounds)[0]
            if line.is_empty:
                continue
            gk = to_gk3(np.array([line], dtype=object), epsg)[0]
            layers_svg.append(f'<path d="{_path(gk, fx, fy)}" fill="none" stroke="#374151" '
                              f'stroke-width="{1.6 if admin == "admin_city" else 0.9}" stroke-dasharray="6 3"/>')
    for g in site_gk:
        layers_svg.append(f'<path d="{_path(g, fx, fy)}" fill="#0ea5e9" fill-opacity="0.45" stroke="#0369a1" '
                          'stroke-width="2" fill-rule="evenodd"/>')
    # scale bar: a round length near a quarter of the width
    target = sx / 4
    step = 10 ** math.floor(math.log10(target))
    length = max(m * step for m in (1, 2, 5) if m * step <= target)
    px = length * scale
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    bar = (f'<g font-size="12" font-family="sans-serif"><rect x="16" y="{height - 26}" width="{px:.1f}" height="6" '
           f'fill="#111827"/><text x="16" y="{height - 32}">0</text><text x="{16 + px:.1f}" y="{height - 32}" '
           f'text-anchor="middle">{html.escape(label)}</text></g>')
    north = (f'<g transform="translate({width - 30},40)"><path d="M0,-24 L9,8 L0,2 L-9,8 Z" fill="#111827"/>'
             '<text x="0" y="24" font-size="14" font-family="sans-serif" text-anchor="middle">N</text></g>')
    crs = (f'<text x="{width - 8}" y="{height - 8}" font-size="10" font-family="sans-serif" '
           f'text-anchor="end" fill="#6b7280">CGCS2000 / 3° Gauss-Krüger EPSG:{epsg}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img"><rect width="100%" height="100%" fill="#f8fafc"/>'
            + "".join(layers_svg) + bar + north + crs + "</svg>")


def render_html(record: dict, store: LayerStore, lang: str = "zh") -> str:
    """The report of a stored upload assessment (see app/routers/uploads.py for its shape)."""
    if lang not in LABELS:
        raise ValueError(f"lang must be zh or en; got {lang!r}")
    i = 0 if lang == "zh" else 1
    union = record["union"]
    parcels = [shapely.from_geojson(json.dumps(p["geometry"])) for p in record["parcels"]]
    svg = site_map_svg(store, parcels, union["zones"])
    rows = []
    for r in union["reasons"]:
        c = r["clause"]
        feats = ", ".join(f'{f["properties"].get("name") or f["feature_id"]}'
                          + (f' ({f["share"] * 100:.1f}%)' if f.get("share") is not None else "")
                          for f in r["features"][:6])
        rows.append({
            "clause": f'{c["document"]} {c.get("number") or ""} {c["article"]}'.strip(),
            "text": c["text"], "quote_checked": c["quote_checked"],
            "situation": r["summary"][lang] + (f" — {feats}" if feats else ""),
            "complies": COMPLIES[r["verdict"]][i], "verdict": r["verdict"],
            "layer": f'{r["layer"]["id"]} {r["layer"]["version"]}' if r.get("layer") else "",
        })
    zones = [{"layer": z["layer_id"], "id": z["feature_id"], "name": z["properties"].get("name", ""),
              "cls": z["properties"].get("class_name") or z["properties"].get("land_kind") or "",
              "area": z.get("overlap_m2"), "share": z.get("share")} for z in union["zones"]]
    template = _ENV.get_template("report.html.j2")
    return template.render(
        L=LABELS[lang], lang=lang, record=record, union=union, svg=svg, rows=rows, zones=zones,
        conclusion=CONCLUSION[union["verdict"]][i], complies=COMPLIES, i=i,
        action=ACTION_NAMES.get(union["project"]["action"], ("", ""))[i],
        generated=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def render_pdf(report_html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=report_html).write_pdf()
