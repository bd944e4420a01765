"""The Tibetan Plateau of 青藏高原生态保护法 第二条, drawn from the real boundaries: 西藏 and 青海
whole, the four Tibetan autonomous prefectures of 四川、云南、甘肃 as this service's reading, the rest
of the four provinces undecided; a project there meets the law's use controls (第十三条)."""

from __future__ import annotations

import numpy as np
import shapely

from tests.conftest import TAIYUAN, square
from zoning.judge import Project, judge
from zoning.site import parse_site

LHASA = (91.13, 29.65)
XINING = (101.78, 36.62)
KANGDING = (101.96, 30.05)   # 甘孜州
CHENGDU = (104.07, 30.67)    # 四川, outside the listed prefectures


def _reasons(judging, lonlat, code="C3670"):
    a = judge(judging, parse_site(square(*lonlat, 0.002)), Project(code))
    return a, {r.rule_id: r for r in a.reasons}


def test_the_extent_is_the_real_provinces_and_prefectures(store):
    info = store.info("tibetan_plateau")
    assert info.synthetic is False
    attrs = store.attributes("tibetan_plateau", np.arange(info.count))
    geoms = store.geometries("tibetan_plateau", np.arange(info.count))
    whole = dict(zip(attrs.member_id, geoms))
    provinces = store.attributes("admin_province", np.arange(store.info("admin_province").count))
    outlines = dict(zip(provinces.adcode, store.geometries("admin_province", np.arange(len(provinces)))))
    for adcode in ("540000", "630000"):
        assert shapely.equals_exact(whole[adcode], outlines[adcode], 1e-9) or \
            shapely.symmetric_difference(whole[adcode], outlines[adcode]).area < 1e-9
    assert set(attrs.membership) == {"whole_province", "listed", "undecided"}
    assert sorted(attrs.member_id[attrs.membership == "listed"]) == ["513200", "513300", "533400", "623000"]


def test_a_project_on_the_plateau_meets_the_use_controls_of_article_13(judging):
    for place in (LHASA, XINING, KANGDING):
        a, reasons = _reasons(judging, place)
        rule = reasons["plateau.land_use_control"]
        assert rule.verdict == "conditional" and rule.clause["article"] == "第十三条"
        assert "青藏高原国土空间开发利用活动应当符合国土空间用途管制要求" in rule.clause["text"]
        assert "plateau.extent_undecided" not in reasons
        assert a.verdict != "permitted"


def test_where_the_law_lists_no_county_membership_is_an_open_condition(judging):
    _, reasons = _reasons(judging, CHENGDU)
    assert "plateau.land_use_control" not in reasons
    assert reasons["plateau.extent_undecided"].clause["article"] == "第二条"


def test_off_the_plateau_the_law_says_nothing(judging):
    _, reasons = _reasons(judging, TAIYUAN)
    assert not any(rid.startswith("plateau.") for rid in reasons)
