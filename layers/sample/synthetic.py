"""Deterministic SYNTHETIC zoning layers for Shanxi (山西, 140000) and Ningxia (宁夏, 640000).

Red lines, control units, protected areas, basic farmland, industrial parks, candidate land
for renewables and the power grid are not public, so these layers are generated: realistic in
shape and attributes, never real. Every feature carries ``synthetic = 1`` and a remark saying
so; the catalog marks the layers ``synthetic: true``; the API repeats it in every answer.

Determinism: one ``numpy.random.Generator`` per (purpose, county) seeded from a CRC of the
two, so adding a county or a layer does not reshuffle the others.
"""

from __future__ import annotations

import zlib

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from layers.crs import STORAGE_CRS, area_m2

SYNTH_PROVINCES = ("140000", "640000")
SEED = 20220610  # 环综合〔2022〕42号 was issued on 2022-06-10
REMARK = "合成示例数据（synthetic sample data），非官方数据，不得用于审批"

CLASS_NAMES = {1: "优先保护", 2: "重点管控", 3: "一般管控"}
# cities where coal mining shapes the land (subsidence, abandoned mines)
COAL_CITIES = ("1402", "1403", "1404", "1405", "1406", "1411", "6402")
# 2023 Fenwei Plain cities in Shanxi (国发〔2023〕24号)
FENWEI_2023_SHANXI = ("1401", "1403", "1404", "1405", "1407", "1408", "1410", "1411")
NINGXIA_DESERT_COUNTIES = {"640502": "腾格里沙漠边缘", "640181": "毛乌素沙地", "640323": "毛乌素沙地"}

# Industrial parks, named after real towns known for the sector; geometry and EIA status are
# synthetic. (county adcode, park name, leading industries, planning EIA done?)
PARKS = [
    ("140121", "清徐精细化工循环产业园", "焦化,化工", "yes"),
    ("140781", "介休经济技术开发区", "焦化,钢铁", "yes"),
    ("141181", "孝义经济开发区", "焦化,铝工业", "yes"),
    ("140882", "河津经济技术开发区", "铝工业,钢铁", "yes"),
    ("140106", "太原不锈钢产业园区", "钢铁", "yes"),
    ("140428", "长治高新区上党园区", "钢铁,焦化", "no"),
    ("141034", "汾西工业集聚区", "焦化", "no"),
    ("640181", "宁东能源化工基地", "煤化工,化工,电力", "yes"),
    ("640205", "石嘴山高新技术产业开发区", "冶金,化工", "yes"),
    ("640502", "中卫工业园区", "冶金,新材料", "no"),
]

LAND_KIND_ZH = {
    "abandoned_mine": "废弃矿山",
    "coal_subsidence": "采煤沉陷区",
    "closed_landfill": "已封场垃圾填埋场",
    "contaminated_plot": "污染地块",
    "desert_gobi": "沙漠戈壁荒漠",
}


def rng_for(*keys: object) -> np.random.Generator:
    return np.random.default_rng([SEED, zlib.crc32("/".join(map(str, keys)).encode())])


# --- geometry helpers -------------------------------------------------------------------------

def blob(rng: np.random.Generator, lon: float, lat: float, radius_m: float, n: int = 32,
         rough: float = 0.35) -> shapely.Polygon:
    """An irregular, star-shaped polygon: a circle whose radius is modulated by a few random
    low-frequency harmonics (looks like a natural patch, never self-intersects)."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in (2, 3, 5):
        r += rough / k * np.sin(k * t + rng.uniform(0, 2 * np.pi)) * rng.uniform(0.5, 1.0)
    r = np.clip(r, 0.25, None) * radius_m
    dx = r * np.cos(t) / (111_320.0 * np.cos(np.radians(lat)))
    dy = r * np.sin(t) / 110_574.0
    return shapely.Polygon(np.column_stack([lon + dx, lat + dy]))


def polygonal(geom: shapely.Geometry) -> shapely.Geometry | None:
    """Keep only the polygonal parts of an overlay result, as a MultiPolygon (or None)."""
    if geom is None or geom.is_empty:
        return None
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = []
    for p in parts:
        polys.extend(shapely.get_parts(p) if p.geom_type == "MultiPolygon" else [p])
    polys = [p for p in polys if p.area > 1e-10]
    if not polys:
        return None
    return shapely.MultiPolygon(polys)


def random_points_in(rng: np.random.Generator, geom: shapely.Geometry, n: int) -> np.ndarray:
    """n uniformly distributed points inside geom (rejection sampling, vectorised)."""
    minx, miny, maxx, maxy = geom.bounds
    shapely.prepare(geom)
    out = np.empty((0, 2))
    while len(out) < n:
        cand = np.column_stack([rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)])
        inside = shapely.contains_xy(geom, cand[:, 0], cand[:, 1])
        out = np.vstack([out, cand[inside]])
    return out[:n]


def town_point(county: shapely.Geometry) -> shapely.Point:
    """Where the county town (县城) sits in the synthetic world: a point well inside."""
    return shapely.point_on_surface(county)


# --- access-list text (准入清单), four dimensions ---------------------------------------------

def access_list(cls: int, subtype: str, county: pd.Series) -> dict[str, str]:
    code = county.adcode
    in_fenwei = code[:4] in FENWEI_2023_SHANXI
    coal = code[:4] in COAL_CITIES or code == "640181"
    desert = code in NINGXIA_DESERT_COUNTIES
    if cls == 1:
        layout = ("以生态保护为主，依法禁止或限制大规模、高强度的工业和城镇建设；生态保护红线内"
                  "按自然资发〔2022〕142号仅允许对生态功能不造成破坏的有限人为活动；"
                  "禁止新建、扩建工业项目，现有工业企业有序退出。")
        emission = "不得新增工业污染源，现有污染源实行总量削减。"
        risk = "禁止布局危险废物贮存、处置设施，加强水源涵养区环境风险防控。"
        resource = "严格控制开发强度，禁止毁林开垦、开山采石等破坏生态的资源开发活动。"
    elif subtype == "产业集聚":
        layout = ("工业项目原则上入园集聚发展；新建、扩建石化、化工、焦化、有色金属冶炼、平板玻璃项目"
                  "须布设在依法合规设立并经规划环评的产业园区。")
        emission = "新建项目主要污染物实行等量或倍量削减替代；钢铁、焦化、水泥企业执行超低排放要求。"
        risk = "园区设置事故应急池，编制突发环境事件应急预案；涉有毒有害物质企业落实防渗和隐患排查。"
        resource = "能耗、物耗、水耗达到清洁生产先进水平；新建耗煤项目实行煤炭减量替代。"
    elif cls == 2:
        layout = "城市建成区禁止新建、扩建重污染工业项目，现有重污染企业有序搬迁改造或关闭退出。"
        emission = "完善城镇污水收集处理设施；县级及以上城市建成区原则上不再新建35蒸吨/小时以下燃煤锅炉。"
        risk = "列入建设用地土壤污染风险管控和修复名录的地块，不得作为住宅、公共管理与公共服务用地。"
        resource = "高污染燃料禁燃区内禁止燃用高污染燃料。"
    else:
        layout = "落实生态环境保护基本要求，限制新建三类工业项目；严格保护永久基本农田。"
        emission = "加强农业面源污染治理，推进化肥农药减量增效。"
        risk = "加强受污染耕地安全利用，严格管控类耕地依法划定特定农产品禁止生产区域。"
        resource = "推进节水灌溉，严格控制地下水超采。"
    if in_fenwei and cls != 1:
        layout += ("本单元位于大气污染防治重点区域（汾渭平原），严禁新增钢铁、焦化、炼油、电解铝、"
                   "水泥、平板玻璃（不含光伏玻璃）等产能。")
    if coal and cls != 1:
        resource += "采煤沉陷区优先开展生态修复，因地制宜建设光伏发电、风力发电等新能源项目。"
    if desert:
        resource += "沙漠、戈壁、荒漠地区推进大型风电光伏基地建设，落实防风固沙要求。"
    return {"KJBJYS": layout, "PWWPFGK": emission, "HJFXFK": risk, "ZYKFXLYQ": resource}


# --- builders ---------------------------------------------------------------------------------

def synth_counties(admin: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    c = admin["county"]
    return c[c.province_adcode.isin(SYNTH_PROVINCES)].reset_index(drop=True)


def build_control_units(counties: gpd.GeoDataFrame, km2_per_unit: float = 220.0,
                        per_county: tuple[int, int] = (4, 14)) -> gpd.GeoDataFrame:
    """Partition every county into Voronoi cells (no gaps, no overlaps) and classify them: a
    cell per ``km2_per_unit``, within ``per_county``.

    Native MEE field names (HJZHGKDYBM, ZHGKDYFL, KJBJYS …) are used on purpose: the
    catalog's field mapping loads them, as it would a provincial delivery."""
    park_counties = {p[0] for p in PARKS}
    rows, geoms = [], []
    for county in counties.itertuples(index=False):
        rng = rng_for("units", county.adcode)
        geom = county.geometry
        area_km2 = float(area_m2([geom])[0]) / 1e6
        n = int(np.clip(area_km2 / km2_per_unit, *per_county))
        town = town_point(geom)
        seeds = np.vstack([[town.x, town.y], random_points_in(rng, geom, n - 1)])
        cells = shapely.get_parts(
            shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=geom.envelope.buffer(0.5))
        )
        # the cell of each seed, in seed order (voronoi output order is not the input order)
        seed_pts = shapely.points(seeds)
        order = [int(np.flatnonzero(shapely.contains(cells, p))[0]) for p in seed_pts]
        cells = cells[order]
        classes = np.where(rng.random(n) < 0.32, 1, 3)
        classes[0] = 2  # the county town
        if county.adcode in park_counties or rng.random() < 0.35:
            classes[1] = 2  # an industrial cluster
        if not (classes == 1).any():
            classes[-1] = 1
        serial = {1: 0, 2: 0, 3: 0}
        for i, (cell, cls) in enumerate(zip(cells, classes)):
            piece = polygonal(shapely.intersection(cell, geom))
            if piece is None:
                continue
            serial[cls] += 1
            if cls == 1:
                subtype = "生态保护"
            elif cls == 2:
                subtype = "城镇生活" if i == 0 else "产业集聚"
            else:
                subtype = "一般"
            cname = CLASS_NAMES[cls]
            name = f"{county.name}{subtype}{cname}单元" + (f"{serial[cls]}" if serial[cls] > 1 else "")
            if cls == 3:
                name = f"{county.name}一般管控单元" + (f"{serial[cls]}" if serial[cls] > 1 else "")
            rows.append(
                {
                    "HJZHGKDYBM": f"ZH{county.adcode}{cls}{serial[cls]:04d}",
                    "HJZHGKDYMC": name,
                    "PROV": county.province,
                    "CITY": county.city,
                    "AREA": county.name,
                    "XZQHDM": county.adcode,
                    "ZHGKDYFL": cls,
                    "GKDYLB": cname,
                    "GKDYZL": subtype,
                    **access_list(cls, subtype, pd.Series(county._asdict())),
                    "REMARK": REMARK,
                    "synthetic": 1,
                }
            )
            geoms.append(piece)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)


def _patches_in(units: gpd.GeoDataFrame, purpose: str, share: float, radius: tuple[float, float],
                per_unit: tuple[int, int] = (1, 1)) -> tuple[list[dict], list]:
    """Random blobs clipped to the given units (so they inherit the units' zoning)."""
    rows, geoms = [], []
    for unit in units.itertuples(index=False):
        rng = rng_for(purpose, unit.HJZHGKDYBM)
        if rng.random() > share:
            continue
        k = rng.integers(per_unit[0], per_unit[1] + 1)
        for j, (x, y) in enumerate(random_points_in(rng, unit.geometry, k)):
            r = rng.uniform(*radius)
            g = polygonal(shapely.intersection(blob(rng, x, y, r), unit.geometry))
            if g is not None:
                rows.append({"unit": unit.HJZHGKDYBM, "county": unit.XZQHDM, "i": j, "rng": rng})
                geoms.append(g)
    return rows, geoms


def build_red_lines(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    prio = units[units.ZHGKDYFL == 1]
    rows, geoms = _patches_in(prio, "redline", 0.75, (2500.0, 7000.0))
    out = []
    for n, r in enumerate(rows, start=1):
        ningxia = r["county"].startswith("64")
        kinds = ["防风固沙", "水土保持", "生物多样性维护"] if ningxia else ["水源涵养", "水土保持", "生物多样性维护"]
        kind = kinds[int(r["rng"].integers(len(kinds)))]
        out.append(
            {
                "code": f"HX{r['county']}{n:04d}",
                "name": f"{kind}生态保护红线（{r['unit']}）",
                "function_type": kind,
                "county": r["county"],
                "remark": REMARK,
                "synthetic": 1,
            }
        )
    return gpd.GeoDataFrame(out, geometry=geoms, crs=STORAGE_CRS)


def build_protected_areas(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    prio = units[units.ZHGKDYFL == 1]
    rows, geoms = _patches_in(prio, "protected", 0.18, (3000.0, 9000.0))
    cats = ["自然保护区", "森林公园", "湿地公园", "风景名胜区", "地质公园"]
    out = []
    for n, r in enumerate(rows, start=1):
        rng = r["rng"]
        cat = cats[int(rng.integers(len(cats)))]
        # functional zone (中办发〔2019〕42号): reserves have core and general zones; the
        # natural parks (forest, wetland, scenic, geological) are managed as general zones
        zone = ("core" if rng.random() < 0.5 else "general") if cat == "自然保护区" else "natural_park"
        out.append(
            {
                "code": f"ZRBHD{r['county']}{n:03d}",
                "name": f"合成{cat}{n}号",
                "category": cat,
                "zone": zone,
                "level": "国家级" if rng.random() < 0.3 else "省级",
                "county": r["county"],
                "remark": REMARK,
                "synthetic": 1,
            }
        )
    return gpd.GeoDataFrame(out, geometry=geoms, crs=STORAGE_CRS)


def build_basic_farmland(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    general = units[units.ZHGKDYFL == 3]
    rows, geoms = _patches_in(general, "farmland", 0.85, (600.0, 1800.0), per_unit=(2, 5))
    out = []
    for n, (r, g) in enumerate(zip(rows, geoms), start=1):
        out.append(
            {
                "code": f"JBNT{r['county']}{n:05d}",
                "county": r["county"],
                "area_mu": round(float(area_m2([g])[0]) / 666.6667, 1),
                "remark": REMARK,
                "synthetic": 1,
            }
        )
    return gpd.GeoDataFrame(out, geometry=geoms, crs=STORAGE_CRS)


def build_parks(units: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    rows, geoms = [], []
    by_code = counties.set_index("adcode")
    for adcode, name, industries, eia in PARKS:
        if adcode not in by_code.index:
            raise ValueError(f"park county {adcode} missing from the admin data")
        cluster = units[(units.XZQHDM == adcode) & (units.GKDYZL == "产业集聚")]
        if cluster.empty:
            raise ValueError(f"no industrial-cluster unit generated in {adcode}")
        unit = cluster.iloc[0]
        rng = rng_for("park", adcode)
        p = shapely.point_on_surface(unit.geometry)
        g = polygonal(shapely.intersection(blob(rng, p.x, p.y, rng.uniform(2500, 4500)), unit.geometry))
        rows.append(
            {
                "name": name,
                "county": adcode,
                "leading_industries": industries,
                "planning_eia": eia,
                "unit_code": unit.HJZHGKDYBM,
                "remark": REMARK,
                "synthetic": 1,
            }
        )
        geoms.append(g)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)


def build_candidate_land(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    rows, geoms = [], []

    def add(kind: str, county, rng, radius: float, near_town: bool, **attrs):
        if near_town:
            t = town_point(county.geometry)
            x = t.x + rng.normal(0, 0.05)
            y = t.y + rng.normal(0, 0.04)
            if not shapely.contains_xy(county.geometry, x, y):
                x, y = t.x, t.y
        else:
            x, y = random_points_in(rng, county.geometry, 1)[0]
        g = polygonal(shapely.intersection(blob(rng, x, y, radius), county.geometry))
        if g is None:
            return
        n = sum(1 for r in rows if r["land_kind"] == kind) + 1
        rows.append(
            {
                "code": f"{kind[:3].upper()}{county.adcode}{n:03d}",
                "land_kind": kind,
                "land_kind_zh": LAND_KIND_ZH[kind],
                "name": f"{county.name}{LAND_KIND_ZH[kind]}{n}号",
                "county": county.adcode,
                "listing_status": attrs.get("listing_status", ""),
                "listed_on": attrs.get("listed_on", ""),
                "delisted_on": attrs.get("delisted_on", ""),
                "closed_year": attrs.get("closed_year", 0),
                "detail": attrs.get("detail", ""),
                "area_ha": 0.0,
                "remark": REMARK,
                "synthetic": 1,
            }
        )
        geoms.append(g)

    for county in counties.itertuples(index=False):
        rng = rng_for("candidate", county.adcode)
        city = county.adcode[:4]
        if city in COAL_CITIES:
            for _ in range(int(rng.integers(1, 4))):
                add("abandoned_mine", county, rng, rng.uniform(300, 900), False,
                    closed_year=int(rng.integers(2000, 2021)),
                    detail=["煤矿", "铁矿", "石灰岩矿", "铝土矿"][int(rng.integers(4))])
        datong_subsidence = county.city == "大同市" and county.name in ("云冈区", "左云县", "新荣区")
        if datong_subsidence or (city in COAL_CITIES and rng.random() < 0.3):
            for _ in range(int(rng.integers(2, 5)) if datong_subsidence else 1):
                add("coal_subsidence", county, rng, rng.uniform(1200, 3000), False,
                    detail="稳沉" if rng.random() < 0.7 else "未稳沉")
        if rng.random() < 0.25:
            add("closed_landfill", county, rng, rng.uniform(150, 350), True,
                closed_year=int(rng.integers(2008, 2023)))
        if rng.random() < 0.3:
            listed = rng.random() < 0.5
            year = int(rng.integers(2019, 2024))
            add("contaminated_plot", county, rng, rng.uniform(120, 400), True,
                listing_status="listed" if listed else "delisted",
                listed_on=f"{year}-06-30",
                delisted_on="" if listed else f"{year + int(rng.integers(1, 3))}-12-31",
                detail=["焦化厂旧址", "化工厂旧址", "电镀厂旧址", "农药厂旧址"][int(rng.integers(4))])
        if county.adcode in NINGXIA_DESERT_COUNTIES:
            for _ in range(3):
                add("desert_gobi", county, rng, rng.uniform(5000, 11000), False,
                    detail=NINGXIA_DESERT_COUNTIES[county.adcode])
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)
    gdf["area_ha"] = np.round(area_m2(gdf.geometry.values) / 1e4, 2)
    return gdf


def build_grid(counties: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Substations at county towns (110 kV), one 220 kV per city, a few 500 kV hubs per
    province; lines join each station to the nearest one of the next voltage up."""
    subs = []
    for county in counties.itertuples(index=False):
        rng = rng_for("grid", county.adcode)
        t = town_point(county.geometry)
        subs.append({"name": f"{county.name}110kV变电站", "voltage_kv": 110, "county": county.adcode,
                     "city": county.adcode[:4], "prov": county.adcode[:2],
                     "x": t.x + rng.normal(0, 0.02), "y": t.y + rng.normal(0, 0.02)})
    df = pd.DataFrame(subs)
    for city, grp in df.groupby("city", sort=True):
        i = grp.index[0]
        df.loc[i, "voltage_kv"] = 220
        df.loc[i, "name"] = df.loc[i, "name"].replace("110kV", "220kV")
    for prov, grp in df[df.voltage_kv == 220].groupby("prov", sort=True):
        for i in grp.index[:: 3]:
            df.loc[i, "voltage_kv"] = 500
            df.loc[i, "name"] = df.loc[i, "name"].replace("220kV", "500kV")
    lines = []
    xy = df[["x", "y"]].to_numpy()
    for lower, upper in ((110, 220), (220, 500)):
        up = df.index[(df.voltage_kv >= upper)].to_numpy()
        for i in df.index[df.voltage_kv == lower]:
            same_prov = up[df.loc[up, "prov"].to_numpy() == df.loc[i, "prov"]]
            j = same_prov[np.argmin(((xy[same_prov] - xy[i]) ** 2).sum(axis=1))]
            lines.append((i, j, upper))
    for prov, grp in df[df.voltage_kv == 500].groupby("prov", sort=True):
        idx = grp.sort_values("y").index.to_list()
        lines.extend((a, b, 500) for a, b in zip(idx, idx[1:]))
    df["synthetic"] = 1
    df["remark"] = REMARK
    stations = gpd.GeoDataFrame(
        df[["name", "voltage_kv", "county", "remark", "synthetic"]],
        geometry=shapely.points(xy), crs=STORAGE_CRS,
    )
    line_rows = [
        {"name": f"{df.loc[a, 'name'][:-3]}—{df.loc[b, 'name'][:-3]}线", "voltage_kv": kv,
         "remark": REMARK, "synthetic": 1}
        for a, b, kv in lines
    ]
    line_geoms = [shapely.LineString([xy[a], xy[b]]) for a, b, _ in lines]
    return stations, gpd.GeoDataFrame(line_rows, geometry=line_geoms, crs=STORAGE_CRS)


# --- land cover and infrastructure used by siting: settlements, water, roads, forest ------------

def build_settlements(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The county town (县城) as a 1.5–3.5 km patch at the town point, and 2–4 villages."""
    rows, geoms = [], []
    for county in counties.itertuples(index=False):
        rng = rng_for("settlement", county.adcode)
        t = town_point(county.geometry)
        places = [("县城", t.x, t.y, rng.uniform(1500, 3500))]
        for k, (x, y) in enumerate(random_points_in(rng, county.geometry, int(rng.integers(2, 5))), start=1):
            places.append((f"村庄{k}", x, y, rng.uniform(250, 650)))
        for label, x, y, r in places:
            g = polygonal(shapely.intersection(blob(rng, x, y, r, rough=0.25), county.geometry))
            if g is None:
                continue
            rows.append({"name": f"{county.name}{label}", "settlement_type": "county_town" if label == "县城" else "village",
                         "county": county.adcode, "remark": REMARK, "synthetic": 1})
            geoms.append(g)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)


def build_water(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reservoirs and lakes, 0–2 per county."""
    rows, geoms = [], []
    for county in counties.itertuples(index=False):
        rng = rng_for("water", county.adcode)
        for k, (x, y) in enumerate(random_points_in(rng, county.geometry, int(rng.integers(0, 3))), start=1):
            g = polygonal(shapely.intersection(blob(rng, x, y, rng.uniform(300, 1500), rough=0.5), county.geometry))
            if g is None:
                continue
            kind = "reservoir" if rng.random() < 0.6 else "lake"
            rows.append({"name": f"{county.name}{'水库' if kind == 'reservoir' else '湖泊'}{k}", "water_type": kind,
                         "county": county.adcode, "remark": REMARK, "synthetic": 1})
            geoms.append(g)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)


def build_roads(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Roads joining each county town to its two nearest neighbours in the province."""
    towns = np.array([[p.x, p.y] for p in (town_point(g) for g in counties.geometry)])
    names = counties.name.to_numpy()
    provs = counties.adcode.str[:2].to_numpy()
    seen, rows, geoms = set(), [], []
    for i in range(len(towns)):
        same = np.flatnonzero(provs == provs[i])
        same = same[same != i]
        if not len(same):
            continue
        d = ((towns[same] - towns[i]) ** 2).sum(axis=1)
        for j in same[np.argsort(d)[:2]]:
            key = (min(i, j), max(i, j))
            if key in seen:
                continue
            seen.add(key)
            rng = rng_for("road", names[key[0]], names[key[1]])
            a, b = towns[key[0]], towns[key[1]]
            mid = (a + b) / 2 + rng.normal(0, 0.03, 2)  # a gentle bend
            rows.append({"name": f"{names[key[0]]}—{names[key[1]]}公路",
                         "road_class": "national" if rng.random() < 0.3 else "provincial",
                         "remark": REMARK, "synthetic": 1})
            geoms.append(shapely.LineString([a, mid, b]))
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)


def build_forest(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Forest land, 2–5 patches per county: arbor (乔木林) or shrub (灌木林), protection level
    I–III (level I rare). PV may use forest only as 林光互补 and never level I; wind never arbor."""
    rows, geoms = [], []
    for county in counties.itertuples(index=False):
        rng = rng_for("forest", county.adcode)
        for k, (x, y) in enumerate(random_points_in(rng, county.geometry, int(rng.integers(2, 6))), start=1):
            g = polygonal(shapely.intersection(blob(rng, x, y, rng.uniform(800, 3500)), county.geometry))
            if g is None:
                continue
            arbor = rng.random() < 0.5
            level = "I" if rng.random() < 0.1 else ("II" if rng.random() < 0.4 else "III")
            rows.append({"name": f"{county.name}{'乔木林' if arbor else '灌木林'}{k}",
                         "forest_type": "arbor" if arbor else "shrub", "protection_level": level,
                         "county": county.adcode, "remark": REMARK, "synthetic": 1})
            geoms.append(g)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)


def build_drinking_water(water: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drinking-water source protection zones (饮用水水源保护区) around the synthetic reservoirs:
    一级 the reservoir and 200 m around it, 二级 out to 2 km, 准保护区 out to 4 km, each ring
    without the ones inside it and within the county. Real zones are drawn by the technical
    guideline HJ 338-2018 from each source's hydrology; these distances only look like them."""
    rows, geoms = [], []
    by_code = {c.adcode: c.geometry for c in counties.itertuples(index=False)}
    reservoirs = water[water.water_type == "reservoir"].reset_index(drop=True)
    for n, r in enumerate(reservoirs.itertuples(index=False), start=1):
        county = by_code[r.county]
        inner = None
        for level, metres in (("一级", 200.0), ("二级", 2000.0), ("准保护区", 4000.0)):
            ring = buffer_m(r.geometry, metres)
            zone = shapely.intersection(ring, county)
            if inner is not None:
                zone = shapely.difference(zone, inner)
            inner = ring if inner is None else shapely.union(inner, ring)
            zone = polygonal(zone)
            if zone is None:
                continue
            rows.append({"code": f"YYSY{r.county}{n:03d}{'12Z'[('一级', '二级', '准保护区').index(level)]}",
                         "name": f"{r.name}饮用水水源{level}{'保护区' if level != '准保护区' else ''}",
                         "zone_level": level, "source_type": "surface", "county": r.county,
                         "remark": REMARK, "synthetic": 1})
            geoms.append(zone)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)


def buffer_m(geom: shapely.Geometry, metres: float) -> shapely.Geometry:
    """A buffer of ``metres`` in a local equirectangular frame at the geometry's latitude."""
    lat = shapely.get_y(shapely.centroid(geom))
    kx, ky = 111_320.0 * np.cos(np.radians(lat)), 110_574.0
    local = shapely.transform(geom, lambda xy: xy * [kx, ky])
    return shapely.transform(shapely.buffer(local, metres, quad_segs=8), lambda xy: xy / [kx, ky])


def build_cultivated_land(units: gpd.GeoDataFrame, farmland: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Cultivated land (耕地): the permanent basic farmland, which is cultivated land set aside
    for ever, and further general cultivated land (一般耕地) in the key and general units, cut
    clear of the basic farmland."""
    out = [{"code": r.code, "category": "永久基本农田", "county": r.county, "remark": REMARK, "synthetic": 1}
           for r in farmland.itertuples(index=False)]
    geoms = list(farmland.geometry)
    rows, patches = _patches_in(units[units.ZHGKDYFL.isin([2, 3])], "cultivated", 0.8, (500.0, 1500.0),
                                per_unit=(1, 3))
    basic = np.asarray(farmland.geometry, dtype=object)
    tree = shapely.STRtree(basic)  # cut by the farmland it touches, not by all of it (national set)
    for n, (r, g) in enumerate(zip(rows, patches), start=1):
        near = tree.query(g, predicate="intersects")
        g = polygonal(shapely.difference(g, shapely.union_all(basic[near]))) if len(near) else polygonal(g)
        if g is None:
            continue
        out.append({"code": f"GD{r['county']}{n:05d}", "category": "一般耕地", "county": r["county"],
                    "remark": REMARK, "synthetic": 1})
        geoms.append(g)
    return gpd.GeoDataFrame(out, geometry=geoms, crs=STORAGE_CRS)


def build_urban_boundaries(settlements: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The urban development boundary (城镇开发边界) of each county town: its built-up patch and
    1–3 km of planned growth around it, within the county."""
    rows, geoms = [], []
    by_code = {c.adcode: c.geometry for c in counties.itertuples(index=False)}
    towns = settlements[settlements.settlement_type == "county_town"]
    for t in towns.itertuples(index=False):
        rng = rng_for("urban", t.county)
        g = polygonal(shapely.intersection(buffer_m(t.geometry, rng.uniform(1000, 3000)), by_code[t.county]))
        if g is None:
            continue
        rows.append({"code": f"CZKFBJ{t.county}", "name": t.name.replace("县城", "") + "城镇开发边界",
                     "county": t.county, "remark": REMARK, "synthetic": 1})
        geoms.append(g)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=STORAGE_CRS)
