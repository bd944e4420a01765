"""The national industrial-structure catalogue (产业结构调整指导目录（2024年本）, 国家发展改革委令第7号,
in force 2024-02-01) as a national list that applies wherever the site is. The catalogue says:
"对属于限制类的新建项目，禁止投资。投资管理部门不予审批、核准，各金融机构不得发放贷款……不得办理有关手续";
淘汰类 items are barred for any project. An item the project's size decides is judged on the
capacity given, and is undetermined without it; an item that turns on a process the project
does not state is a requirement to check, never a silent permission."""

from __future__ import annotations

import pytest

from tests.conftest import LANZHOU, square  # 兰州: outside every control unit of the sample
from tests.test_access_lists import quiet_unit
from zoning.judge import Project, judge
from zoning.scale import Capacity
from zoning.site import parse_site


@pytest.fixture(scope="module", params=["ningxia_unit", "no_unit"])
def site(request, judging):
    if request.param == "ningxia_unit":
        return quiet_unit(judging, "6401", "C3670")[1]
    return parse_site(square(*LANZHOU, 0.002))


def _items(a):
    return {r.item["item_id"]: r for r in a.reasons if r.item and r.layer.id == "industry_catalogue"}


def test_a_small_particleboard_line_is_prohibited_anywhere(judging, site):
    a = judge(judging, site, Project("C2023", capacity=Capacity(3, "万m³/a")))
    item = _items(a)["CAT2024-R-01-02"]
    assert item.verdict == "prohibited" and a.verdict == "prohibited"
    assert item.layer.synthetic is False and "禁止投资" in item.clause["binds"]
    assert "限制类" in item.clause["document"]
    big = judge(judging, site, Project("C2023", capacity=Capacity(80_000, "m³/a")))
    assert "CAT2024-R-01-02" not in _items(big)
    unknown = judge(judging, site, Project("C2023"))
    assert _items(unknown)["CAT2024-R-01-02"].verdict == "undetermined"
    assert unknown.verdict != "permitted"


def test_rosin_below_the_threshold_is_prohibited_and_pine_resin_processing_is_a_check(judging, site):
    small = _items(judge(judging, site, Project("C2663", capacity=Capacity(500, "t/a"))))
    assert small["CAT2024-R-01-03a"].verdict == "prohibited"
    large = judge(judging, site, Project("C2663", capacity=Capacity(5000, "t/a")))
    assert "CAT2024-R-01-03a" not in _items(large)
    assert _items(large)["CAT2024-R-01-03b"].verdict == "conditional" and large.verdict != "permitted"


def test_small_coal_boilers_are_eliminated_everywhere(judging, site):
    small = judge(judging, site, Project("D4430", product="coal_fired", capacity=Capacity(8, "蒸吨/h")))
    assert _items(small)["CAT2024-E-BOILER-COAL-10T"].verdict == "prohibited" and small.verdict == "prohibited"
    for action in ("expand", "rebuild"):
        a = judge(judging, site, Project("D4430", action, "coal_fired", capacity=Capacity(8, "蒸吨/h")))
        assert _items(a)["CAT2024-E-BOILER-COAL-10T"].verdict == "prohibited"
    large = judge(judging, site, Project("D4430", product="coal_fired", capacity=Capacity(20, "蒸吨/h")))
    assert "CAT2024-E-BOILER-COAL-10T" not in _items(large)
    assert _items(large)["CAT2024-E-BOILER-FIXED-GRATE"].verdict == "conditional"
    heat_pump = judge(judging, site, Project("D4430", product="other_heat", capacity=Capacity(8, "蒸吨/h")))
    assert not _items(heat_pump)


def test_what_the_catalogue_does_not_name_is_not_touched(judging, site):
    for code in ("H6110", "I6550", "D4416"):
        assert not _items(judge(judging, site, Project(code)))
