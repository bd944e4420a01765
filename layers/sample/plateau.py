"""The Tibetan Plateau (青藏高原) as the 青藏高原生态保护法 (in force 2023-09-01) defines it, drawn
from the real admin boundaries: "本法所称青藏高原，是指西藏自治区、青海省的全部行政区域和新疆维吾尔
自治区、四川省、甘肃省、云南省的相关县级行政区域" (第二条).

The law names no counties. So the layer holds three kinds of feature (``membership``):

- ``whole_province``: 西藏 and 青海, all of each (the law's own words);
- ``listed``: the four Tibetan autonomous prefectures of the other provinces that the plateau's
  usual extent names (甘孜、阿坝 in 四川, 迪庆 in 云南, 甘南 in 甘肃: 《自然资源学报》2000(4) p.297,
  "包括青海、西藏两省区和四川甘孜、阿坝，云南迪庆及甘肃甘南 4 个藏族自治州"), this service's reading;
- ``undecided``: the rest of 新疆、四川、甘肃、云南, where related counties may lie (Xinjiang's in the
  Kunlun, 天祝 or 肃南 in the Qilian …) but no list says which.
"""

from __future__ import annotations

import geopandas as gpd
import shapely

from layers.crs import STORAGE_CRS

WHOLE = {"540000": "西藏自治区", "630000": "青海省"}
LISTED = {"513200": "阿坝藏族羌族自治州", "513300": "甘孜藏族自治州", "533400": "迪庆藏族自治州",
          "623000": "甘南藏族自治州"}
PARTLY = {"650000": "新疆维吾尔自治区", "510000": "四川省", "620000": "甘肃省", "530000": "云南省"}
LAW = "青藏高原生态保护法 第二条"
BASIS = {
    "whole_province": f"{LAW}：全部行政区域",
    "listed": f"{LAW}：相关县级行政区域（本服务据《自然资源学报》2000年第4期所列4个藏族自治州认定，法律未列名单）",
    "undecided": f"{LAW}：相关县级行政区域未列名单，本区域是否属于青藏高原须经核实",
}


def build_tibetan_plateau(admin: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    provinces = admin["province"].set_index("adcode").geometry
    cities = admin["city"].set_index("adcode").geometry
    rows, geoms = [], []

    def add(adcode, name, membership, geom):
        rows.append({"member_id": adcode, "name": name, "membership": membership, "basis": BASIS[membership],
                     "synthetic": 0})
        geoms.append(geom)

    for adcode, name in WHOLE.items():
        add(adcode, name, "whole_province", provinces.loc[adcode])
    for adcode, name in LISTED.items():
        add(adcode, name, "listed", cities.loc[adcode])
    for adcode, name in PARTLY.items():
        listed = [cities.loc[c] for c in LISTED if c[:2] == adcode[:2]]
        rest = shapely.difference(provinces.loc[adcode], shapely.union_all(listed)) if listed else provinces.loc[adcode]
        add(adcode, f"{name}（上列自治州以外）" if listed else name, "undecided", shapely.make_valid(rest))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)
