"""The nationwide capacity rules, tested from the law's side.

国发〔2013〕41号 三（一）: no new capacity of steel, cement, electrolytic aluminium, flat glass or
ships may be approved or filed "以任何名义、任何方式", anywhere — not only in the key regions. New
capacity comes only by replacement, at the ratios of the replacement measures (cement clinker
2:1 in the key regions and 1.5:1 elsewhere, flat glass 1.25:1 and 1:1: 水泥玻璃行业产能置换实施办法
2024年本), and steel replacement is suspended since 2024-08-23 (工信厅原函〔2024〕327号). Grinding
stations, alumina, recycled aluminium, PV rolled glass, steel rolling (C3130) and marine equipment (C3734) are not that capacity.
"""

from __future__ import annotations

import pytest

from tests.conftest import TANGSHAN, square
from tests.test_access_lists import quiet_unit
from zoning.judge import Project, judge
from zoning.site import parse_site

OVERCAPACITY = [("C3011", "clinker"), ("C3041", "float_glass"), ("C3216", "electrolytic_aluminium"),
                ("C3120", "eaf_steel"), ("C3120", "bf_bof_steel"), ("C3110", None), ("C3731", None)]
NOT_THAT_CAPACITY = [("C3011", "grinding_station"), ("C3216", "alumina"), ("C3216", "recycled_aluminium"),
                     ("C3041", "pv_rolled_glass"), ("C3130", None), ("C3734", None)]


@pytest.fixture(scope="module")
def ningxia(judging):
    """A small site in a general unit of 银川, outside every key region (Ningxia is in none)."""
    _, site = quiet_unit(judging, "6401", "C3670")
    return site


def _in_key_region(a) -> bool:
    return any(z.layer_id == "key_regions" for z in a.zones)


@pytest.mark.parametrize("code, product", OVERCAPACITY)
def test_new_overcapacity_outside_the_key_regions_is_prohibited_without_replacement(judging, ningxia, code, product):
    a = judge(judging, ningxia, Project(code, "new", product))
    assert not _in_key_region(a)
    assert a.verdict == "prohibited", [(r.rule_id, r.verdict) for r in a.reasons]
    assert any(r.verdict == "prohibited" and r.clause["number"] == "国发〔2013〕41号" for r in a.reasons)
    assert judge(judging, ningxia, Project(code, "expand", product)).verdict == "prohibited"


@pytest.mark.parametrize("code, product", NOT_THAT_CAPACITY)
def test_what_is_not_overcapacity_is_not_prohibited_on_that_account(judging, ningxia, code, product):
    a = judge(judging, ningxia, Project(code, "new", product))
    assert a.verdict != "prohibited", [(r.rule_id, r.verdict) for r in a.reasons if r.verdict == "prohibited"]


def _conditions(a) -> str:
    return " ".join(r.summary["zh"] for r in a.reasons if r.verdict == "conditional")


@pytest.mark.parametrize("code, product, outside, inside", [
    ("C3011", "clinker", "1.5:1", "2:1"),
    ("C3041", "float_glass", "1:1", "1.25:1"),
])
def test_replacement_is_conditional_at_the_ratio_of_the_place(judging, ningxia, code, product, outside, inside):
    a = judge(judging, ningxia, Project(code, "new", product, capacity_replacement=True))
    assert a.verdict == "conditional", [(r.rule_id, r.verdict) for r in a.reasons]
    assert f"不低于{outside}" in _conditions(a) and f"不低于{inside}" not in _conditions(a)
    tangshan = judge(judging, parse_site(square(*TANGSHAN)), Project(code, "new", product, capacity_replacement=True))
    assert _in_key_region(tangshan)
    assert tangshan.verdict != "prohibited", [(r.rule_id, r.verdict) for r in tangshan.reasons]
    assert f"不低于{inside}" in _conditions(tangshan) and f"不低于{outside}" not in _conditions(tangshan)


def test_steel_by_replacement_is_conditional_on_a_plan_from_before_the_suspension(judging, ningxia):
    a = judge(judging, ningxia, Project("C3120", "new", capacity_replacement=True))
    assert a.verdict == "conditional"
    assert "2024年8月23日" in _conditions(a)


def test_pv_glass_needs_no_replacement_but_a_hearing(judging, ningxia):
    a = judge(judging, ningxia, Project("C3041", "new", "pv_rolled_glass"))
    assert a.verdict == "conditional" and "听证会" in _conditions(a)
