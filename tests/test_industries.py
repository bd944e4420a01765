"""The classification is the complete GB/T 4754-2017 table (with its 2019 amendment), loaded as
it is: every class is accepted and judged, codes whose meaning the amendment changed say so,
2011-edition codes are refused naming their successors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import TANGSHAN, square
from zoning.errors import UnknownIndustry
from zoning.industries import INDUSTRIES_FILE

ROOT = Path(__file__).parents[1]
TABLE = INDUSTRIES_FILE.with_name("gbt4754_2017.csv")
SHARED = ROOT.parent / "shared" / "data" / "gbt4754_2017.csv"  # the project's shared copy, where present


def test_the_table_is_loaded_as_it_is(industries):
    rows = list(csv.DictReader(TABLE.open(encoding="utf-8")))
    assert [(r["code"], r["name"]) for r in rows] == [(i.code, i.zh) for i in industries.industries]
    assert industries.counts == {"section": 20, "division": 97, "group": 473, "class": 1382}
    assert industries.coverage == "complete"
    if SHARED.exists():
        assert TABLE.read_bytes() == SHARED.read_bytes(), "zoning/gbt4754_2017.csv differs from the shared table"


def test_industries_answer_is_complete_with_traits_and_their_sources(client):
    body = client.get("/v1/industries").json()
    assert body["coverage"] == "complete" and body["counts"]["class"] == 1382
    assert len(body["industries"]) == 1972
    traits = {t["key"]: t for t in body["traits"]}
    assert {"two_high", "energy_intensive", "renewable", "pollution_treatment"} <= set(traits)
    assert all(t["source"] for t in traits.values())
    by_code = {i["code"]: i for i in body["industries"]}
    assert by_code["C2511"]["traits"] == {"two_high": "石化", "energy_intensive": True}
    assert by_code["N7724"]["traits"] == {"pollution_treatment": True}
    assert by_code["D4416"]["renewable"] == "pv"
    assert by_code["H6110"]["zh"] == "旅游饭店" and by_code["H6110"]["traits"] == {}


@pytest.mark.parametrize("code", ["H6110", "C2211", "I6550", "A0151", "A0152", "A0153", "A0154", "S9231"])
def test_classes_the_partial_table_lacked_are_judged(client, code):
    r = client.post("/v1/assess", json={"site": square(*TANGSHAN), "project": {"industry": code}})
    assert r.status_code == 200, r.text
    assert r.json()["project"]["industry_level"] == "class"


def test_a_code_the_2019_amendment_changed_says_so(client):
    r = client.post("/v1/assess", json={"site": square(*TANGSHAN), "project": {"industry": "S9232"}})
    project = r.json()["project"]
    assert project["industry_name"]["zh"] == "人民法院"
    assert "S9233" in project["industry_changed_2019"] and "2019" in project["industry_changed_2019"]
    r = client.post("/v1/assess", json={"site": square(*TANGSHAN), "project": {"industry": "C3120"}})
    assert r.json()["project"]["industry_changed_2019"] is None


def test_a_well_formed_code_the_standard_lacks_is_refused(industries):
    for code in ("C3019", "A0155", "S9234"):
        with pytest.raises(UnknownIndustry):
            industries.get(code)
    assert [u["code"] for u in industries.unknown_codes(["C3011", "C3019", "B0710", "X1"])] == ["C3019", "B0710", "X1"]
