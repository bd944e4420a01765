"""The PostGIS backend against the embedded one: the same cases, the same answers. A real
PostgreSQL with PostGIS (127.0.0.1:5432, trust auth; `make browser` installs the PostGIS
package); a throwaway database per run. Under CI=true these tests never skip."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from layers.catalog import DEFAULT_CATALOG
from layers.query import parse_filter
from tests.conftest import LANZHOU, QINHUANGDAO, TAIYUAN, TANGSHAN, WENZHOU, square
from zoning.context import Judging
from zoning.judge import Project, judge
from zoning.site import parse_site


def test_same_layers_and_versions(store, pg_store):
    assert [(i.id, i.version, i.count, i.fields) for i in pg_store.layers()] == \
           [(i.id, i.version, i.count, i.fields) for i in store.layers()]
    for info in store.layers():
        a, b = store.coverage(info.id), pg_store.coverage(info.id)
        assert (a is None and b is None) or a.equals(b)


SITES = [(TANGSHAN, "C3120"), (TAIYUAN, "C3120"), (TAIYUAN, "D4416"), (QINHUANGDAO, "C3011"),
         (WENZHOU, "C3120"), (LANZHOU, "C2511"), ((106.2, 38.47), "D4416"), ((113.3, 40.1), "D4415"),
         ((111.0, 36.1), "C2521")]


@pytest.mark.parametrize(("where", "industry"), SITES)
def test_same_judgment(pg_store, rules, industries, where, industry, judging):
    site = parse_site(square(*where, 0.01))
    a = dataclasses.asdict(judge(judging, site, Project(industry)))
    b = dataclasses.asdict(judge(Judging(pg_store, rules, industries), site, Project(industry)))
    a.pop("assessed_at"), b.pop("assessed_at")
    assert a == b


def test_same_point_answers_and_bulk_queries(store, pg_store):
    from zoning.overlay import features_at

    rng = np.random.default_rng(7)
    pts = np.column_stack([rng.uniform(104.5, 114.3, 40), rng.uniform(35, 40.5, 40)])
    for lon, lat in pts[:10]:
        a, b = features_at(store, lon, lat), features_at(pg_store, lon, lat)
        assert {k: list(v.ids) for k, v in a.items()} == {k: list(v.ids) for k, v in b.items()}
    import shapely

    geoms = shapely.points(pts)
    for layer in ("control_units", "admin_county", "red_lines"):
        ea, eb = store.query(layer, geoms)
        pa, pb = pg_store.query(layer, geoms)
        assert sorted(zip(ea.tolist(), eb.tolist())) == sorted(zip(pa.tolist(), pb.tolist()))
    ea, eb = store.query("grid_lines", geoms, predicate="dwithin", distance=0.05)
    pa, pb = pg_store.query("grid_lines", geoms, predicate="dwithin", distance=0.05)
    assert sorted(zip(ea.tolist(), eb.tolist())) == sorted(zip(pa.tolist(), pb.tolist()))


@pytest.mark.parametrize(("layer", "text"), [
    ("control_units", "unit_class IN (1,2) AND city = '太原市'"),
    ("protected_areas", "name LIKE '%公园%'"),
    ("control_units", "unit_class BETWEEN 1 AND 2 AND NOT (province = '宁夏回族自治区')"),
    ("control_units", "unit_class <> 2 OR county_adcode = '640502'"),
    ("candidate_land", "listing_status IS NULL OR listing_status = 'listed'"),
    ("control_units", "S_INTERSECTS(geometry, POLYGON((112 37, 113 37, 113 38, 112 38, 112 37)))"),
])
def test_same_item_selection(store, pg_store, layer, text):
    node = parse_filter(text)
    for kwargs in ({"limit": 1000}, {"limit": 7, "offset": 3}, {"limit": 50, "bbox": (111, 36, 114, 39)}):
        a, b = store.select(layer, cql=node, **kwargs), pg_store.select(layer, cql=node, **kwargs)
        assert (a.matched, list(a.idx)) == (b.matched, list(b.idx))
    a = store.select(layer, equals={"synthetic": "1"}, limit=20)
    b = pg_store.select(layer, equals={"synthetic": "1"}, limit=20)
    assert (a.matched, list(a.idx)) == (b.matched, list(b.idx))


@pytest.mark.parametrize("replica, store_class", [(True, "PostGISReplicaStore"), (False, "PostGISStore")])
def test_the_service_runs_on_postgis(pg_store, pg_url, tmp_path, replica, store_class):
    """The app on ZONING_DATABASE_URL — answering from its in-memory replica (the default) or
    by SQL — answers /v1/assess, /v1/here and OGC items as the embedded app does."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    emb = create_app(Settings(state_dir=tmp_path / "a"))
    pgs = create_app(Settings(state_dir=tmp_path / "b", database_url=pg_url, postgis_replica=replica))
    body = {"site": square(*TAIYUAN), "project": {"industry": "C3120"}}
    with TestClient(emb) as a, TestClient(pgs) as b:
        assert type(b.app.state.services.store).__name__ == store_class
        ra, rb = a.post("/v1/assess", json=body).json(), b.post("/v1/assess", json=body).json()
        ra.pop("assessed_at"), rb.pop("assessed_at")
        assert ra == rb
        q = {"lon": 112.55, "lat": 37.87}
        assert a.get("/v1/here", params=q).json() == b.get("/v1/here", params=q).json()
        items = {"filter": "unit_class = 1", "limit": 5}
        ia = a.get("/ogc/collections/control_units/items", params=items).json()
        ib = b.get("/ogc/collections/control_units/items", params=items).json()
        ia.pop("timeStamp", None), ib.pop("timeStamp", None)
        assert ia["features"] == ib["features"] and ia["numberMatched"] == ib["numberMatched"]


def test_cli_loads_postgis(pg_url):
    r = subprocess.run([sys.executable, "-m", "app.cli", "load-postgis", "--url", pg_url],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert '"control_units": 909' in r.stdout
    bad = subprocess.run([sys.executable, "-m", "app.cli", "load-postgis", "--url",
                          "postgresql://postgres@127.0.0.1:1/none"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("error:")


@pytest.mark.parametrize(("layer", "z"), [("control_units", 10), ("admin_county", 7), ("red_lines", 9),
                                          ("grid_lines", 8), ("grid_substations", 9), ("candidate_land", 9)])
def test_tiles_by_st_asmvt_match_the_embedded_tiles(store, pg_store, layer, z):
    import gzip

    import mapbox_vector_tile
    import morecantile
    import shapely

    from layers.tiles import render

    t = morecantile.tms.get("WebMercatorQuad").tile(*TAIYUAN, z)
    def layers(tile):
        return {k: v for k, v in mapbox_vector_tile.decode(gzip.decompress(tile.data)).items() if v["features"]}

    a, b = layers(render(store, [layer], z, t.x, t.y)), layers(render(pg_store, [layer], z, t.x, t.y))
    assert set(a) == set(b)
    if not a:
        return
    fa = {f["properties"]["fid"]: f for f in a[layer]["features"]}
    fb = {f["properties"]["fid"]: f for f in b[layer]["features"]}
    assert fa.keys() == fb.keys() and b[layer]["extent"] == 4096
    for fid, f in fa.items():
        assert f["properties"] == fb[fid]["properties"]
        ga, gb = shapely.geometry.shape(f["geometry"]), shapely.geometry.shape(fb[fid]["geometry"])
        if ga.area > 100:  # polygons: the same shape to within simplification (px²)
            assert abs(ga.area - gb.area) <= 0.02 * ga.area + 50


def test_unknown_equality_property_is_a_filter_error(store, pg_store):
    from layers.query import InvalidFilter

    for s in (store, pg_store):
        with pytest.raises(InvalidFilter, match="nope"):
            s.select("control_units", equals={"nope": "1"})


def test_layer_versions_on_postgis(pg_database, store, tmp_path):
    """Publish, switch, rollback and as_of on the PostGIS backend: every instance on the same
    database sees the version in force; a request's snapshot keeps the version it started with;
    answers equal the embedded store's with the same version."""
    import io

    import geopandas as gpd

    from layers.ingest import Limits
    from layers.postgis import PostGISStore, load
    from layers.store import EmbeddedStore
    from layers.versions import LayerRegistry, publish, rollback, sync
    from zoning.overlay import features_at

    url = pg_database()
    registry = LayerRegistry.open(tmp_path, url)
    load(DEFAULT_CATALOG, url, registry=registry)
    a = PostGISStore.open(DEFAULT_CATALOG, url, registry=registry)
    b = PostGISStore.open(DEFAULT_CATALOG, url, registry=LayerRegistry.open(tmp_path, url))  # a second instance
    old = a.info("control_units").version
    code = str(features_at(a, *TAIYUAN)["control_units"].ids[0])
    gdf = gpd.read_file("data/sample/control_units.gpkg")
    gdf.loc[gdf["HJZHGKDYBM"] == code, "KJBJYS"] = "（新版）禁止新建钢铁项目。"
    buf = io.BytesIO()
    gdf.to_file(buf, driver="GPKG", layer="u")
    limits = Limits(max_features=100_000, max_vertices=50_000_000, max_vertices_per_feature=50_000_000,
                    max_bytes=500 * 2**20)
    before = a.snapshot()
    out = publish(a, "control_units", buf.getvalue(), "u.gpkg", actor="t", limits=limits)
    new = out["version"]
    assert a.info("control_units").version == new and before.info("control_units").version == old

    def text(s):
        return features_at(s, *TAIYUAN)["control_units"].row(0)["spatial_layout"]

    assert text(a) == "（新版）禁止新建钢铁项目。" and text(before) != text(a)
    assert sync(b) == ["control_units"] and b.info("control_units").version == new and text(b) == text(a)
    # the same version on the embedded store gives the same answers
    em = EmbeddedStore.open(DEFAULT_CATALOG, registry=LayerRegistry.open(tmp_path / "em", None))
    assert publish(em, "control_units", buf.getvalue(), "u.gpkg", actor="t", limits=limits)["version"] == new
    site = parse_site(square(*TAIYUAN, 0.01))
    from zoning.industries import load_industries
    from zoning.rules import load_rules

    rules, industries = load_rules(), load_industries()
    ja = dataclasses.asdict(judge(Judging(a, rules, industries), site, Project("C3120")))
    je = dataclasses.asdict(judge(Judging(em, rules, industries), site, Project("C3120")))
    ja.pop("assessed_at"), je.pop("assessed_at")
    assert ja == je
    # as_of yesterday: the catalog's version again
    import datetime as dt

    from layers.dates import CST, end_of_day

    then = a.as_of(end_of_day(dt.datetime.now(CST).date() - dt.timedelta(days=1)))
    assert then.info("control_units").version == old and text(then) == text(before)
    # another instance needs no version file for that: the tables are in the database
    (tmp_path / "layers").rename(tmp_path / "hidden")
    then_b = b.as_of(end_of_day(dt.datetime.now(CST).date() - dt.timedelta(days=1)))
    assert then_b.info("control_units").version == old and text(then_b) == text(before)
    (tmp_path / "hidden").rename(tmp_path / "layers")
    rollback(a, "control_units", old, actor="t")
    assert a.info("control_units").version == old and sync(b) == ["control_units"]
    assert b.info("control_units").version == old and text(b) == text(before)
    # a reload of the whole catalog keeps the version in force
    registry.activate("control_units", new, "t")
    load(DEFAULT_CATALOG, url, registry=registry)
    c = PostGISStore.open(DEFAULT_CATALOG, url, registry=registry)
    assert c.info("control_units").version == new and text(c) == "（新版）禁止新建钢铁项目。"
    for s in (a, b, c):
        s.close()
