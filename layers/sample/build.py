"""Build the embedded sample data set: ``python -m layers.sample.build [--out DIR] [--force]``
(``--scale national``: the national SYNTHETIC set for benchmarks, into data/national).

Deterministic: the same package versions give byte-identical attribute tables and
geometries (layer versions are derived from that content). The result is written to a
temporary folder next to ``DIR`` and swapped in with one rename, so an interrupted build never
leaves a half-written data set behind.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pyogrio

from layers.sample import lists, rasters, rivers, synthetic
from layers.sample.admin import read_admin
from layers.sample.key_regions import build_key_regions, read_members
from layers.sample.plateau import build_tibetan_plateau

BUILDER_VERSION = "9"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "data" / "sample"
STAMP = "BUILD.json"
# the national industrial-structure catalogue as list items: real, matched text (not generated)
INDUSTRY_CATALOGUE = Path(__file__).with_name("industry_catalogue_2024.csv")


def _write(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    pyogrio.write_dataframe(gdf, path, layer=layer, driver="GPKG")


def build(out: Path) -> dict:
    t0 = time.perf_counter()
    admin = read_admin()
    t_admin = time.perf_counter() - t0
    regions = build_key_regions(admin, read_members())
    plateau = build_tibetan_plateau(admin)
    counties = synthetic.synth_counties(admin)
    units = synthetic.build_control_units(counties)
    red = synthetic.build_red_lines(units)
    protected = synthetic.build_protected_areas(units)
    farmland = synthetic.build_basic_farmland(units)
    parks = synthetic.build_parks(units, counties)
    land = synthetic.build_candidate_land(counties)
    stations, lines = synthetic.build_grid(counties)
    settlements = synthetic.build_settlements(counties)
    water = synthetic.build_water(counties)
    roads = synthetic.build_roads(counties)
    forest = synthetic.build_forest(counties)
    drinking = synthetic.build_drinking_water(water, counties)
    cultivated = synthetic.build_cultivated_land(units, farmland)
    urban = synthetic.build_urban_boundaries(settlements, counties)
    access = lists.build_access_lists(units, admin)
    courses = rivers.yellow_river_courses(admin)
    rivers.check_course(courses)
    shores = rivers.shore_belts(courses, admin)
    functional = rivers.main_function_zones(counties, units)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".sample-", dir=out.parent))
    try:
        for level, gdf in admin.items():
            _write(gdf, tmp / "admin.gpkg", level)
        _write(regions, tmp / "key_regions.gpkg", "key_regions")
        _write(plateau, tmp / "tibetan_plateau.gpkg", "tibetan_plateau")
        _write(units, tmp / "control_units.gpkg", "HJZHGKDY")
        _write(red, tmp / "red_lines.gpkg", "red_lines")
        _write(protected, tmp / "protected_areas.gpkg", "protected_areas")
        _write(farmland, tmp / "basic_farmland.gpkg", "basic_farmland")
        _write(parks, tmp / "industrial_parks.gpkg", "industrial_parks")
        _write(land, tmp / "candidate_land.gpkg", "candidate_land")
        _write(stations, tmp / "grid.gpkg", "substations")
        _write(lines, tmp / "grid.gpkg", "lines")
        _write(settlements, tmp / "landcover.gpkg", "settlements")
        _write(water, tmp / "landcover.gpkg", "water")
        _write(roads, tmp / "landcover.gpkg", "roads")
        _write(forest, tmp / "landcover.gpkg", "forest")
        _write(drinking, tmp / "drinking_water.gpkg", "drinking_water")
        _write(cultivated, tmp / "cultivated_land.gpkg", "cultivated_land")
        _write(urban, tmp / "urban_boundaries.gpkg", "urban_boundaries")
        pyogrio.write_dataframe(access, tmp / "access_lists.csv", driver="CSV")
        shutil.copyfile(INDUSTRY_CATALOGUE, tmp / INDUSTRY_CATALOGUE.name)
        _write(courses, tmp / "rivers.gpkg", "courses")
        _write(shores, tmp / "rivers.gpkg", "shores")
        _write(functional, tmp / "main_function_zones.gpkg", "main_function_zones")
        pyogrio.write_dataframe(lists.prose_table(units), tmp / "access_lists_prose.xlsx", driver="XLSX")
        t_rasters = time.perf_counter()
        raster_summary = rasters.build_rasters(tmp)
        t_rasters = time.perf_counter() - t_rasters
        summary = {
            "builder_version": BUILDER_VERSION,
            "seed": synthetic.SEED,
            "synthetic_provinces": list(synthetic.SYNTH_PROVINCES),
            "counts": {
                "admin_" + k: len(v) for k, v in admin.items()
            } | {
                "key_regions": len(regions),
                "tibetan_plateau": len(plateau),
                "control_units": len(units),
                "red_lines": len(red),
                "protected_areas": len(protected),
                "basic_farmland": len(farmland),
                "industrial_parks": len(parks),
                "candidate_land": len(land),
                "substations": len(stations),
                "lines": len(lines),
                "settlements": len(settlements),
                "water": len(water),
                "roads": len(roads),
                "forest": len(forest),
                "drinking_water": len(drinking),
                "cultivated_land": len(cultivated),
                "urban_boundaries": len(urban),
                "access_list_items": len(access),
                "river_courses": len(courses),
                "river_shores": len(shores),
                "main_function_zones": len(functional),
            },
            "rasters": raster_summary,
            "seconds": {"admin": round(t_admin, 1), "rasters": round(t_rasters, 1),
                        "total": round(time.perf_counter() - t0, 1)},
        }
        (tmp / STAMP).write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


def _swap_in(tmp: Path, out: Path) -> None:
    """The finished folder replaces ``out`` by renames: never a half-written data set."""
    old = None
    if out.exists():
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# the national set's files: (file, layer) for each layer of layers.sample.national.build_layers
NATIONAL_FILES = {
    "admin_county": ("admin.gpkg", "county"), "control_units": ("control_units.gpkg", "HJZHGKDY"),
    "red_lines": ("red_lines.gpkg", "red_lines"), "protected_areas": ("protected_areas.gpkg", "protected_areas"),
    "basic_farmland": ("basic_farmland.gpkg", "basic_farmland"),
    "cultivated_land": ("cultivated_land.gpkg", "cultivated_land"),
    "candidate_land": ("candidate_land.gpkg", "candidate_land"), "substations": ("grid.gpkg", "substations"),
    "lines": ("grid.gpkg", "lines"), "settlements": ("landcover.gpkg", "settlements"),
    "water": ("landcover.gpkg", "water"), "roads": ("landcover.gpkg", "roads"), "forest": ("landcover.gpkg", "forest"),
    "drinking_water": ("drinking_water.gpkg", "drinking_water"),
    "urban_boundaries": ("urban_boundaries.gpkg", "urban_boundaries"),
    "main_function_zones": ("main_function_zones.gpkg", "main_function_zones"),
    "industrial_parks": ("industrial_parks.gpkg", "industrial_parks"),
}


def build_national(out: Path, spacing_m: float, provinces: tuple[str, ...] | None = None) -> dict:
    """The national SYNTHETIC set (layers/sample/national.py) into ``out``, atomically."""
    from layers.sample import national

    t0 = time.perf_counter()
    admin = read_admin()
    built = national.build_layers(admin, spacing_m, provinces)
    regions = build_key_regions(admin, read_members())
    plateau = build_tibetan_plateau(admin)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".national-", dir=out.parent))
    try:
        for level in ("country", "province", "city"):
            _write(admin[level], tmp / "admin.gpkg", level)
        _write(regions, tmp / "key_regions.gpkg", "key_regions")
        _write(plateau, tmp / "tibetan_plateau.gpkg", "tibetan_plateau")
        for name, (file, layer) in NATIONAL_FILES.items():
            _write(built[name], tmp / file, layer)
        pyogrio.write_dataframe(built["access_lists"], tmp / "access_lists.csv", driver="CSV")
        shutil.copyfile(INDUSTRY_CATALOGUE, tmp / INDUSTRY_CATALOGUE.name)
        t1 = time.perf_counter()
        raster_summary = rasters.build_rasters(tmp, national.raster_bbox(built["admin_county"]),
                                               national.RASTER_RES, national.RASTER_GHI_STEP)
        print(f"rasters at {national.RASTER_RES}° ({time.perf_counter() - t1:.0f} s)")
        import shapely

        vertices = {n: int(shapely.get_num_coordinates(built[n].geometry.to_numpy()).sum()) for n in NATIONAL_FILES}
        summary = {"builder_version": BUILDER_VERSION, "scale": "national", "spacing_m": spacing_m,
                   "provinces": list(provinces) if provinces else "all",
                   "counts": {n: len(built[n]) for n in NATIONAL_FILES} | {"access_list_items": len(built["access_lists"])},
                   "vertices": vertices, "total_vertices": sum(vertices.values()), "rasters": raster_summary,
                   "seconds": round(time.perf_counter() - t0, 1)}
        (tmp / STAMP).write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
        _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--force", action="store_true", help="rebuild even if the stamp matches")
    ap.add_argument("--scale", choices=["sample", "national"], default="sample",
                    help="national: every province at official precision into data/national (bench/national.py)")
    ap.add_argument("--spacing-m", type=float, default=20.0, help="national: a boundary vertex every this many metres")
    ap.add_argument("--provinces", help="national: only these province adcodes, comma-separated (a quick check)")
    args = ap.parse_args(argv)
    if args.scale == "national":
        out = args.out if args.out != DEFAULT_OUT else DEFAULT_OUT.with_name("national")
        provinces = tuple(args.provinces.split(",")) if args.provinces else None
        summary = build_national(out, args.spacing_m, provinces)
        print(f"national data written to {out} in {summary['seconds']} s: {summary['counts']}; "
              f"{summary['total_vertices']:,} vertices")
        return 0
    stamp = args.out / STAMP
    if stamp.exists() and not args.force:
        try:
            if json.loads(stamp.read_text(encoding="utf-8")).get("builder_version") == BUILDER_VERSION:
                print(f"sample data present in {args.out} (use --force to rebuild)")
                return 0
        except ValueError:
            pass
    summary = build(args.out)
    print(f"sample data written to {args.out} in {summary['seconds']['total']} s: {summary['counts']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
