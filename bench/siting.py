"""Siting over one whole sample province and over both: seconds and candidates/s, on one core.

    python bench/siting.py [--runs 3]

Baseline, measured in the same run: the same candidate land only clipped to the area and
overlaid with the polygonal exclusion layers by a plain geopandas overlay (no setbacks, rasters, grid
or permits) — the floor any siting query pays. Prints figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import geopandas as gpd
import numpy as np
import shapely

from zoning.context import Judging

warnings.filterwarnings("ignore")


def siting_rows(store, areas: dict, runs: int) -> list[tuple]:
    """Per area and technology: candidates considered, ranked, median seconds over ``runs``,
    and the seconds of the baseline overlay."""
    from zoning.industries import load_industries
    from zoning.rules import load_rules
    from zoning.siting import EXCLUSION_KINDS, SitingQuery, siting

    rules, industries = load_rules(), load_industries()
    cand = store.layers_of_kind("candidate_land")[0].id
    cand_gdf = gpd.GeoDataFrame(geometry=list(store.geometries(cand, np.arange(store.info(cand).count))), crs=4490)
    excl = gpd.GeoDataFrame(geometry=[g for k in EXCLUSION_KINDS for lyr in store.layers_of_kind(k)
                                      for g in store.geometries(lyr.id, np.arange(lyr.count))
                                      if g.geom_type in ("Polygon", "MultiPolygon")], crs=4490)
    rows = []
    for label, aoi in areas.items():
        for tech in ("pv", "wind"):
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                out = siting(Judging(store, rules, industries), SitingQuery(aoi=aoi, tech=tech))
                times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            clipped = gpd.clip(cand_gdf, aoi)  # polygons only: clipping leaves the lines and points of touching edges
            gpd.overlay(clipped[clipped.geom_type.isin(("Polygon", "MultiPolygon"))], excl, how="difference")
            rows.append((label, tech, len(out["candidates"]) + len(out["rejected"]), len(out["candidates"]),
                         statistics.median(times), time.perf_counter() - t0))
    return rows


def print_rows(rows: list[tuple]) -> None:
    print(f"{'area':<14}{'tech':>5}{'considered':>11}{'ranked':>8}{'seconds':>9}{'cand/s':>8}{'baseline s':>12}{'ratio':>8}")
    for label, tech, considered, ranked, sec, base in rows:
        print(f"{label:<14}{tech:>5}{considered:>11}{ranked:>8}{sec:>9.2f}"
              f"{considered / sec:>8.0f}{base:>12.2f}{sec / base:>7.1f}x")


def provinces(store, adcodes: dict[str, str]) -> dict:
    """Named province outlines from the store's province layer."""
    return {label: store.geometries("admin_province", [store.index_of("admin_province", a)])[0]
            for label, a in adcodes.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from layers.catalog import DEFAULT_CATALOG
    from layers.store import EmbeddedStore

    store = EmbeddedStore.open(DEFAULT_CATALOG)
    areas = provinces(store, {"宁夏 640000": "640000", "山西 140000": "140000"})
    areas["both"] = shapely.union_all(list(areas.values()))
    print_rows(siting_rows(store, areas, args.runs))


if __name__ == "__main__":
    main()
