"""Renewable siting: which candidate land (abandoned mines, coal-mining subsidence, closed
landfills, contaminated plots, desert/gobi) inside an area can take PV or wind, how much, and
why the rest is out.

Per candidate, in its local Gauss-Krüger zone (metres): clip to the area of interest; remove
every exclusion layer kind with its setback (features outside the area count too); remove
pixels steeper than the slope limit (read by window); drop contiguous parts under the minimum
area; then exact zonal means of slope and resource over what is left (exactextract: cells
weighted by the share of them the polygon covers), distance to the grid, capacity and yearly
generation, the permit verdict of the judgment engine for the technology, a weighted score and
a rank. Every constraint reports the share of the candidate it removed.

Defaults (all overridable per query) and where they come from are in ``DEFAULTS`` and
docs/siting.md: slope ≤ 10° (PV) / 20° (wind); GHI ≥ 1,400 kWh/m²/a; wind ≥ 5.5 m/s at
100 m; grid ≤ 30 km; PV 40 MW/km² and performance ratio 0.8; wind 9 MW/km² and a generic
turbine curve over a Rayleigh wind-speed distribution.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import rasterio
import rasterio.features
import shapely
from pyproj import Transformer
from rasterio.windows import Window, from_bounds

from layers.crs import gk3_epsg
from layers.store import LayerStore
from layers.values import plain
from zoning.budget import check
from zoning.context import Judging
from zoning.errors import InvalidParameter
from zoning.judge import Project, judge_many
from zoning.site import SiteLimits, site_from_geometry
from zoning.vocabulary import DEFAULT_EDITION

LAND_KINDS = ("abandoned_mine", "coal_subsidence", "closed_landfill", "contaminated_plot", "desert_gobi")
EXCLUSION_KINDS = ("red_line", "protected_area", "basic_farmland", "settlement", "water", "road", "drinking_water",
                   "cultivated_land")
DEFAULTS = {
    "pv": {"industry": "D4416", "resource": "ghi", "min_resource": 1400.0, "max_slope_deg": 10.0,
           "min_area_ha": 20.0, "density_mw_per_km2": 40.0,
           "setbacks_m": {"red_line": 0.0, "protected_area": 0.0, "basic_farmland": 0.0, "settlement": 100.0,
                          "water": 50.0, "road": 30.0, "drinking_water": 0.0,
                          "cultivated_land": 0.0}},
    "wind": {"industry": "D4415", "resource": "wind_speed", "min_resource": 5.5, "max_slope_deg": 20.0,
             "min_area_ha": 50.0, "density_mw_per_km2": 9.0,
             "setbacks_m": {"red_line": 300.0, "protected_area": 500.0, "basic_farmland": 0.0, "settlement": 500.0,
                            "water": 100.0, "road": 150.0, "drinking_water": 0.0}},
}
DEFAULT_WEIGHTS = {"resource": 0.4, "grid": 0.3, "slope": 0.15, "area": 0.15}
DEFAULT_MAX_GRID_KM = 30.0
PV_PERFORMANCE_RATIO = 0.8
M_PER_DEG = 111_320.0

# a candidate's usable land after the exclusions are cut out may have many parts and holes
CANDIDATE_LIMITS = SiteLimits(max_vertices=2_000_000, max_parts=100_000, max_holes=100_000)


@dataclass(frozen=True)
class SitingQuery:
    aoi: shapely.Geometry  # EPSG:4490
    tech: str
    land_kinds: tuple[str, ...] = LAND_KINDS
    setbacks_m: dict[str, float | None] = field(default_factory=dict)  # over the defaults; None: no exclusion
    min_area_ha: float | None = None
    max_slope_deg: float | None = None
    min_resource: float | None = None
    max_grid_km: float = DEFAULT_MAX_GRID_KM
    weights: dict[str, float] = field(default_factory=dict)

    def resolved(self) -> SitingParams:
        """The query's values over the technology's defaults, checked."""
        if self.tech not in DEFAULTS:
            raise InvalidParameter(f"tech must be pv or wind; got {self.tech!r}")
        d = DEFAULTS[self.tech]
        bad = [k for k in self.land_kinds if k not in LAND_KINDS]
        if bad or not self.land_kinds:
            raise InvalidParameter(f"land_kinds must be a non-empty subset of {list(LAND_KINDS)}; got {bad or []}")
        unknown = [k for k in self.setbacks_m if k not in EXCLUSION_KINDS]
        if unknown:
            raise InvalidParameter(f"setbacks for unknown layer kinds {unknown}; known: {list(EXCLUSION_KINDS)}")
        # `not 0 <= v <= limit` is true for NaN too: a NaN setback must not switch an exclusion off
        if any(v is not None and not 0 <= v <= 20_000 for v in self.setbacks_m.values()):
            raise InvalidParameter("setbacks must lie between 0 and 20,000 m (null: not an exclusion)")
        wk = [k for k in self.weights if k not in DEFAULT_WEIGHTS]
        if wk or any(not 0 <= v <= 1e6 for v in self.weights.values()):
            raise InvalidParameter(f"weights are numbers from 0 to 1e6 for {list(DEFAULT_WEIGHTS)}; got {self.weights}")
        for name in ("min_area_ha", "max_slope_deg", "min_resource", "max_grid_km"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise InvalidParameter(f"{name} must be a finite number; got {v}")
        weights = {**DEFAULT_WEIGHTS, **self.weights}
        if sum(weights.values()) <= 0:
            raise InvalidParameter("at least one weight must be positive")
        return SitingParams(
            tech=self.tech, industry=d["industry"], resource=d["resource"], land_kinds=list(self.land_kinds),
            setbacks_m={k: v for k, v in {**d["setbacks_m"], **self.setbacks_m}.items() if v is not None},
            min_area_ha=d["min_area_ha"] if self.min_area_ha is None else self.min_area_ha,
            max_slope_deg=d["max_slope_deg"] if self.max_slope_deg is None else self.max_slope_deg,
            min_resource=d["min_resource"] if self.min_resource is None else self.min_resource,
            max_grid_km=self.max_grid_km, weights=weights, density_mw_per_km2=d["density_mw_per_km2"],
        )


@dataclass(frozen=True)
class SitingParams:
    """A siting query resolved against the technology's defaults: what the run uses, and what
    the answer reports under ``parameters``."""

    tech: str
    industry: str  # the GB/T 4754 class the permit question is asked for
    resource: str  # the raster quantity ranked on (ghi, wind_speed)
    land_kinds: list[str]
    setbacks_m: dict[str, float]  # exclusion layer kind -> setback (0: the feature itself)
    min_area_ha: float
    max_slope_deg: float
    min_resource: float
    max_grid_km: float
    weights: dict[str, float]
    density_mw_per_km2: float

    @property
    def resource_unit(self) -> str:
        return "kWh/m2/a" if self.tech == "pv" else "m/s"


def wind_capacity_factor(mean_speed: float) -> float:
    """Capacity factor of a generic 3-12-25 m/s turbine (cubic between cut-in and rated) under
    a Rayleigh distribution of the given mean speed (no losses)."""
    v = np.linspace(0.05, 30, 600)
    sigma = mean_speed / math.sqrt(math.pi / 2)
    pdf = v / sigma**2 * np.exp(-(v**2) / (2 * sigma**2))
    power = np.clip((v**3 - 3**3) / (12**3 - 3**3), 0, 1)
    power[(v < 3) | (v > 25)] = 0
    return float(np.trapezoid(power * pdf, v))


def _to_gk(geoms, epsg: int):
    tr = Transformer.from_crs("EPSG:4490", f"EPSG:{epsg}", always_xy=True)
    return shapely.transform(geoms, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))


def _to_ll(geoms, epsg: int):
    tr = Transformer.from_crs(f"EPSG:{epsg}", "EPSG:4490", always_xy=True)
    return shapely.transform(geoms, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))


def _degrees(geom_ll: shapely.Geometry, metres: float) -> float:
    """A search radius in degrees that covers ``metres`` at the geometry's latitude."""
    lat = shapely.centroid(geom_ll).y
    return metres / (M_PER_DEG * max(math.cos(math.radians(lat)), 0.2)) * 1.05 + 1e-9


def _near_one(store: LayerStore, layer_id: str, geom_ll: shapely.Geometry, metres: float) -> np.ndarray:
    _, idx = store.query(layer_id, np.array([geom_ll], dtype=object), predicate="dwithin",
                         distance=_degrees(geom_ll, metres))
    return store.geometries(layer_id, np.unique(idx))


def _near(store: LayerStore, kind: str, geom_ll: shapely.Geometry, metres: float) -> list[shapely.Geometry]:
    """Features of every layer of ``kind`` within ``metres`` of the geometry (whole features,
    also where they lie outside the area of interest)."""
    return [g for info in store.layers_of_kind(kind) for g in _near_one(store, info.id, geom_ll, metres)]


def _steep(slope_path, limit: float, geom_ll: shapely.Geometry) -> shapely.Geometry:
    """Pixels steeper than ``limit`` inside the geometry's bounds, as polygons (window read)."""
    with rasterio.open(slope_path) as src:
        win = from_bounds(*geom_ll.bounds, transform=src.transform).round_offsets().round_lengths()
        win = Window(win.col_off - 1, win.row_off - 1, win.width + 2, win.height + 2).intersection(
            Window(0, 0, src.width, src.height))
        a = src.read(1, window=win)
        steep = (a > limit) & (a != src.nodata)
        if not steep.any():
            return shapely.Polygon()
        shapes = rasterio.features.shapes(steep.astype("uint8"), mask=steep,
                                          transform=src.window_transform(win))
        return shapely.union_all([shapely.geometry.shape(s) for s, _ in shapes])


def _zonal_means(store: LayerStore, geoms_ll: list[shapely.Geometry], quantities: list[str]) -> dict[str, np.ndarray]:
    """Coverage-weighted means (exactextract) of the rasters of each quantity."""
    import geopandas as gpd
    from exactextract import exact_extract

    frame = gpd.GeoDataFrame({"i": range(len(geoms_ll))}, geometry=list(geoms_ll), crs="EPSG:4490")
    out = {}
    for q in quantities:
        raster = next((r for r in store.rasters() if r.spec.quantity == q), None)
        if raster is None:
            out[q] = np.full(len(geoms_ll), np.nan)
            continue
        with rasterio.open(raster.path) as src:
            df = exact_extract(src, frame, ["mean"], output="pandas")
        out[q] = df["mean"].to_numpy(dtype=float)
    return out


def siting(judging: Judging, query: SitingQuery, edition: str = DEFAULT_EDITION) -> dict:
    """Rank the candidate land inside ``query.aoi`` for the technology (see the module's text)."""
    p = query.resolved()
    store = judging.store
    if not store.layers_of_kind("candidate_land"):
        raise InvalidParameter("the catalog has no candidate_land layer")
    rejected, kept = [], []
    for info, fid, props, geom in _candidates_in(store, query.aoi, p):
        check(f"cutting candidate {fid}")
        if geom.is_empty or shapely.area(geom) == 0:
            continue
        base, reasons, usable, epsg = _cut(store, info, fid, props, geom, p)
        if usable.is_empty:
            rejected.append({**base, "usable_ha": 0.0, "reasons": reasons or ["nothing usable"]})
        else:
            kept.append((base, reasons, usable, epsg))
    outcomes = _measure(store, kept, p)
    candidates = _judge_candidates(judging, outcomes, p, edition, rejected)
    _score(candidates, p)
    return _answer(candidates, rejected, p)


def _candidates_in(store: LayerStore, aoi: shapely.Geometry, p: SitingParams):
    """(layer, feature id, properties, the part inside the area) of every candidate of the
    asked land kinds."""
    for info in store.layers_of_kind("candidate_land"):
        _, idx = store.query(info.id, np.array([aoi], dtype=object))
        idx = np.unique(idx)
        attrs = store.attribute_columns(info.id, idx)
        ids = store.feature_ids(info.id, idx)
        for k, (fid, geom) in enumerate(zip(ids, store.geometries(info.id, idx))):
            props = {c: plain(col[k]) for c, col in attrs.items()}
            if props.get("land_kind") in p.land_kinds:
                yield info, str(fid), props, shapely.intersection(geom, aoi)


def _cut(store: LayerStore, info, fid: str, props: dict, geom: shapely.Geometry, p: SitingParams):
    """What of one candidate is usable (metres, its Gauss-Krüger zone) once every exclusion with
    its setback, the slope limit and the minimum area are cut out, and the share each removed."""
    epsg = gk3_epsg(shapely.centroid(geom).x)
    gk = shapely.make_valid(_to_gk(geom, epsg))
    total = gk.area
    removed: dict[str, float] = {}
    reasons: list[str] = []

    def cut(name: str, zone: shapely.Geometry, why: str) -> None:
        nonlocal gk
        after = shapely.difference(gk, zone)
        if gk.area - after.area > 0:
            removed[name] = (gk.area - after.area) / total
            reasons.append(f"{why} removes {removed[name]:.0%}")
        gk = after

    for kind, setback in p.setbacks_m.items():
        near = _near(store, kind, geom, setback)
        if near:
            cut(kind, shapely.union_all([shapely.buffer(g, setback) if setback > 0 else g
                                         for g in _to_gk(np.asarray(near, dtype=object), epsg)]),
                f"{kind} (setback {setback:g} m)")
    slope_raster = next((r for r in store.rasters() if r.spec.quantity == "slope"), None)
    if slope_raster is not None and not gk.is_empty:
        steep = _steep(slope_raster.path, p.max_slope_deg, _to_ll(gk, epsg))
        if not steep.is_empty:
            cut("slope", _to_gk(steep, epsg), f"slope > {p.max_slope_deg:g}°")
    min_m2 = p.min_area_ha * 1e4
    parts = [g for g in shapely.get_parts(gk) if g.geom_type == "Polygon"]
    big = [g for g in parts if g.area >= min_m2]
    small = sum(g.area for g in parts if g.area < min_m2)
    if small > 0:
        removed["min_area"] = small / total
        reasons.append(f"parts under {p.min_area_ha:g} ha remove {removed['min_area']:.0%}")
    usable = shapely.MultiPolygon(big) if len(big) > 1 else (big[0] if big else shapely.Polygon())
    base = {"layer": info.id, "layer_version": info.version, "id": fid,
            "land_kind": props.get("land_kind"), "name": props.get("name"),
            "area_ha": round(total / 1e4, 2), "removed_share": {k: round(v, 4) for k, v in removed.items()},
            "synthetic": info.synthetic, "properties": props}
    return base, reasons, usable, epsg


def _measure(store: LayerStore, kept: list, p: SitingParams) -> list[tuple[dict, list[str], object]]:
    """Slope, resource, grid distance, capacity and generation of each usable candidate;
    (row, reasons, the site to judge — None when resource or grid already rule it out)."""
    usable_ll = [_to_ll(u, e) for _, _, u, e in kept]
    means = _zonal_means(store, usable_ll, ["slope", p.resource]) if kept else {}
    grid_layers = store.layers_of_kind("grid")
    outcomes = []
    for k, (base, reasons, usable, epsg) in enumerate(kept):
        ll = usable_ll[k]
        slope_mean = float(means["slope"][k])
        resource = float(means[p.resource][k])
        near_grid = [g for lyr in grid_layers for g in _near_one(store, lyr.id, ll, p.max_grid_km * 1000)]
        grid_km = (float(shapely.distance(usable, _to_gk(np.asarray(near_grid, dtype=object), epsg)).min()) / 1000
                   if near_grid else math.inf)
        mw = usable.area / 1e6 * p.density_mw_per_km2
        if not np.isfinite(resource):
            mwh = 0.0
        elif p.tech == "pv":
            mwh = mw * resource * PV_PERFORMANCE_RATIO
        else:
            mwh = mw * 8760 * wind_capacity_factor(resource)
        item = {**base, "usable_ha": round(usable.area / 1e4, 2), "mean_slope_deg": _r(slope_mean, 2),
                "mean_resource": _r(resource, 2), "resource_unit": p.resource_unit,
                "grid_km": _r(grid_km, 2), "capacity_mw": round(mw, 2), "generation_mwh": round(mwh, 0),
                "verdict": None, "verdict_reasons": [], "geometry": ll}
        out = []
        if not np.isfinite(resource) or resource < p.min_resource:
            out.append(f"mean {p.resource} {resource:.1f} < {p.min_resource:g}")
        if grid_km > p.max_grid_km:
            out.append(f"grid farther than {p.max_grid_km:g} km")
        if out:  # out on resource or grid: no permit question to ask
            outcomes.append((item, reasons + out, None))
        else:
            outcomes.append((item, reasons, site_from_geometry(ll, limits=CANDIDATE_LIMITS)))
    return outcomes


def _judge_candidates(judging: Judging, outcomes: list, p: SitingParams, edition: str,
                      rejected: list[dict]) -> list[dict]:
    """The permit verdicts of all remaining candidates in one batch judgment; the prohibited
    ones join ``rejected``, the rest are returned."""
    to_judge = [site for _, _, site in outcomes if site is not None]
    verdicts = iter(judge_many(judging, to_judge, Project(p.industry, "new"), edition=edition))
    candidates = []
    for item, reasons, site in outcomes:
        if site is None:
            rejected.append({**item, "reasons": reasons})
            continue
        assessment = next(verdicts)
        item["verdict"] = assessment.verdict
        item["verdict_reasons"] = [
            {"rule_id": r.rule_id, "verdict": r.verdict, "summary": r.summary,
             "clause": f"{r.clause['document']} {r.clause.get('number') or ''} {r.clause['article']}".strip()}
            for r in assessment.reasons]
        if assessment.verdict == "prohibited":
            rejected.append({**item, "reasons": [*reasons, "permit: prohibited (" + ", ".join(
                r.rule_id for r in assessment.reasons if r.verdict == "prohibited") + ")"]})
        else:
            candidates.append({**item, "reasons": reasons})
    return candidates


def _r(v: float, nd: int):
    return round(v, nd) if np.isfinite(v) else None


def _score(cands: list[dict], p: SitingParams) -> None:
    if not cands:
        return
    w = p.weights
    res = np.array([c["mean_resource"] for c in cands], float)
    lo = p.min_resource
    hi = max(res.max(), lo + 1e-9)
    largest = max(c["usable_ha"] for c in cands)
    def share(x: float, limit: float) -> float:  # 1 at 0, 0 at the limit (a zero limit: only 0 passes)
        return 1 - x / limit if limit > 0 else float(x <= 0)

    total = sum(w.values())
    for c, r in zip(cands, res):
        parts = {
            "resource": (r - lo) / (hi - lo) if hi > lo else 1.0,
            "grid": share(c["grid_km"], p.max_grid_km),
            "slope": share(c["mean_slope_deg"] or 0, p.max_slope_deg),
            "area": math.log1p(c["usable_ha"]) / math.log1p(largest) if largest > 0 else 0.0,
        }
        c["score_parts"] = {k: round(float(np.clip(v, 0, 1)), 4) for k, v in parts.items()}
        c["score"] = round(sum(w[k] * c["score_parts"][k] for k in w) / total, 4) if total > 0 else 0.0
    cands.sort(key=lambda c: (-c["score"], c["id"]))
    for i, c in enumerate(cands, start=1):
        c["rank"] = i


def _answer(cands: list[dict], rejected: list[dict], p: SitingParams) -> dict:
    summary = {}
    for kind in p.land_kinds:
        acc = [c for c in cands if c["land_kind"] == kind]
        rej = [r for r in rejected if r["land_kind"] == kind]
        area = sum(c["area_ha"] for c in acc + rej)
        removed = {}
        for c in acc + rej:
            for k, v in c["removed_share"].items():
                removed[k] = removed.get(k, 0.0) + v * c["area_ha"]
        summary[kind] = {
            "considered": len(acc) + len(rej), "accepted": len(acc), "rejected": len(rej),
            "area_ha": round(area, 2), "usable_ha": round(sum(c["usable_ha"] for c in acc), 2),
            "capacity_mw": round(sum(c["capacity_mw"] for c in acc), 2),
            "generation_mwh": round(sum(c["generation_mwh"] for c in acc), 0),
            "removed_ha": {k: round(v, 2) for k, v in removed.items()},
        }
    curve, mw, mwh = [], 0.0, 0.0
    for c in cands:
        mw += c["capacity_mw"]
        mwh += c["generation_mwh"]
        curve.append({"rank": c["rank"], "id": c["id"], "capacity_mw": c["capacity_mw"],
                      "cumulative_mw": round(mw, 2), "cumulative_mwh": round(mwh, 0)})
    return {"parameters": asdict(p), "candidates": cands, "rejected": rejected, "summary": summary,
            "supply_curve": curve,
            "synthetic": any(c["synthetic"] for c in cands + rejected)}
