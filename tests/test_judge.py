"""The judgment over real places and the synthetic layers, without HTTP."""

import numpy as np
import pytest
import shapely

from tests.conftest import LANZHOU, QINHUANGDAO, TAIYUAN, TANGSHAN, WENZHOU, interior_point, square
from zoning.errors import InvalidParameter, UnknownIndustry
from zoning.judge import Project, judge, judge_hits
from zoning.overlay import overlay
from zoning.site import parse_site
from zoning.vocabulary import SEVERITY


@pytest.fixture(scope="module")
def run(judging):
    def _run(site, industry, action="new", product=None, edition="2023"):
        if isinstance(site, tuple):
            site = square(*site)
        return judge(judging, parse_site(site), Project(industry, action, product), edition)

    return _run


def rule_ids(a, verdict=None):
    return {r.rule_id for r in a.reasons if verdict is None or r.verdict == verdict}


def _all(store, layer_id):
    idx = np.arange(store.info(layer_id).count)
    return store.attributes(layer_id, idx), store.geometries(layer_id, idx)


def test_new_steel_in_tangshan_is_prohibited_citing_the_key_region_clause(run, store):
    a = run(TANGSHAN, "C3120")
    assert a.verdict == "prohibited"
    reason = next(r for r in a.reasons if r.rule_id == "key_region.capacity_ban")
    assert reason.verdict == "prohibited"
    assert reason.clause["number"] == "环综合〔2022〕42号"
    assert "严禁新增钢铁" in reason.clause["text"]
    assert reason.layer.id == "key_regions"
    assert reason.layer.version == store.info("key_regions").version
    assert reason.features[0].properties["region"] == "京津冀及周边地区"
    assert reason.features[0].share == pytest.approx(1.0)
    assert a.synthetic is False and a.notice is None  # only real layers speak in 唐山


@pytest.mark.parametrize("product", ["光伏压延玻璃", "pv_rolled_glass", "PV glass", "光伏玻璃"])
def test_pv_glass_in_tangshan_is_not_caught_by_the_ban(run, product):
    a = run(TANGSHAN, "C3041", product=product)
    assert "key_region.capacity_ban" not in rule_ids(a)
    assert a.project["product"] == "pv_rolled_glass"
    # float glass is, and so is flat glass whose product is not stated (it may be float)
    assert "key_region.capacity_ban" in rule_ids(run(TANGSHAN, "C3041", product="浮法玻璃"))
    unstated = next(r for r in run(TANGSHAN, "C3041").reasons if r.rule_id == "key_region.capacity_ban")
    assert "浮法平板玻璃" in unstated.note and "光伏压延玻璃" not in unstated.note


@pytest.mark.parametrize("industry, product", [
    ("C3011", "grinding_station"),      # 粉磨站: no clinker capacity
    ("C3216", "recycled_aluminium"),    # 再生铝: promoted by the plan's 三（八）
    ("C3216", "alumina"),               # the clause names 电解铝 only
])
def test_products_the_key_region_ban_does_not_name_pass_it(run, industry, product):
    assert "key_region.capacity_ban" not in rule_ids(run(TANGSHAN, industry, product=product))


@pytest.mark.parametrize("industry, product", [("C3011", "clinker"), ("C3216", "electrolytic_aluminium"),
                                               ("C3120", "eaf_steel"), ("C3120", "bf_bof_steel")])
def test_banned_capacity_in_a_key_region_is_prohibited(run, industry, product):
    a = run(TANGSHAN, industry, product=product)
    assert a.verdict == "prohibited" and "key_region.capacity_ban" in rule_ids(a, "prohibited")


def test_an_unknown_product_lists_the_vocabulary(run):
    with pytest.raises(InvalidParameter, match="eaf_steel"):
        run(TANGSHAN, "C3120", product="不锈钢")
    with pytest.raises(InvalidParameter, match="no product vocabulary"):
        run(TANGSHAN, "C3130", product="螺纹钢")


def test_new_steel_is_banned_nationwide_unless_built_by_capacity_replacement(judging):
    site = parse_site(square(*LANZHOU))  # outside every key region
    new = judge(judging, site, Project("C3120"))
    assert new.verdict == "prohibited" and "capacity.steel_ban" in rule_ids(new, "prohibited")
    assert next(r for r in new.reasons if r.rule_id == "capacity.steel_ban").clause["number"] == "国发〔2023〕24号"
    replaced = judge(judging, site, Project("C3120", capacity_replacement=True))
    assert replaced.verdict != "prohibited" and "capacity.replacement" in rule_ids(replaced, "conditional")
    assert replaced.project["capacity_replacement"] is True
    # in a key region too: replaced capacity is not new capacity
    tangshan = judge(judging, parse_site(square(*TANGSHAN)), Project("C3120", capacity_replacement=True))
    assert tangshan.verdict != "prohibited"


def test_captive_coal_plants_are_banned(judging):
    site = parse_site(square(*LANZHOU))
    captive = judge(judging, site, Project("D4411", product="coal_fired", captive=True))
    assert "capacity.captive_coal_plant" in rule_ids(captive, "prohibited")
    gas = judge(judging, site, Project("D4411", product="gas_fired", captive=True))
    assert "capacity.captive_coal_plant" not in rule_ids(gas)


def test_cement_in_lanzhou_is_not_in_a_key_region(run):
    a = run(LANZHOU, "C3011")
    assert "key_region.capacity_ban" not in rule_ids(a)
    # new clinker capacity is banned everywhere (国发〔2013〕41号), key region or not
    assert a.verdict == "prohibited"
    # no zoning layer of ours covers Gansu: restricting rules cannot be judged
    assert "red_line.development_ban" in rule_ids(a, "undetermined")
    assert run(LANZHOU, "C3011", product="grinding_station").verdict == "undetermined"


def test_rebuild_without_new_capacity_is_not_banned(run):
    assert "key_region.capacity_ban" not in rule_ids(run(TANGSHAN, "C3120", action="rebuild"))


@pytest.mark.parametrize(
    ("place", "industry", "in_2018", "in_2023"),
    [
        (QINHUANGDAO, "C3120", False, True),  # added to 京津冀及周边 in 2023
        (WENZHOU, "C3011", True, False),  # 长三角 2018 only
        (TANGSHAN, "C3216", True, True),
    ],
)
def test_edition_changes_the_answer_where_lists_differ(run, place, industry, in_2018, in_2023):
    assert ("key_region.capacity_ban" in rule_ids(run(place, industry, edition="2018"))) is in_2018
    assert ("key_region.capacity_ban" in rule_ids(run(place, industry, edition="2023"))) is in_2023


def test_taiyuan_region_name_follows_the_edition(run):
    r18 = next(r for r in run(TAIYUAN, "C2521", edition="2018").reasons if r.rule_id == "key_region.capacity_ban")
    r23 = next(r for r in run(TAIYUAN, "C2521", edition="2023").reasons if r.rule_id == "key_region.capacity_ban")
    assert r18.features[0].properties["region"] == "京津冀及周边地区"
    assert r23.features[0].properties["region"] == "汾渭平原"


def test_casting_ban_belongs_to_the_2018_edition_only(run):
    assert "key_region.casting_ban_2018" in rule_ids(run(TANGSHAN, "C3391", edition="2018"))
    assert "key_region.casting_ban_2018" not in rule_ids(run(TANGSHAN, "C3391", edition="2023"))


def test_site_in_a_synthetic_red_line_is_prohibited_for_industry(run, store, judging):
    _, red = _all(store, "red_lines")
    lon, lat = interior_point(red[0])
    a = run((lon, lat, 0.0005), "C3670")
    assert a.verdict == "prohibited"
    reason = next(r for r in a.reasons if r.rule_id == "red_line.development_ban")
    assert reason.layer.synthetic and reason.clause["number"] == "自然资发〔2022〕142号"
    assert a.synthetic is True and "synthetic" in a.notice["en"].lower()
    # wind and PV are not on the allowed list either
    assert "red_line.development_ban" in rule_ids(run((lon, lat, 0.0005), "D4416"))
    # ecological restoration is allowed; linear infrastructure is conditional
    assert "red_line.development_ban" not in rule_ids(run((lon, lat, 0.0005), "N7711"))
    assert "red_line.limited_activities" in rule_ids(run((lon, lat, 0.0005), "E4812"), "conditional")
    # waste and pollution-treatment plants are not protection or restoration
    for code in ("N7723", "N7724", "N772"):
        assert "red_line.development_ban" in rule_ids(run((lon, lat, 0.0005), code), "prohibited")
    # a claimed state major project goes to the State Council: conditional, and shown
    major = judge(judging, parse_site(square(lon, lat, 0.0005)),
                  Project("N7723", major_project=True))
    assert major.project["major_project"] is True
    assert "red_line.major_project" in rule_ids(major, "conditional")
    by_rules = [r for r in major.reasons if r.item is None]
    assert max(by_rules, key=lambda r: SEVERITY[r.verdict]).verdict == "conditional"
    # the claim does not lift the priority unit's own access list: its item forbids waste plants
    listed = [r for r in major.reasons if r.item is not None and r.verdict == "prohibited"]
    assert major.verdict == "prohibited" and listed and all("N772" in r.item["industries"] for r in listed)


def test_priority_unit_quotes_the_units_own_access_list(run, store):
    attrs, geoms = _all(store, "control_units")
    _, red = _all(store, "red_lines")
    i = int(np.flatnonzero(attrs.unit_class.to_numpy() == 1)[3])
    lon, lat = interior_point(geoms[i], shapely.union_all(red))
    a = run((lon, lat, 0.0005), "C3670")
    reason = next(r for r in a.reasons if r.rule_id == "control_unit.priority_industrial")
    assert reason.clause["text"] == attrs.iloc[i].spatial_layout
    assert attrs.iloc[i].code in reason.clause["document"]


def test_pv_on_basic_farmland_is_prohibited(run, store):
    _, farm = _all(store, "basic_farmland")
    lon, lat = interior_point(farm[10])
    a = run((lon, lat, 0.0003), "D4416")
    assert "land.pv_on_basic_farmland" in rule_ids(a, "prohibited")
    assert a.verdict == "prohibited"
    assert "land.pv_on_basic_farmland" not in rule_ids(run((lon, lat, 0.0003), "D4415"))


def _candidate(store, **where):
    attrs, geoms = _all(store, "candidate_land")
    mask = np.ones(len(attrs), bool)
    for k, v in where.items():
        mask &= attrs[k].to_numpy() == v
    return geoms[np.flatnonzero(mask)[0]]


def test_listed_contaminated_plot_blocks_unrelated_projects(run, store):
    lon, lat = interior_point(_candidate(store, land_kind="contaminated_plot", listing_status="listed"))
    a = run((lon, lat, 0.0002), "K7010")
    assert "land.contaminated_plot_listed" in rule_ids(a, "prohibited")
    assert "land.contaminated_plot_listed" not in rule_ids(run((lon, lat, 0.0002), "N7726"))
    lon, lat = interior_point(_candidate(store, land_kind="contaminated_plot", listing_status="delisted"))
    assert "land.contaminated_plot_listed" not in rule_ids(run((lon, lat, 0.0002), "K7010"))
    assert "land.renewables_on_degraded_land" in rule_ids(run((lon, lat, 0.0002), "D4416"), "permitted")


def test_desert_is_encouraged_for_pv(run, store):
    avoid = shapely.union_all([*_all(store, "red_lines")[1], *_all(store, "basic_farmland")[1],
                               *_all(store, "protected_areas")[1]])
    lon, lat = interior_point(_candidate(store, land_kind="desert_gobi"), avoid)
    a = run((lon, lat, 0.002), "D4416")
    assert "land.renewables_on_desert" in rule_ids(a, "permitted")
    assert a.verdict in ("permitted", "conditional")


def test_two_high_park_requirement(run, store):
    attrs, parks = _all(store, "industrial_parks")
    i = int(np.flatnonzero(attrs.planning_eia.to_numpy() == "yes")[0])
    lon, lat = interior_point(parks[i])
    inside = run((lon, lat, 0.0005), "C2614")
    assert "two_high.park_required" not in rule_ids(inside)
    j = int(np.flatnonzero(attrs.planning_eia.to_numpy() == "no")[0])
    lon, lat = interior_point(parks[j])
    no_eia = run((lon, lat, 0.0005), "C2614")
    assert "two_high.park_required" in rule_ids(no_eia, "conditional")


def test_permitted_needs_every_layer_to_speak(run, store, judging):
    """A light-industry site in a general unit in Ningxia, away from every restricting
    feature, is permitted; the same project outside our zoning coverage is undetermined."""
    attrs, units = _all(store, "control_units")
    avoid = shapely.union_all([
        *_all(store, "red_lines")[1], *_all(store, "basic_farmland")[1],
        *_all(store, "protected_areas")[1], *_all(store, "candidate_land")[1],
        *units[attrs.unit_class.to_numpy() != 3],
    ])
    i = int(np.flatnonzero((attrs.unit_class.to_numpy() == 3) & attrs.county_adcode.str.startswith("64"))[0])
    lon, lat = interior_point(units[i], avoid)
    a = run((lon, lat, 0.0005), "C3670")
    # no rule restricts it; the unit's access lists add only their uncoded requirements
    assert a.verdict == "conditional", [(r.rule_id, r.verdict) for r in a.reasons]
    assert a.reasons and all(r.item is not None and not r.item["industries"] for r in a.reasons)
    assert {r.item["level"] for r in a.reasons} >= {"province", "city", "unit"}
    bare = judge_hits(judging.rules, judging.industries, a_site := parse_site(square(lon, lat, 0.0005)),
                      Project("C3670"), overlay(store, a_site))
    assert bare.verdict == "permitted" and bare.reasons == []  # without the lists: nothing at all
    assert run(LANZHOU, "C3670").verdict == "undetermined"


def test_verdict_is_the_most_severe_reason(run):
    a = run(TAIYUAN, "C3120")
    order = ["permitted", "conditional", "undetermined", "prohibited"]
    assert a.verdict == max((r.verdict for r in a.reasons), key=order.index)


def test_overlap_areas_are_metric_and_shares_sum(run):
    a = run(TAIYUAN, "C3670")
    assert a.site["area_crs"] == "EPSG:4547"  # CM 114°E is nearest 112.55°E
    county_share = sum(z.share for z in a.admin if z.layer_id == "admin_county")
    assert county_share == pytest.approx(1.0, abs=1e-4)
    unit_area = sum(z.overlap_m2 for z in a.zones if z.layer_id == "control_units")
    assert unit_area == pytest.approx(a.site["area_m2"], rel=1e-4)
    assert 0.9e6 < a.site["area_m2"] < 1e6  # a 0.01° square at 37.9°N


def test_unknown_industry_and_parameters(run):
    with pytest.raises(UnknownIndustry, match="X1234"):
        run(TANGSHAN, "X1234")
    with pytest.raises(InvalidParameter, match="2020"):
        run(TANGSHAN, "C3120", edition="2020")


def test_drinking_water_zones_follow_articles_65_to_67(run, store):
    """水污染防治法: in a first-level zone only water works (第六十五条); in a second-level zone no
    project that discharges pollutants (第六十六条); in a quasi zone no new severe water
    polluter, and a rebuild may not add discharge (第六十七条). Each reason cites its article and
    the layer version, and says the zones are synthetic."""
    attrs, geoms = _all(store, "drinking_water")
    level = attrs.zone_level.to_numpy()

    def at(zone: str, code: str, action: str = "new"):
        lon, lat = interior_point(geoms[np.flatnonzero(level == zone)[0]])
        return run((lon, lat, 0.0002), code, action)

    first = at("一级", "D4416")  # even PV: it is no water-supply work
    reason = next(r for r in first.reasons if r.rule_id == "drinking_water.first_level")
    assert first.verdict == "prohibited" and reason.clause["article"] == "第六十五条"
    assert reason.layer.id == "drinking_water" and reason.layer.version == store.info("drinking_water").version
    assert reason.layer.synthetic
    assert at("一级", "D46").verdict == "conditional"
    assert "drinking_water.second_level_discharging" in rule_ids(at("二级", "C2614", "rebuild"), "prohibited")
    assert "drinking_water.second_level_other" in rule_ids(at("二级", "D4416"), "conditional")
    assert "drinking_water.quasi_severe" in rule_ids(at("准保护区", "C22"), "prohibited")
    rebuilt = at("准保护区", "C22", "rebuild")
    assert "drinking_water.quasi_severe" not in rule_ids(rebuilt)
    assert "drinking_water.quasi_severe_rebuild" in rule_ids(rebuilt, "conditional")


def test_pv_arrays_may_not_occupy_cultivated_land(run, store):
    """自然资办发〔2023〕12号: 光伏方阵用地不得占用耕地 — general cultivated land too, not only the
    permanent basic farmland; wind is not named, and crops are what the land is for."""
    attrs, geoms = _all(store, "cultivated_land")
    _, farmland = _all(store, "basic_farmland")
    general = geoms[np.flatnonzero(attrs.category.to_numpy() == "一般耕地")[0]]
    lon, lat = interior_point(general, shapely.union_all(farmland))
    pv = run((lon, lat, 0.0002), "D4416")
    reason = next(r for r in pv.reasons if r.rule_id == "land.pv_array_on_cultivated_land")
    assert pv.verdict == "prohibited" and reason.clause["number"] == "自然资办发〔2023〕12号"
    assert "land.pv_array_on_cultivated_land" not in rule_ids(run((lon, lat, 0.0002), "D4415"))
    assert "land.pv_array_on_cultivated_land" not in rule_ids(run((lon, lat, 0.0002), "A0111"))


def test_heavy_polluters_stay_out_of_the_urban_development_boundary(run, store):
    """环综合〔2022〕42号 三（四）: 依法加快城市建成区重污染企业搬迁改造或关闭退出 — the boundary
    stands for the built-up area; a new coking plant there is prohibited, rooftop PV is not."""
    _, geoms = _all(store, "urban_boundaries")
    lon, lat = interior_point(geoms[0])
    coke = run((lon, lat, 0.0002), "C2521")
    reason = next(r for r in coke.reasons if r.rule_id == "urban.heavy_polluters_in_built_up_area")
    assert coke.verdict == "prohibited" and reason.clause["number"] == "环综合〔2022〕42号"
    assert reason.layer.id == "urban_boundaries"
    assert "urban.heavy_polluters_in_built_up_area" not in rule_ids(run((lon, lat, 0.0002), "D4416"))


def test_chemicals_on_the_yellow_river_shore_are_prohibited(run, store):
    """黄河保护法: no new or expanded chemical project within the shore control range. The belt
    along 晋陕峡谷 is derived from the real Shanxi–Shaanxi boundary, which is the river there."""
    attrs, belts = _all(store, "river_shores")
    js = belts[int(np.flatnonzero(attrs.code.to_numpy() == "HH-JS-AX")[0])]
    assert attrs.synthetic.iloc[0] == 0 and "derived" in attrs.derivation.iloc[0]
    lon, lat = shapely.get_coordinates(shapely.point_on_surface(js))[0]
    on_shore = run((lon, lat, 0.0005), "C2614")
    reason = next(r for r in on_shore.reasons if r.rule_id == "river.yellow_river_chemical_shore_ban")
    assert reason.verdict == "prohibited" and reason.clause["document"] == "中华人民共和国黄河保护法"
    assert reason.features[0].feature_id == "HH-JS-AX" and on_shore.verdict == "prohibited"
    assert "river_shores" in {z.layer_id for z in on_shore.zones}
    # rebuilding is not new or expanded; wind is no chemical project
    assert "river.yellow_river_chemical_shore_ban" not in rule_ids(run((lon, lat, 0.0005), "C2614", "rebuild"))
    assert "river.yellow_river_chemical_shore_ban" not in rule_ids(run((lon, lat, 0.0005), "D4415"))
    # 1 km is the range: 3 km inland (east of the river, in Shanxi) the rule does not fire
    away = run((lon + 0.035, lat, 0.0005), "C2614")
    assert "river.yellow_river_chemical_shore_ban" not in rule_ids(away)


def test_industry_in_a_key_ecological_function_area_is_conditional(run, store):
    attrs, zones = _all(store, "main_function_zones")
    eco = zones[attrs.zone_type.to_numpy() == "ecological"]
    hits = 0
    for g in eco:
        lon, lat = interior_point(g)
        a = run((lon, lat, 0.0005), "C3670")
        if "main_function.ecological_area_industry" in rule_ids(a, "conditional"):
            hits += 1
        assert "main_function.ecological_area_industry" not in rule_ids(run((lon, lat, 0.0005), "D4415"))
    assert hits == len(eco)
    urban = zones[attrs.zone_type.to_numpy() == "urbanised"][0]
    assert "main_function.ecological_area_industry" not in rule_ids(run((*interior_point(urban), 0.0005), "C3670"))


def test_the_yangtze_rule_applies_wherever_a_yangtze_shore_is_loaded(tmp_path, rules, industries):
    """长江保护法 第二十六条: no new or expanded chemical project within 1 km of the shores. The
    sample has no Yangtze; a shore layer version holding a (hypothetical, test-only) Yangtze belt
    is published, and the rule fires on it; rolled back, it is gone."""
    import io

    import geopandas as gpd

    from app.service import Live
    from app.settings import Settings
    from layers.catalog import DEFAULT_CATALOG
    from layers.store import EmbeddedStore
    from layers.versions import LayerRegistry

    live = Live(EmbeddedStore.open(DEFAULT_CATALOG, registry=LayerRegistry.open(tmp_path, None)), rules, industries)
    ids, frame, geoms = live.store.layer_data("river_shores")
    belt = shapely.box(112.50, 37.80, 112.52, 37.82)
    extra = {**frame.iloc[0].to_dict(), "code": "CJ-TEST-AX", "name": "长江（测试）岸线", "river": "长江",
             "reach": "test", "derivation": "test only", "synthetic": 1}
    gdf = gpd.GeoDataFrame([*frame.to_dict(orient="records"), extra], geometry=[*geoms, belt], crs=4490)
    buf = io.BytesIO()
    gdf.to_file(buf, driver="GPKG", layer="shores")
    old = live.store.info("river_shores").version
    live.publish_layer("river_shores", buf.getvalue(), "shores.gpkg", actor="t", limits=Settings().layer_limits())
    site = parse_site(square(112.51, 37.81, 0.0005))
    a = judge(live.judging(), site, Project("C2614"))
    reason = next(r for r in a.reasons if r.rule_id == "river.yangtze_chemical_shore_ban")
    assert reason.verdict == "prohibited" and reason.clause["document"] == "中华人民共和国长江保护法"
    assert "river.yellow_river_chemical_shore_ban" not in rule_ids(a)
    live.rollback_layer("river_shores", old, actor="t")
    assert "river.yangtze_chemical_shore_ban" not in rule_ids(judge(live.judging(), site, Project("C2614")))
