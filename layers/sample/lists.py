"""SYNTHETIC access lists (生态环境准入清单) for Shanxi and Ningxia, at four levels.

Written in the style of the provinces' published lists (province-wide requirements, a
regional list for the part of the Fenwei Plain in Shanxi and Ningxia's cities along the
Yellow River, one list per city, one per control unit), with the province's own column names
(mapped by the catalog), every item labelled synthetic in its source. Not official text.

``build_access_lists`` writes the canonical one-row-per-item table; ``prose_table`` the same
units' lists as provinces usually deliver them (one row per unit, a whole dimension's text per
cell) for ``zoning lists suggest`` to structure.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from layers.sample.synthetic import FENWEI_2023_SHANXI

# the province's column names -> canonical (layers/catalogs/sample.yaml maps them the same way)
COLUMNS = {"条目编号": "item_id", "清单层级": "level", "适用范围": "scope", "管控维度": "dimension",
           "行业代码": "industries", "建设性质": "actions", "产品": "products", "规模": "scale",
           "准入要求": "verdict", "条目内容": "text", "依据": "source", "状态": "status"}
SOURCE = "（合成示例 synthetic）{doc}"
HEAVY = "C2511;C252;C26;C30;C31;C32;C3391;D4411;D4412"  # 重污染工业, as the urban rule names them
# Yellow River cities of Ningxia (沿黄城市带): 银川, 石嘴山, 吴忠, 中卫
NINGXIA_YELLOW_RIVER_CITIES = ("640100", "640200", "640300", "640500")

PROVINCE_ITEMS = {
    "140000": ("SX", "山西省生态环境准入清单（省级总体要求）", [
        ("空间布局约束", "C2521", "new;expand", "", "conditional",
         "新建、扩建焦化项目须实施产能等量或减量置换，并布设在依法设立的产业园区。"),
        ("空间布局约束", "C3011;C3041", "new;expand", "clinker;float_glass", "prohibited",
         "禁止新建、扩建单纯新增产能的水泥熟料、平板玻璃项目。"),
        ("污染物排放管控", "", "", "", "conditional",
         "新建、改建、扩建项目主要污染物排放实行区域削减替代，削减量来源须明确。"),
        ("环境风险防控", "C321", "new;expand", "", "conditional",
         "涉重金属重点行业建设项目实行重金属污染物排放等量或减量替代。"),
        ("资源开发效率要求", "D4411", "new", "coal_fired", "conditional",
         "新建燃煤发电项目原则上采用60万千瓦及以上超超临界机组，煤耗达到国内先进水平。"),
    ]),
    "640000": ("NX", "宁夏回族自治区生态环境准入清单（区级总体要求）", [
        ("空间布局约束", "C3140;C2521", "new;expand", "", "prohibited",
         "严禁新增铁合金、焦炭产能；确有必要的，须实施产能减量置换。"),
        ("空间布局约束", "C2523;C2522", "new;expand", "", "conditional",
         "新建、扩建煤制油、煤制气等现代煤化工项目须布设在宁东能源化工基地并落实煤炭减量替代。"),
        ("污染物排放管控", "", "", "", "conditional",
         "新建项目严格执行重点污染物排放总量控制，实行倍量削减替代。"),
        ("资源开发效率要求", "", "", "", "conditional",
         "严格控制高耗水项目，新建项目用水效率达到国内先进水平，禁止挤占生态用水。"),
    ]),
}

REGION_ITEMS = [
    ("SX-R1", "140000", [f"{p}00" for p in FENWEI_2023_SHANXI], "汾渭平原（山西部分）区域生态环境准入清单", [
        ("空间布局约束", "C31;C2521;C3216;C3011;C3041", "new;expand", "electrolytic_aluminium;clinker;float_glass",
         "prohibited", "区域内严禁新增钢铁、焦化、电解铝、水泥熟料和平板玻璃（不含光伏压延玻璃）等产能。"),
        ("污染物排放管控", "", "", "", "conditional",
         "新建涉气项目执行大气污染物特别排放限值，主要大气污染物实行倍量削减替代。"),
    ]),
    ("NX-R1", "640000", list(NINGXIA_YELLOW_RIVER_CITIES), "宁夏沿黄城市带区域生态环境准入清单", [
        ("空间布局约束", "C2621", "new;expand", "", "prohibited",
         "沿黄城市带禁止新建、扩建以煤为原料的合成氨及氮肥项目。"),
        ("环境风险防控", "", "", "", "conditional",
         "沿黄河岸线布局的项目须编制突发环境事件应急预案，落实事故废水截留措施，确保不入黄河。"),
    ]),
]


def _city_items(city: pd.Series) -> list[tuple]:
    scope = city.adcode
    return [
        (f"{scope}/2", "空间布局约束", "D4430", "new", "coal_fired", "prohibited",
         f"{city['name']}重点管控单元内禁止新建每小时35蒸吨及以下燃煤锅炉。", "<=35 蒸吨/h"),
        (scope, "污染物排放管控", "", "", "", "conditional",
         f"{city['name']}建设项目施工扬尘落实“六个百分之百”防控要求。"),
    ]


def _unit_items(unit) -> list[tuple]:
    """A unit's own list, after its class and subtype (as the prose in its attributes says)."""
    if unit.ZHGKDYFL == 1:
        return [("空间布局约束", "B;C", "new;expand", "", "prohibited", "禁止新建、扩建工业和矿产开发项目，现有工业企业有序退出。"),
                ("环境风险防控", "N772", "new;expand", "", "prohibited", "禁止布局危险废物贮存、处置设施。"),
                ("资源开发效率要求", "", "", "", "conditional", "严格控制开发强度，禁止毁林开垦、开山采石等破坏生态的活动。")]
    if unit.GKDYZL == "产业集聚":
        return [("空间布局约束", "C251;C252;C26;C32;C3041", "new;expand", "", "conditional",
                 "新建、扩建石化、焦化、化工、有色金属冶炼、平板玻璃项目须布设在依法合规设立并经规划环评的产业园区。"),
                ("污染物排放管控", "", "", "", "conditional", "新建项目主要污染物实行等量或倍量削减替代。"),
                ("环境风险防控", "", "", "", "conditional", "涉有毒有害物质的企业落实防渗措施和隐患排查，编制突发环境事件应急预案。")]
    if unit.ZHGKDYFL == 2:
        return [("空间布局约束", HEAVY, "new;expand", "", "prohibited", "城市建成区禁止新建、扩建重污染工业项目。"),
                ("资源开发效率要求", "", "", "", "conditional", "高污染燃料禁燃区内禁止燃用高污染燃料。")]
    return [("空间布局约束", "C25;C26;C31;C32", "new;expand", "", "conditional",
             "限制新建三类工业项目，确需建设的须论证环境可行性并满足区域削减要求。"),
            ("环境风险防控", "", "", "", "conditional", "严格管控类耕地依法划定特定农产品禁止生产区域。")]


def build_access_lists(units: gpd.GeoDataFrame, admin: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    """The canonical table (one row per item), with the province's column names."""
    rows: list[dict] = []

    def add(item_id, level, scope, item, doc):
        """``item``: (dimension, industries, actions, products, verdict, text[, size condition])."""
        dimension, industries, actions, products, verdict, text, *scale = item
        rows.append({"item_id": item_id, "level": level, "scope": scope, "dimension": dimension,
                     "industries": industries, "actions": actions, "products": products,
                     "scale": scale[0] if scale else "", "verdict": verdict,
                     "text": text, "source": SOURCE.format(doc=doc), "status": "reviewed"})

    for province, (prefix, doc, items) in PROVINCE_ITEMS.items():
        for n, item in enumerate(items, start=1):
            add(f"{prefix}-P{n:02d}", "province", province, item, doc)
    for region_id, _, scope, doc, items in REGION_ITEMS:
        for n, item in enumerate(items, start=1):
            add(f"{region_id}-{n:02d}", "region", ";".join(scope), item, doc)
    cities = admin["city"]
    for city in cities[cities.province_adcode.isin(PROVINCE_ITEMS)].sort_values("adcode").itertuples(index=False):
        doc = f"{city.name}生态环境准入清单（市级）"
        for n, (scope, *item) in enumerate(_city_items(pd.Series(city._asdict())), start=1):
            add(f"C{city.adcode}-{n:02d}", "city", scope, item, doc)
    for unit in units.sort_values("HJZHGKDYBM").itertuples(index=False):
        doc = f"{unit.HJZHGKDYMC}（{unit.HJZHGKDYBM}）生态环境准入清单"
        for n, item in enumerate(_unit_items(unit), start=1):
            add(f"{unit.HJZHGKDYBM}-{n:02d}", "unit", unit.HJZHGKDYBM, item, doc)
    frame = pd.DataFrame(rows)
    return frame.rename(columns={v: k for k, v in COLUMNS.items()})


def prose_table(units: gpd.GeoDataFrame) -> pd.DataFrame:
    """The units' lists as provinces deliver them: one row per unit, one cell per dimension."""
    frame = pd.DataFrame(units.drop(columns=units.geometry.name)).sort_values("HJZHGKDYBM")
    return frame[["HJZHGKDYBM", "HJZHGKDYMC", "KJBJYS", "PWWPFGK", "HJFXFK", "ZYKFXLYQ"]].rename(columns={
        "HJZHGKDYBM": "环境管控单元编码", "HJZHGKDYMC": "环境管控单元名称", "KJBJYS": "空间布局约束",
        "PWWPFGK": "污染物排放管控", "HJFXFK": "环境风险防控", "ZYKFXLYQ": "资源开发效率要求"}).reset_index(drop=True)
