"""Project scale: capacities, size conditions, and what the judge does with them.

A size condition the project's capacity cannot be compared with (none given, or in another
quantity) leaves the answer undetermined naming what is missing, never permitted. The sample's
city lists say "重点管控单元内禁止新建每小时35蒸吨及以下燃煤锅炉": a coal boiler of 20 t/h there is
prohibited, one of 75 t/h is not prohibited by it, a gas boiler is not concerned.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from tests.conftest import square
from zoning.errors import InvalidParameter
from zoning.judge import Project, judge
from zoning.scale import Capacity, Threshold
from zoning.site import parse_site


def test_units_convert_within_a_quantity_and_never_across():
    assert Threshold.parse(">=100 万t/a").check(Capacity(1_000_000, "t/a")) is True
    assert Threshold.parse(">100 万t/a").check(Capacity(1_000_000, "吨/年")) is False
    assert Threshold.parse("<=35 蒸吨/h").check(Capacity.parse("35 蒸吨/小时")) is True
    assert Threshold.parse("<35 蒸吨/h").check(Capacity(35, "蒸吨/h")) is False
    assert Threshold.parse("≥50 MW").check(Capacity(60_000, "kW")) is True
    open_question = Threshold.parse("<=35 蒸吨/h").check(Capacity(20, "t/h"))
    assert isinstance(open_question, str) and "蒸吨/h" in open_question
    assert "no capacity" in Threshold.parse("<=150 t/d").check(None)


@pytest.mark.parametrize("text", ["35", "蒸吨/h", "-3 MW", "35 furlongs", "nan MW", "1e5 MW"])
def test_a_capacity_that_does_not_parse_is_refused_naming_the_problem(text):
    with pytest.raises(InvalidParameter):
        Capacity.parse(text)


@pytest.fixture(scope="module")
def taiyuan_key_unit(judging):
    """A small site well inside a key-control unit (class 2) of 太原, where the city list's boiler item applies."""
    store = judging.store
    attrs = store.attributes("control_units", np.arange(store.info("control_units").count))
    for i in np.flatnonzero((attrs.unit_class.astype(str).to_numpy() == "2") & attrs.county_adcode.str.startswith("1401")):
        geom = store.geometries("control_units", np.array([i]))[0]
        p = shapely.point_on_surface(geom)
        site = parse_site(square(p.x, p.y, 0.0005))
        if shapely.contains(geom, site.geometry):
            return site
    raise AssertionError("no key-control unit in 太原")


def _boiler_item(a):
    return [r for r in a.reasons if r.item and r.item["item_id"] == "C140100-01"]


def test_a_small_coal_boiler_is_prohibited_a_large_one_is_not_by_that_item(judging, taiyuan_key_unit):
    small = judge(judging, taiyuan_key_unit, Project("D4430", product="coal_fired", capacity=Capacity(20, "蒸吨/h")))
    assert small.verdict == "prohibited" and [r.verdict for r in _boiler_item(small)] == ["prohibited"]
    assert _boiler_item(small)[0].item["scale"] == "≤35 蒸吨/h"
    large = judge(judging, taiyuan_key_unit, Project("D4430", product="coal_fired", capacity=Capacity(75, "蒸吨/h")))
    assert _boiler_item(large) == []
    gas = judge(judging, taiyuan_key_unit, Project("D4430", product="gas_fired", capacity=Capacity(20, "蒸吨/h")))
    assert _boiler_item(gas) == []


@pytest.mark.parametrize("capacity", [None, Capacity(100_000, "t/a")])
def test_a_boiler_of_unknown_size_is_undetermined_naming_what_is_missing(judging, taiyuan_key_unit, capacity):
    a = judge(judging, taiyuan_key_unit, Project("D4430", product="coal_fired", capacity=capacity))
    item = _boiler_item(a)
    assert [r.verdict for r in item] == ["undetermined"]
    assert "蒸吨/h" in item[0].note and a.verdict in ("undetermined", "prohibited")
    assert a.verdict != "permitted"


def test_capacity_over_http_is_checked_and_shown(client):
    body = {"site": square(112.55, 37.87), "project": {"industry": "D4430", "product": "燃煤锅炉",
                                                        "capacity": {"value": 20, "unit": "蒸吨/小时"},
                                                        "process": "循环流化床"}}
    r = client.post("/v1/assess", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["project"]["capacity"] == {"value": 20.0, "unit": "蒸吨/h"}
    assert r.json()["project"]["process"] == "循环流化床"
    for bad, word in (({"value": 20, "unit": "furlongs"}, "unit"), ({"value": "20", "unit": "MW"}, "value"),
                      ({"value": -1, "unit": "MW"}, "value"), ({"value": 1}, "unit")):
        r = client.post("/v1/assess", json={**body, "project": {**body["project"], "capacity": bad}})
        assert r.status_code == 422 and word in r.text, (bad, r.text)


def test_capacity_in_an_upload_form(client):
    ring = "lon,lat\n112.54,37.86\n112.56,37.86\n112.56,37.88\n112.54,37.88\n"  # one parcel, its corners
    files = {"file": ("site.csv", ring.encode(), "text/csv")}
    ok = client.post("/v1/assess/upload", files=files,
                     data={"industry": "D4430", "product": "coal_fired", "capacity": "20 蒸吨/h"})
    assert ok.status_code in (200, 201), ok.text
    bad = client.post("/v1/assess/upload", files=files, data={"industry": "D4430", "capacity": "twenty"})
    assert bad.status_code == 422 and "capacity" in bad.text


def test_a_size_condition_keeps_an_open_question_and_drops_only_what_the_size_rules_out():
    from zoning.judge import Reason, _sized

    def reason(verdict):
        return Reason("r", verdict, {"zh": "条", "en": "rule"}, {}, None)

    small = Threshold.parse("<=35 蒸吨/h")
    kept = _sized([reason("undetermined"), reason("prohibited"), reason("permitted")], small, None)
    assert [r.verdict for r in kept] == ["undetermined", "undetermined"]  # the uncovered one stays open
    assert _sized([reason("prohibited")], small, Capacity(75, "蒸吨/h")) == []
    assert [r.verdict for r in _sized([reason("prohibited")], small, Capacity(20, "蒸吨/h"))] == ["prohibited"]
