"""Renewable siting: figures add up, constraints remove what they say, zonal means are exact,
setbacks reach across the area's edge, permits come from the judgment engine, exports."""

from __future__ import annotations

import io

import numpy as np
import pyogrio
import pytest
import shapely

from layers.raster import sample
from zoning.siting import SitingQuery, siting


@pytest.fixture(scope="module")
def ningxia_pv(client):
    r = client.post("/v1/siting", json={"adcode": "640000", "tech": "pv"})
    assert r.status_code == 200, r.text
    return r.json()


def test_candidates_are_ranked_and_their_figures_add_up(ningxia_pv):
    feats = ningxia_pv["features"]
    assert feats, "no PV candidates in Ningxia"
    assert [f["properties"]["rank"] for f in feats] == list(range(1, len(feats) + 1))
    scores = [f["properties"]["score"] for f in feats]
    assert scores == sorted(scores, reverse=True)
    for f in feats:
        p = f["properties"]
        assert p["capacity_mw"] == pytest.approx(p["usable_ha"] / 100 * 40, rel=1e-3)
        assert p["generation_mwh"] == pytest.approx(p["capacity_mw"] * p["mean_resource"] * 0.8, rel=1e-3, abs=1)
        assert p["mean_resource"] >= 1400 and p["grid_km"] <= 30 and p["mean_slope_deg"] <= 10
        assert p["verdict"] != "prohibited" and p["synthetic"] is True
        assert p["usable_ha"] / p["area_ha"] + sum(p["removed_share"].values()) == pytest.approx(1, abs=0.01)
    curve = ningxia_pv["supply_curve"]
    assert curve[-1]["cumulative_mw"] == pytest.approx(sum(f["properties"]["capacity_mw"] for f in feats), abs=0.1)
    total = sum(s["capacity_mw"] for s in ningxia_pv["summary"].values())
    assert total == pytest.approx(curve[-1]["cumulative_mw"], abs=0.1)
    assert ningxia_pv["notice"] and ningxia_pv["synthetic"]


def test_every_rejection_says_why(ningxia_pv):
    assert ningxia_pv["rejected"]
    for r in ningxia_pv["rejected"]:
        assert r["reasons"] and all(isinstance(x, str) and x for x in r["reasons"])
    kinds = {r["land_kind"] for r in ningxia_pv["rejected"]} | {f["properties"]["land_kind"] for f in ningxia_pv["features"]}
    considered = sum(s["considered"] for s in ningxia_pv["summary"].values())
    assert considered == len(ningxia_pv["rejected"]) + len(ningxia_pv["features"]) and kinds


def test_zonal_means_are_exact_at_polygon_edges(store, ningxia_pv):
    """Compare with a brute-force mean over a fine point lattice inside the usable geometry."""
    info = store.raster("ghi")
    for f in ningxia_pv["features"][:3]:
        geom = shapely.geometry.shape(f["geometry"])
        x0, y0, x1, y1 = geom.bounds
        xs, ys = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
        pts = shapely.points(xs.ravel(), ys.ravel())
        inside = shapely.contains(geom, pts)
        values = sample(info, xs.ravel()[inside], ys.ravel()[inside])
        assert f["properties"]["mean_resource"] == pytest.approx(np.nanmean(values), rel=0.003)


def test_listed_contaminated_plots_are_prohibited(client):
    loose = {"min_area_ha": 0, "max_slope_deg": 90, "min_resource": 0, "max_grid_km": 500,
             "setbacks_m": {"settlement": None, "water": None, "road": None, "basic_farmland": None}}
    r = client.post("/v1/siting", json={"adcode": "140000", "tech": "pv", "land_kinds": ["contaminated_plot"],
                                        **loose}).json()
    listed = [x for x in r["rejected"] if x["properties"].get("listing_status") == "listed"]
    assert listed and all(any("permit: prohibited" in s for s in x["reasons"]) for x in listed if x["usable_ha"])
    delisted = [f["properties"] for f in r["features"] if f["properties"]["properties"]["listing_status"] == "delisted"]
    assert delisted and all(p["verdict"] != "prohibited" for p in delisted)


def test_setbacks_remove_more_as_they_grow_and_reach_outside_the_area(store, judging):
    # a candidate near (not on) a red line: the area of interest is the candidate itself, so
    # the red line lies outside it, and still its setback removes land
    cand = store.layers_of_kind("candidate_land")[0].id
    reds = store.layers_of_kind("red_line")[0].id
    idx = np.arange(store.info(cand).count)
    geoms = store.geometries(cand, idx)
    red_tree = shapely.STRtree(store.geometries(reds, np.arange(store.info(reds).count)))
    pick = None
    for g in geoms:
        near = red_tree.query(g, predicate="dwithin", distance=0.01)
        if len(near) and not len(red_tree.query(g, predicate="intersects")):
            pick = g
            break
    assert pick is not None
    areas = []
    for setback in (0, 1000, 3000):
        out = siting(judging, SitingQuery(
            aoi=pick, tech="pv", setbacks_m={"red_line": setback}, min_area_ha=0, max_slope_deg=90,
            min_resource=0, max_grid_km=500))
        rows = out["candidates"] + out["rejected"]
        areas.append(sum(c.get("usable_ha", 0) for c in rows))
    assert areas[0] >= areas[1] >= areas[2] and areas[0] > areas[2]


@pytest.mark.parametrize(("body", "words"), [
    ({"tech": "pv"}, "exactly one"),
    ({"tech": "pv", "adcode": "999999"}, "not a province"),
    ({"tech": "pv", "adcode": "640000", "setbacks_m": {"roads": 100}}, "unknown layer kinds"),
    ({"tech": "pv", "adcode": "640000", "weights": {"resource": -1}}, "numbers from 0"),
    ({"tech": "solar", "adcode": "640000"}, "tech"),
])
def test_bad_siting_queries_get_422(client, body, words):
    r = client.post("/v1/siting", json=body)
    assert r.status_code == 422 and words in r.text


def test_exports_round_trip(client, ningxia_pv):
    links = ningxia_pv["links"]
    ids = [f["id"] for f in ningxia_pv["features"]]
    gj = client.get(links["export_geojson"].replace("http://testserver", "")).json()
    assert [f["id"] for f in gj["features"]] == ids
    gpkg = client.get(links["export_gpkg"].replace("http://testserver", ""))
    df = pyogrio.read_dataframe(io.BytesIO(gpkg.content))
    assert list(df["id"]) == ids and df.crs.to_epsg() == 4490
    text = client.get(links["export_csv"].replace("http://testserver", "")).content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("rank,id,land_kind") and len(text.splitlines()) == len(ids) + 1
    assert client.get(f"/v1/siting/{ningxia_pv['id']}").json()["supply_curve"] == ningxia_pv["supply_curve"]


def test_cli_siting_writes_the_candidates(tmp_path, client):
    import json
    import os
    import subprocess
    import sys

    out = tmp_path / "c.gpkg"
    r = subprocess.run([sys.executable, "-m", "app.cli", "siting", "--aoi", "640000", "--tech", "pv", "--out", str(out)],
                       capture_output=True, text=True, env={**os.environ, "ZONING_STATE_DIR": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    df = pyogrio.read_dataframe(out)
    api = client.post("/v1/siting", json={"adcode": "640000", "tech": "pv"}).json()
    assert list(df["id"]) == [f["id"] for f in api["features"]]
    assert json.loads(r.stdout)["summary"] == api["summary"]
    bad = subprocess.run([sys.executable, "-m", "app.cli", "siting", "--aoi", "999999", "--tech", "pv",
                          "--out", str(tmp_path / "x.csv")], capture_output=True, text=True)
    assert bad.returncode == 2 and "999999" in bad.stderr


def test_forest_land_makes_pv_and_wind_conditional(client, store):
    """Candidates overlapping forest get the 林光互补 condition (PV) or the forest-land approval
    (wind; the arbor-forest ban of 林资发〔2019〕17号 expired in 2024 and is not applied)."""
    loose = {"min_area_ha": 0, "max_slope_deg": 90, "min_resource": 0, "max_grid_km": 500}
    pv = client.post("/v1/siting", json={"adcode": "140000", "tech": "pv", **loose}).json()
    forest_rules = {r["rule_id"] for f in pv["features"] for r in f["properties"]["verdict_reasons"]
                    if r["rule_id"].startswith("land.pv_on")}
    assert "land.pv_on_forest" in forest_rules
    conditional = [f for f in pv["features"] if any(r["rule_id"] == "land.pv_on_forest"
                                                     for r in f["properties"]["verdict_reasons"])]
    assert conditional and all(f["properties"]["verdict"] == "conditional" for f in conditional)
    wind = client.post("/v1/siting", json={"adcode": "140000", "tech": "wind", **loose}).json()
    on_forest = [f for f in wind["features"] if any(r["rule_id"] == "land.wind_on_forest"
                                                    for r in f["properties"]["verdict_reasons"])]
    assert on_forest and all(f["properties"]["verdict"] in ("conditional", "undetermined") for f in on_forest)
    assert not any("wind_on_arbor_forest" in s for r in wind["rejected"] for s in r["reasons"])


def test_settlement_setbacks_follow_the_technology(client):
    pv = client.post("/v1/siting", json={"adcode": "140000", "tech": "pv"}).json()
    assert pv["parameters"]["setbacks_m"]["settlement"] == 100
    wind = client.post("/v1/siting", json={"adcode": "140000", "tech": "wind"}).json()
    assert wind["parameters"]["setbacks_m"]["settlement"] == 500
    off = client.post("/v1/siting", json={"adcode": "140000", "tech": "wind",
                                          "setbacks_m": {"settlement": None}}).json()
    assert "settlement" not in off["parameters"]["setbacks_m"]
    removed = lambda r: sum(x["removed_share"].get("settlement", 0) for x in  # noqa: E731
                            [f["properties"] for f in r["features"]] + r["rejected"])
    assert removed(wind) > 0 and removed(off) == 0


def test_stored_results_are_found_only_under_their_own_kind(client, ningxia_pv, reference_upload_id):
    assert client.get(f"/v1/assessments/{ningxia_pv['id']}").status_code == 404
    assert client.get(f"/v1/assessments/{ningxia_pv['id']}/report.html").status_code == 404
    assert client.get(f"/v1/siting/{reference_upload_id}").status_code == 404
    assert client.get(f"/v1/siting/{reference_upload_id}/export.csv").status_code == 404


@pytest.fixture
def reference_upload_id(client):
    from tests.test_uploads import geojson_bytes

    r = client.post("/v1/assess/upload", files={"file": ("a.geojson", geojson_bytes())}, data={"industry": "C3120"})
    return r.json()["id"]
