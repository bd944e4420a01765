"""The guard: what the law allows at each kind of restricted place, checked against every code
of the classification.

The table below is written from the legal texts, not read from the rules files: for each kind
of place, which industries the law prohibits there (the verdict may not be milder than
``prohibited``) and which it allows (the verdict may not be ``prohibited`` on account of that
place). Every code of the classification, at every level, is judged at a point inside each
kind, and any answer outside the bounds fails. A code above class level stands for every class
under it, so it is bound by the strictest of them. Finally, a restrictive layer that appears
under a site never makes the verdict milder.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import shapely

from tests.conftest import TANGSHAN, interior_point
from zoning.judge import Project, judge_hits
from zoning.overlay import overlay
from zoning.site import parse_site
from zoning.vocabulary import SEVERITY

RESTRICTIVE = {"red_line", "protected_area", "basic_farmland", "candidate_land", "key_region", "drinking_water",
               "cultivated_land", "urban_boundary", "river_shore", "main_function_zone"}
# a point for one place lies in none of these others (the key regions restrict only capacity
# industries, which no ceiling below is about; main functional zones cover every county and
# only make industry conditional in ecological areas, never prohibited)
ISOLATING = RESTRICTIVE - {"key_region", "main_function_zone"}

# 自然资发〔2022〕142号 一: the limited activities allowed in a red line outside core zones —
# protection, restoration, research, surveying, monitoring (1, 8), residents' farming, grazing
# and fishing (2), plantation tending (4), modest tourism (5), linear infrastructure, flood
# control and water supply (6), geological survey (7).
RED_LINE_ALLOWED = ("N771", "M73", "M744", "M746", "M747", "A01", "A02", "A03", "A04", "N786",
                    "E481", "E482", "E485", "D4420")
# 中办发〔2019〕42号: a core zone bans human activity save protection management and monitoring.
CORE_ALLOWED = ("N771", "M746")
# 土地管理法 第三十五、三十七条: permanent basic farmland keeps crop farming; orchards, nurseries,
# fish ponds and every construction are other uses.
FARMING = ("A011", "A012", "A013", "A0141", "A0142", "A017")
# 水污染防治法 第六十五条: a first-level drinking-water zone takes only works for the water supply
# and for protecting the source; 第六十六条: a second-level zone no project that discharges
# pollutants (mining and manufacturing always do); 第六十七条: a quasi-protection zone no new
# severe water polluter (paper, chemicals, coking: those local rules name first). Wind and PV
# discharge nothing, so the second and quasi zones never prohibit them on that account.
WATER_WORKS = ("D46", "N7721")
SEVERE_WATER_POLLUTERS = ("C22", "C26", "C2521")


def inside(code: str, prefixes: tuple[str, ...]) -> bool:
    """Every class of ``code`` lies under one of ``prefixes``."""
    return code.startswith(prefixes)


def touches(code: str, prefixes: tuple[str, ...]) -> bool:
    """Some class of ``code`` lies under one of ``prefixes``."""
    return any(code.startswith(p) or p.startswith(code) for p in prefixes)


@dataclasses.dataclass(frozen=True)
class Bound:
    place: str
    floor: object    # code -> the mildest verdict the law allows there, or None
    allowed: object  # code -> True where the law allows it there (never prohibited on that account)
    project: dict = dataclasses.field(default_factory=dict)


def prohibited_if(test):
    return lambda c: "prohibited" if test(c) else None


BOUNDS = [
    Bound("red_line", prohibited_if(lambda c: not touches(c, RED_LINE_ALLOWED) or c[0] in "BC"
                                    or c.startswith("N772")),
          lambda c: inside(c, ("N771", "M73", "M746"))),
    Bound("protected_core", prohibited_if(lambda c: not inside(c, CORE_ALLOWED)), lambda c: False),
    Bound("protected_general", prohibited_if(lambda c: c[0] in "BCK" or c.startswith(("D441", "N772"))),
          lambda c: inside(c, ("N771", "N786", "M746"))),
    Bound("natural_park", prohibited_if(lambda c: c[0] in "BCK" or c.startswith(("D441", "N772"))),
          lambda c: inside(c, ("N771", "N786", "M746"))),
    Bound("basic_farmland", prohibited_if(lambda c: not inside(c, FARMING)), lambda c: inside(c, FARMING)),
    # the state major-project path goes to the State Council: at least conditional; PV never
    # (自然资办发〔2023〕12号 "一律不得")
    Bound("basic_farmland",
          lambda c: "prohibited" if c.startswith("D4416") else (None if inside(c, FARMING) else "conditional"),
          lambda c: inside(c, FARMING), {"major_project": True}),
    Bound("priority_unit", prohibited_if(lambda c: c[0] in "BC" or c.startswith(("D4411", "D4412"))),
          lambda c: False),
    Bound("listed_contaminated_plot", prohibited_if(lambda c: not c.startswith("N7726")), lambda c: False),
    # 环综合〔2022〕42号 三（五） in the key regions; 国发〔2023〕24号 二（三） bans new steel everywhere
    Bound("key_region", prohibited_if(lambda c: c.startswith(("C311", "C312", "C2521", "C2511"))),
          lambda c: False),
    Bound("degraded_land", lambda c: None, lambda c: inside(c, ("D4415", "D4416"))),
    # 自然资办发〔2023〕12号: PV arrays may not occupy cultivated land; farming is what it is for
    Bound("cultivated_land", prohibited_if(lambda c: inside(c, ("D4416",))), lambda c: inside(c, (*FARMING, "D4415"))),
    # 环综合〔2022〕42号 三（四）: heavy polluters leave city built-up areas (the development boundary
    # stands for it); rooftop PV and the grid are what a city builds
    Bound("urban_boundary", prohibited_if(lambda c: inside(c, ("C31", "C32", "C2511", "C252", "C26", "D4411"))),
          lambda c: inside(c, ("D4416", "D4420"))),
    # 黄河保护法: no new or expanded chemical project within the shore control range; wind, PV and
    # farming are not chemical projects
    Bound("yellow_river_shore", prohibited_if(lambda c: inside(c, ("C251", "C252", "C26"))),
          lambda c: inside(c, ("D4415", "D4416", "A01"))),
    # key ecological function areas: strict entry, restricted development (限制开发) — industry and
    # mining at least conditional, never prohibited on that account alone
    Bound("ecological_function_area", lambda c: "conditional" if c[0] in "BC" else None,
          lambda c: inside(c, ("D4415", "D4416", "N771"))),
    Bound("drinking_water_first", prohibited_if(lambda c: not touches(c, WATER_WORKS)), lambda c: False),
    Bound("drinking_water_second", prohibited_if(lambda c: c[0] in "BC"), lambda c: inside(c, ("D4415", "D4416"))),
    Bound("drinking_water_quasi", prohibited_if(lambda c: inside(c, SEVERE_WATER_POLLUTERS)),
          lambda c: inside(c, ("D4415", "D4416"))),
]


def _features(store, layer_id):
    idx = np.arange(store.info(layer_id).count)
    return store.attributes(layer_id, idx), store.geometries(layer_id, idx)


PLACES = {
    "red_line": ("red_lines", lambda a: np.ones(len(a), bool)),
    "protected_core": ("protected_areas", lambda a: (a["zone"] == "core").to_numpy()),
    "protected_general": ("protected_areas", lambda a: (a["zone"] == "general").to_numpy()),
    "natural_park": ("protected_areas", lambda a: (a["zone"] == "natural_park").to_numpy()),
    "basic_farmland": ("basic_farmland", lambda a: np.ones(len(a), bool)),
    "priority_unit": ("control_units", lambda a: (a["unit_class"].astype(str) == "1").to_numpy()),
    "listed_contaminated_plot": ("candidate_land", lambda a: ((a["land_kind"] == "contaminated_plot")
                                                              & (a["listing_status"] == "listed")).to_numpy()),
    "degraded_land": ("candidate_land", lambda a: a["land_kind"].isin(
        ["abandoned_mine", "coal_subsidence", "closed_landfill", "desert_gobi"]).to_numpy()),
    "cultivated_land": ("cultivated_land", lambda a: (a["category"] == "一般耕地").to_numpy()),
    "urban_boundary": ("urban_boundaries", lambda a: np.ones(len(a), bool)),
    "yellow_river_shore": ("river_shores", lambda a: (a["river"] == "黄河").to_numpy()),
    "ecological_function_area": ("main_function_zones", lambda a: (a["zone_type"] == "ecological").to_numpy()),
    "drinking_water_first": ("drinking_water", lambda a: (a["zone_level"] == "一级").to_numpy()),
    "drinking_water_second": ("drinking_water", lambda a: (a["zone_level"] == "二级").to_numpy()),
    "drinking_water_quasi": ("drinking_water", lambda a: (a["zone_level"] == "准保护区").to_numpy()),
}


# a place that lies inside another kind by its nature: a protected area in a red line, permanent
# basic farmland in the cultivated land
ALSO = {"protected_areas": {"red_line"}, "basic_farmland": {"cultivated_land"}}


def _touching(store, layer_id, geom):
    _, idx = store.query(layer_id, np.array([geom], dtype=object))
    return list(store.geometries(layer_id, np.unique(idx)))


def _point(store, lon, lat):
    site = parse_site({"type": "Point", "coordinates": [lon, lat]})
    return site, overlay(store, site)


@pytest.fixture(scope="module")
def places(store):
    """Per kind of place, a point inside it with its overlay; the point lies in no other
    restrictive layer, so a bound on what the law allows there is not confused with another
    place's (a protected area may lie in a red line)."""
    out = {"key_region": _point(store, *TANGSHAN)}
    for place, (layer_id, select) in PLACES.items():
        attrs, geoms = _features(store, layer_id)
        own = {store.info(layer_id).kind} | ALSO.get(layer_id, set())
        others = [i.id for i in store.layers() if i.kind in ISOLATING - own]
        for g in geoms[select(attrs)][:40]:
            site, hits = _point(store, *interior_point(g))
            if not {h.info.kind for h in hits.values() if len(h)} & ISOLATING <= own:
                # a large place (a county) holds other places: step clear of those it touches
                near = [g2 for lid in others for g2 in _touching(store, lid, g)]
                if not near or shapely.difference(shapely.buffer(g, -0.003), shapely.buffer(
                        shapely.union_all(near), 0.003)).is_empty:
                    continue
                site, hits = _point(store, *interior_point(g, shapely.union_all(near)))
            if {h.info.kind for h in hits.values() if len(h)} & ISOLATING <= own:
                out[place] = (site, hits)
                break
        assert place in out, f"no clean point inside {place} in the sample data"
    return out


def test_every_code_stays_within_the_law_at_every_kind_of_place(places, rules, industries):
    codes = [i.code for i in industries.industries]
    assert len(codes) == 20 + 97 + 473 + 1382, "the guard runs over the whole classification"
    failures = []
    for b in BOUNDS:
        site, hits = places[b.place]
        for code in codes:
            a = judge_hits(rules, industries, site, Project(code, "new", **b.project), hits)
            floor = b.floor(code)
            name = f"{b.place}{b.project or ''}: {code} {industries.by_code[code].zh}"
            if floor and SEVERITY[a.verdict] < SEVERITY[floor]:
                failures.append(f"{name} is {a.verdict}; the law allows no milder than {floor}")
            if b.allowed(code) and a.verdict == "prohibited":
                failures.append(f"{name} is prohibited though the law allows it: "
                                + ", ".join(r.rule_id for r in a.reasons if r.verdict == "prohibited"))
    assert not failures, f"{len(failures)} answers outside the law:\n" + "\n".join(failures[:40])


def test_a_restrictive_layer_under_a_site_never_makes_the_verdict_milder(places, rules, industries):
    # every class: a code above class level is judged by the strictest of its classes (each rule
    # and item fires for it when it fires for one of them), so it is as monotone as they are
    codes = [i.code for i in industries.industries if i.level == "class"]
    assert len(codes) == 1382
    failures = []
    for place, (site, hits) in places.items():
        with_all = {code: judge_hits(rules, industries, site, Project(code), hits).verdict for code in codes}
        for layer_id, h in hits.items():
            if h.info.kind not in RESTRICTIVE | {"control_unit"} or not len(h):
                continue
            bare = {**hits, layer_id: h.without_features(covered=True)}
            for code in codes:
                with_layer = with_all[code]
                without = judge_hits(rules, industries, site, Project(code), bare).verdict
                if SEVERITY[with_layer] < SEVERITY[without]:
                    failures.append(f"{place}: {code} is {with_layer} with {layer_id}, {without} without")
    assert not failures, "\n".join(failures[:40])


# Products and claims the law tells apart (环综合〔2022〕42号 三（五）、三（六）、三（八）;
# 国发〔2023〕24号 二（三）): (industry, project fields, floor, allowed) at a key-region point.
PRODUCT_BOUNDS = [
    ("C3011", {"product": "clinker"}, "prohibited", False),
    ("C3011", {"product": "grinding_station"}, None, True),          # no clinker capacity
    ("C3216", {"product": "electrolytic_aluminium"}, "prohibited", False),
    ("C3216", {"product": "recycled_aluminium"}, None, True),        # promoted, 三（八）
    ("C3041", {"product": "float_glass"}, "prohibited", False),
    ("C3041", {"product": "pv_rolled_glass"}, None, True),           # 不含光伏玻璃
    ("C3120", {"product": "eaf_steel"}, "prohibited", False),        # new capacity all the same
    ("C3120", {"capacity_replacement": True}, "conditional", True),  # replaced, not new
    ("D4411", {"product": "coal_fired", "captive": True}, "prohibited", False),
    ("D4411", {"product": "gas_fired", "captive": True}, None, True),
]


@pytest.mark.parametrize("code, fields, floor, allowed", PRODUCT_BOUNDS)
def test_products_and_claims_stay_within_the_law(places, rules, industries, code, fields, floor, allowed):
    site, hits = places["key_region"]
    a = judge_hits(rules, industries, site, Project(code, "new", **fields), hits)
    if floor:
        assert SEVERITY[a.verdict] >= SEVERITY[floor], a.reasons
    if allowed:
        assert a.verdict != "prohibited", [r.rule_id for r in a.reasons if r.verdict == "prohibited"]
