"""The store contract (:class:`layers.store.LayerStore`), run unchanged against every backend.

Expected answers come from the sample files themselves, read here with geopandas and tested
with plain shapely, not from another store: a backend keeps the contract when it answers as
the data says. The PostGIS backend runs on a real PostgreSQL (see ``pg_database``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from layers.catalog import DEFAULT_CATALOG, load_catalog
from layers.dates import CST, end_of_day
from layers.errors import NotFound
from layers.query import InvalidFilter, parse_filter
from layers.store import EmbeddedStore, LayerStore, UnknownLayer

BACKENDS = ["embedded", "postgis", "postgis-replica"]
CATALOG, DATA_DIR = load_catalog(DEFAULT_CATALOG)
VECTOR = [e for e in CATALOG.layers if e.kind != "raster"]


def source(layer_id: str) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """A layer's features as its file holds them (EPSG:4490) and their ids."""
    entry = next(e for e in CATALOG.layers if e.id == layer_id)
    gdf = gpd.read_file(Path(DATA_DIR) / entry.source, layer=entry.source_layer).to_crs(4490)
    gdf = gdf[~gdf.geometry.is_empty & gdf.geometry.notna()].reset_index(drop=True)
    by_canonical = {v: k for k, v in entry.fields.items()}
    if entry.id_field:
        ids = gdf[by_canonical.get(entry.id_field, entry.id_field)].astype(str).to_numpy()
    else:
        ids = np.array([str(i + 1) for i in range(len(gdf))], dtype=object)
    return gdf, ids


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> LayerStore:
    if request.param == "embedded":
        return request.getfixturevalue("store")
    return request.getfixturevalue("pg_store" if request.param == "postgis" else "pg_replica")


def random_points(n: int, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return shapely.points(np.column_stack([rng.uniform(104.5, 114.3, n), rng.uniform(35, 40.5, n)]))


def test_lists_the_catalogs_layers_with_their_counts(backend):
    assert sorted(i.id for i in backend.layers()) == sorted(e.id for e in VECTOR)
    assert sorted(i.id for i in backend.rasters()) == sorted(e.id for e in CATALOG.layers if e.kind == "raster")
    for layer_id in ("control_units", "red_lines", "grid_lines"):
        gdf, _ = source(layer_id)
        info = backend.info(layer_id)
        assert info.count == len(gdf) and info.entry == backend.entry(layer_id)
    assert backend.loaded_at is not None and backend.loaded_at <= dt.datetime.now(dt.UTC)
    for ask in (backend.info, backend.entry, backend.raster):
        with pytest.raises(UnknownLayer) as exc:
            ask("no_such_layer")
        assert isinstance(exc.value, NotFound) and exc.value.status == 404
    assert backend.is_raster(backend.rasters()[0].id) and not backend.is_raster("control_units")


@pytest.mark.parametrize("layer_id", ["control_units", "admin_county", "red_lines", "protected_areas"])
def test_query_finds_exactly_the_features_each_geometry_touches(backend, layer_id):
    gdf, ids = source(layer_id)
    probes = np.concatenate([random_points(60), shapely.buffer(random_points(10, seed=9), 0.05)])
    si, fi = backend.query(layer_id, probes)
    got = {(int(s), str(f)) for s, f in zip(si, backend.feature_ids(layer_id, fi))}
    tree = shapely.STRtree(gdf.geometry.to_numpy())
    a, b = tree.query(probes, predicate="intersects")
    assert got == {(int(s), str(ids[f])) for s, f in zip(a, b)}
    empty = backend.query(layer_id, np.array([], dtype=object))
    assert len(empty[0]) == len(empty[1]) == 0


def test_envelope_finds_the_features_whose_bounding_box_meets_each_geometry(backend):
    gdf, ids = source("red_lines")
    # diamonds: their boxes reach past them, so boxes meet features the diamonds miss
    probes = np.concatenate([shapely.buffer(random_points(30, seed=4), 0.08, quad_segs=1), random_points(10, seed=6)])
    si, fi = backend.query("red_lines", probes, predicate="envelope")
    got = {(int(s), str(f)) for s, f in zip(si, backend.feature_ids("red_lines", fi))}
    boxes = shapely.envelope(gdf.geometry.to_numpy())
    meet = shapely.intersects(shapely.envelope(probes)[:, None], boxes[None, :])
    assert got == {(int(s), str(ids[f])) for s, f in zip(*np.nonzero(meet))}
    si, fi = backend.query("red_lines", probes)
    exact = {(int(s), str(f)) for s, f in zip(si, backend.feature_ids("red_lines", fi))}
    assert exact < got


def test_dwithin_takes_a_distance_in_degrees(backend):
    gdf, ids = source("grid_lines")
    probes = random_points(40)
    si, fi = backend.query("grid_lines", probes, predicate="dwithin", distance=0.05)
    got = {(int(s), str(f)) for s, f in zip(si, backend.feature_ids("grid_lines", fi))}
    d = shapely.distance(probes[:, None], gdf.geometry.to_numpy()[None, :])
    assert got == {(int(s), str(ids[f])) for s, f in zip(*np.nonzero(d <= 0.05))}


def test_rows_answer_consistently_by_index_and_by_id(backend):
    gdf, ids = source("control_units")
    rows = np.array([5, 0, 17, 5])
    fids = backend.feature_ids("control_units", rows)
    frame = backend.attributes("control_units", rows)
    cols = backend.attribute_columns("control_units", rows)
    geoms = backend.geometries("control_units", rows)
    assert len(frame) == len(geoms) == len(fids) == 4 and list(frame.columns) == list(backend.info("control_units").fields)
    for k, row in enumerate(rows):
        assert backend.index_of("control_units", fids[k]) == row
        expect = gdf.geometry[list(ids).index(fids[k])]
        assert shapely.equals_exact(shapely.normalize(geoms[k]), shapely.normalize(expect), tolerance=1e-9)
        for c in cols:
            a, b = cols[c][k], frame.iloc[k][c]
            assert a == b or (pd.isna(a) and pd.isna(b)), c
        assert cols["code"][k] == fids[k]
    assert backend.index_of("control_units", "ZH000000000000") is None
    assert len(backend.attributes("control_units", np.array([], dtype=np.intp))) == 0


def test_select_pages_bbox_equality_and_cql_as_the_data_says(backend):
    gdf, ids = source("control_units")
    entry = backend.entry("control_units")
    city = {v: k for k, v in entry.fields.items()}.get("city", "city")
    box = (111.0, 36.0, 114.0, 39.0)
    in_box = shapely.intersects(gdf.geometry.to_numpy(), shapely.box(*box))
    sel = backend.select("control_units", bbox=box, limit=10_000)
    assert sel.matched == int(in_box.sum()) and list(sel.idx) == sorted(sel.idx)
    assert set(backend.feature_ids("control_units", sel.idx)) == set(ids[in_box])
    page = backend.select("control_units", bbox=box, limit=7, offset=3)
    assert page.matched == sel.matched and list(page.idx) == list(sel.idx[3:10])
    taiyuan = (gdf[city] == "太原市").to_numpy()
    eq = backend.select("control_units", equals={"city": "太原市"}, limit=10_000)
    assert eq.matched == int(taiyuan.sum()) > 0
    cql = backend.select("control_units", cql=parse_filter("city = '太原市' AND unit_class IN (1, 2)"),
                         limit=10_000)
    cls = {v: k for k, v in entry.fields.items()}.get("unit_class", "unit_class")
    assert cql.matched == int((taiyuan & gdf[cls].astype(str).isin(["1", "2"]).to_numpy()).sum())
    with pytest.raises(InvalidFilter) as exc:
        backend.select("control_units", equals={"no_such_field": "1"})
    assert exc.value.status == 400


def test_coverage_is_the_area_a_layer_speaks_for(backend):
    for entry in VECTOR:
        cov = backend.coverage(entry.id)
        assert (cov is None) == (entry.coverage is None), entry.id
    cov = backend.coverage("control_units")
    with backend.predicates():
        assert cov.covers(shapely.Point(112.55, 37.87))  # Taiyuan, in the sample provinces
        assert not cov.intersects(shapely.Point(120.7, 28.0))  # Wenzhou, outside them


def test_predicates_is_a_reentrant_use_context(backend):
    for _ in range(2):
        with backend.predicates():
            pass
    assert isinstance(backend.predicates(), contextlib.AbstractContextManager)


def test_native_tiles_are_declared_not_probed(backend):
    import mapbox_vector_tile
    import morecantile

    t = morecantile.tms.get("WebMercatorQuad").tile(112.55, 37.87, 9)
    if not backend.native_mvt:
        with pytest.raises(NotImplementedError):
            backend.render_mvt(["control_units"], 9, t.x, t.y)
        return
    data, count = backend.render_mvt(["control_units"], 9, t.x, t.y)
    decoded = mapbox_vector_tile.decode(data)
    assert count > 0 and len(decoded["control_units"]["features"]) == count
    assert gzip.compress(data)  # raw bytes, compressed by the caller


@pytest.fixture(params=BACKENDS)
def versioned(request, tmp_path):
    """A store of each backend with a version history of its own."""
    from layers.versions import LayerRegistry

    if request.param == "embedded":
        yield EmbeddedStore.open(DEFAULT_CATALOG, registry=LayerRegistry.open(tmp_path, None))
        return
    from layers.postgis import PostGISReplicaStore, PostGISStore

    # the session's database (loaded once), a history of its own: the test rolls back what it
    # publishes, and other instances keep the tables they read
    request.getfixturevalue("pg_store")
    cls = PostGISStore if request.param == "postgis" else PostGISReplicaStore
    store = cls.open(DEFAULT_CATALOG, request.getfixturevalue("pg_url"), registry=LayerRegistry.open(tmp_path, None))
    yield store
    store.close()


def test_versions_switch_for_new_requests_and_stay_reachable(versioned):
    from layers.ingest import Limits
    from layers.versions import publish, rollback, sync

    store = versioned
    gdf, ids = source("red_lines")
    old = store.info("red_lines").version
    smaller = gdf.iloc[1:]  # one red-line patch removed
    buf = io.BytesIO()
    smaller.to_file(buf, driver="GPKG", layer="r")
    limits = Limits(max_features=100_000, max_vertices=50_000_000, max_vertices_per_feature=50_000_000,
                    max_bytes=500 * 2**20)
    before = store.snapshot()
    new = publish(store, "red_lines", buf.getvalue(), "r.gpkg", actor="t", limits=limits)["version"]
    assert store.info("red_lines").version == new and store.info("red_lines").count == len(gdf) - 1
    assert before.info("red_lines").version == old and before.index_of("red_lines", ids[0]) is not None
    assert store.index_of("red_lines", ids[0]) is None
    assert store.refresh_layer("red_lines") == new and sync(store) == []
    yesterday = store.as_of(end_of_day(dt.datetime.now(CST).date() - dt.timedelta(days=1)))
    assert yesterday.info("red_lines").version == old and yesterday.index_of("red_lines", ids[0]) is not None
    assert store.info("red_lines").version == new  # the view changed nothing in force
    feature_ids, frame, geoms = store.layer_data("red_lines")
    assert len(feature_ids) == len(frame) == len(geoms) == len(gdf) - 1
    rollback(store, "red_lines", old, actor="t")
    assert store.info("red_lines").version == old and store.index_of("red_lines", ids[0]) is not None


@pytest.mark.parametrize("in_memory", ["store", "pg_replica"])
def test_geometries_equal_to_another_layers_are_held_once(request, in_memory):
    """The main functional zones are drawn on the county outlines, and most layers speak for the
    same provinces: a store that holds the layers in memory (embedded, or the PostGIS replica)
    holds each such geometry, and each such coverage, once (one object, prepared once), and
    the layers still answer as their files."""
    store = request.getfixturevalue(in_memory)
    zones = store.geometries("main_function_zones", np.arange(store.info("main_function_zones").count))
    counties = {id(g) for g in store.geometries("admin_county", np.arange(store.info("admin_county").count))}
    gdf, ids = source("main_function_zones")
    assert shapely.equals_exact(zones, gdf.geometry.to_numpy(), tolerance=0.0).all()
    assert sum(id(g) in counties for g in zones) == len(zones)
    probes = random_points(80)
    si, fi = store.query("main_function_zones", probes)
    got = {(int(s), str(f)) for s, f in zip(si, store.feature_ids("main_function_zones", fi))}
    a, b = shapely.STRtree(gdf.geometry.to_numpy()).query(probes, predicate="intersects")
    assert got == {(int(s), str(ids[f])) for s, f in zip(a, b)}
    by_coverage: dict[tuple, set[int]] = {}
    for entry in VECTOR:
        if entry.coverage is not None:
            key = (entry.coverage.admin_layer, str(entry.coverage.adcodes))
            by_coverage.setdefault(key, set()).add(id(store.coverage(entry.id)))
    assert len(by_coverage) >= 2 and all(len(objects) == 1 for objects in by_coverage.values())
    provinces, _ = source("admin_province")
    two = shapely.union_all(provinces[provinces["adcode"].astype(str).isin(["140000", "640000"])].geometry)
    assert shapely.equals(store.coverage("red_lines"), two)
    assert store.coverage("key_regions") is store.geometries("admin_country", np.array([0]))[0]
