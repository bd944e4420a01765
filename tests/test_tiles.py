"""Vector tiles: decoded content checked against a geopandas clip of the same bounds."""


import geopandas as gpd
import mapbox_vector_tile
import morecantile
import numpy as np
import pytest
import shapely

from layers.tiles import BUFFER_PX, EXTENT, layer_features

TMS = morecantile.tms.get("WebMercatorQuad")


def _lonlat_to_px(geom, z, x, y):
    left, bottom, right, top = TMS.xy_bounds(x, y, z)
    span = right - left

    def f(xy):
        mx = np.radians(xy[:, 0]) * 6378137.0
        my = np.log(np.tan(np.pi / 4 + np.radians(xy[:, 1]) / 2)) * 6378137.0
        return np.column_stack([(mx - left) / span * EXTENT, (top - my) / span * EXTENT])

    return shapely.transform(geom, f)


def _decode(resp):
    return mapbox_vector_tile.decode(resp.content, default_options={"y_coord_down": True})


@pytest.mark.parametrize(("layer", "z"), [("control_units", 10), ("red_lines", 9), ("admin_county", 7)])
def test_tile_matches_a_geopandas_clip(client, store, layer, z):
    t = TMS.tile(112.55, 37.87, z)
    r = client.get(f"/tiles/{layer}/{z}/{t.x}/{t.y}.mvt", headers={"accept-encoding": "identity"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded = _decode(r)[layer]
    assert decoded["extent"] == EXTENT
    # the reference: geopandas clip of the same layer to the same (buffered) tile bounds
    info = store.info(layer)
    idx = np.arange(info.count)
    gdf = gpd.GeoDataFrame({"fid": store.feature_ids(layer, idx)}, geometry=list(store.geometries(layer, idx)), crs=4490)
    left, bottom, right, top = TMS.xy_bounds(t.x, t.y, z)
    pad = (right - left) * BUFFER_PX / EXTENT
    box = shapely.box(left - pad, bottom - pad, right + pad, top + pad)
    ref = gdf.to_crs(3857).clip(box).to_crs(4490)
    ref = ref[~ref.geometry.is_empty & (ref.to_crs(3857).area > 0)]
    got = {f["properties"]["fid"]: f for f in decoded["features"]}
    big = ref[ref.to_crs(3857).area > ((right - left) / EXTENT) ** 2 * 4]  # > 4 px²: must survive
    assert set(big.fid) <= set(got), "features missing from the tile"
    assert set(got) <= set(ref.fid), "features in the tile that the clip does not have"
    # compare in tile pixels: no tile vertex strays more than 2 px from the reference, and the
    # two differ by at most a 2-px band along the outline (slivers thinner than a pixel vanish)
    for fid, geom in zip(big.fid, big.geometry):
        mine = shapely.geometry.shape(got[fid]["geometry"])
        assert mine.is_valid
        ref_px = _lonlat_to_px(geom, z, t.x, t.y)
        stray = shapely.distance(shapely.points(shapely.get_coordinates(mine)), ref_px).max()
        assert stray <= 2.0, (fid, stray)
        band = shapely.area(shapely.symmetric_difference(mine, ref_px))
        assert band <= 2.0 * shapely.length(ref_px) + 16, (fid, band, shapely.length(ref_px))


def test_tile_properties_are_short_and_labelled(client):
    t = TMS.tile(112.55, 37.87, 10)
    feats = _decode(client.get(f"/tiles/control_units/10/{t.x}/{t.y}.mvt"))["control_units"]["features"]
    props = feats[0]["properties"]
    assert props["synthetic"] == 1 and props["code"].startswith("ZH")
    assert "spatial_layout" not in props  # long access-list text stays in the feature API


def test_caching_headers_etag_and_gzip(client):
    t = TMS.tile(112.55, 37.87, 8)
    url = f"/tiles/control_units/8/{t.x}/{t.y}.mvt"
    r = client.get(url, headers={"accept-encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"  # httpx decodes it transparently
    assert r.headers["cache-control"].startswith("public") and r.headers["vary"] == "Accept-Encoding"
    etag = r.headers["etag"]
    assert client.get(url, headers={"if-none-match": etag}).status_code == 304
    plain = client.get(url, headers={"accept-encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == r.content


def test_etag_follows_the_layer_version(client, store):
    from layers.tiles import render

    t = TMS.tile(112.55, 37.87, 8)
    a = render(store, ["control_units"], 8, t.x, t.y)
    b = render(store, ["red_lines"], 8, t.x, t.y)
    assert a.etag != b.etag
    assert a.etag == render(store, ["control_units"], 8, t.x, t.y).etag


def test_composite_tile_has_each_layer_in_range(client):
    t = TMS.tile(112.55, 37.87, 9)
    layers = _decode(client.get(f"/tiles/admin_county,control_units,red_lines,grid_substations/9/{t.x}/{t.y}.mvt"))
    assert {"admin_county", "control_units", "red_lines"} <= set(layers)


@pytest.mark.parametrize("url", [
    "/tiles/control_units/2/3/1.mvt",  # below the layer's minzoom
    "/tiles/control_units/20/1/1.mvt",  # above its maxzoom
    "/tiles/control_units/3/8/1.mvt",  # x outside the matrix
    "/tiles/nope/3/1/1.mvt",
])
def test_out_of_range_is_404(client, url):
    assert client.get(url).status_code == 404


def test_low_zoom_tiles_stay_small(client):
    layers = "admin_country,admin_province,admin_city,key_regions"
    sizes = []
    for z in range(0, 5):
        for t in TMS.tiles(73, 18, 135, 53, [z]):
            r = client.get(f"/tiles/{layers}/{z}/{t.x}/{t.y}.mvt", headers={"accept-encoding": "gzip"})
            assert r.status_code == 200
            sizes.append(int(r.headers["content-length"]))
    assert max(sizes) < 500 * 1024


def test_feature_cap_keeps_the_largest(store):
    t = TMS.tile(112.55, 37.87, 6)
    capped = layer_features(store, "control_units", 6, t.x, t.y, max_features=5)["features"]
    full = layer_features(store, "control_units", 6, t.x, t.y)["features"]
    assert len(capped) == 5 < len(full)
    area = {f["properties"]["fid"]: f["geometry"].area for f in full}
    assert min(area[f["properties"]["fid"]] for f in capped) >= sorted(area.values())[-5]


def test_tilejson_style_and_legend(client, store):
    tj = client.get("/tiles/control_units/tilejson.json").json()
    assert tj["tilejson"] == "3.0.0" and tj["tiles"][0].endswith("/tiles/control_units/{z}/{x}/{y}.mvt")
    assert tj["vector_layers"][0]["id"] == "control_units" and tj["synthetic"] is True
    st = client.get("/tiles/style.json", params={"edition": "2018"}).json()
    assert st["version"] == 8
    ids = {i.id for i in store.layers()}
    assert {l["source-layer"] for l in st["layers"] if "source-layer" in l} <= ids
    kr = next(l for l in st["layers"] if l["id"] == "key_regions")
    assert kr["filter"] == ["==", ["get", "edition"], "2018"]
    items = client.get("/tiles/legend.json").json()["items"]
    assert {i["zh"] for i in items} >= {"优先保护单元", "重点管控单元", "一般管控单元", "生态保护红线"}
    assert all(i["synthetic"] for i in items if i["layer"] == "control_units")
    assert client.get("/tiles/style.json", params={"edition": "1999"}).status_code == 422


def test_bad_layer_lists_are_refused(client):
    assert client.get("/tiles/a,a/3/1/1.mvt").status_code == 422
    assert client.get("/tiles/,/3/1/1.mvt").status_code == 422


# --- raster tiles ------------------------------------------------------------------------------

def _png(resp) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(resp.content)).convert("RGBA"))


@pytest.mark.parametrize(("layer", "lon", "lat", "z"), [
    ("ghi", 112.55, 37.87, 8), ("ghi", 106.2, 38.47, 9), ("dem", 111.0, 36.0, 7),
    ("wind_speed", 105.5, 37.5, 6),
])
def test_raster_tile_colours_follow_the_values(client, store, layer, lon, lat, z):
    """Decode the PNG, read the colour at a point, invert the ramp: it gives back the value
    the raster holds there (within the ramp's step and the bilinear resampling)."""
    from rio_tiler.colormap import cmap

    from layers.raster import sample

    info = store.raster(layer)
    t = TMS.tile(lon, lat, z)
    r = client.get(f"/tiles/{layer}/{z}/{t.x}/{t.y}.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = _png(r)
    assert img.shape == (256, 256, 4)
    left, bottom, right, top = TMS.xy_bounds(t.x, t.y, z)
    mx, my = TMS.xy(lon, lat)
    px = int((mx - left) / (right - left) * 256)
    py = int((top - my) / (top - bottom) * 256)
    rgb = img[py, px, :3].astype(int)
    assert img[py, px, 3] == 255
    ramp = np.array([cmap.get(info.spec.colormap)[i][:3] for i in range(256)], dtype=int)
    index = int(np.argmin(((ramp - rgb) ** 2).sum(axis=1)))
    lo, hi = info.spec.range
    shown = lo + (hi - lo) * index / 255
    expected = float(np.clip(sample(info, lon, lat)[0], lo, hi))
    assert abs(shown - expected) < 0.04 * (hi - lo), (shown, expected)


def test_raster_tiles_outside_and_wrong_kind(client):
    assert client.get("/tiles/ghi/8/10/97.png").status_code == 404  # off the raster
    assert client.get("/tiles/ghi/2/3/1.png").status_code == 404  # below minzoom
    assert client.get("/tiles/nope/8/206/97.png").status_code == 404
    r = client.get("/tiles/admin_country/5/25/12.png")
    assert r.status_code == 422 and ".mvt" in r.json()["detail"]
    r = client.get("/tiles/ghi,admin_country/5/25/12.mvt")
    assert r.status_code == 422 and ".png" in r.json()["detail"]


def test_raster_tile_edges_are_transparent_and_cached(client):
    # the raster's west edge is 104°E: a z7 tile straddling it is half transparent
    t = TMS.tile(104.0, 37.0, 7)
    r = client.get(f"/tiles/slope/7/{t.x}/{t.y}.png")
    alpha = _png(r)[..., 3]
    assert (alpha == 0).any() and (alpha == 255).any()
    etag = r.headers["etag"]
    again = client.get(f"/tiles/slope/7/{t.x}/{t.y}.png", headers={"if-none-match": etag})
    assert again.status_code == 304


def test_raster_tilejson_style_and_legend(client, store):
    tj = client.get("/tiles/ghi/tilejson.json").json()
    assert tj["tiles"][0].endswith("/tiles/ghi/{z}/{x}/{y}.png")
    assert tj["version"] == store.raster("ghi").version and tj["synthetic"] is True
    style = client.get("/tiles/style.json").json()
    raster_layers = [lyr for lyr in style["layers"] if lyr["type"] == "raster"]
    assert {lyr["id"] for lyr in raster_layers} == {"dem", "slope", "ghi", "wind_speed"}
    assert all(lyr["layout"]["visibility"] == "none" for lyr in raster_layers)
    order = [lyr["type"] for lyr in style["layers"]]
    assert max(i for i, k in enumerate(order) if k == "raster") < order.index("fill")
    ramps = [i for i in client.get("/tiles/legend.json").json()["items"] if i["kind"] == "ramp"]
    ghi = next(i for i in ramps if i["layer"] == "ghi")
    assert ghi["unit"] == "kWh/m2/a" and ghi["stops"][0][0] == 1200 and ghi["stops"][-1][0] == 1800


@pytest.mark.parametrize(("layer", "z", "lon", "lat"), [
    ("control_units", 7, 112.55, 37.87), ("admin_county", 5, 112.55, 37.87), ("grid_lines", 9, 112.55, 37.87),
    ("grid_substations", 8, 106.2, 38.47), ("candidate_land", 9, 106.2, 38.47), ("roads", 10, 112.55, 37.87)])
@pytest.mark.parametrize("path", ["python", "numpy"])
def test_vectorised_encoder_equals_mapbox_vector_tile(store, layer, z, lon, lat, path, monkeypatch):
    """The same features, encoded by layers.mvt (either stream builder) and by
    mapbox-vector-tile, decode to identical geometries (ring orientation included),
    properties and ids."""
    from layers import mvt
    from layers.tiles import layer_tile

    monkeypatch.setattr(mvt, "SMALL_COST", 10**9 if path == "python" else -1)
    t = TMS.tile(lon, lat, z)
    geoms, props = layer_tile(store, layer, z, t.x, t.y)
    assert len(geoms), "the case should have features"
    mine = mapbox_vector_tile.decode(mvt.encode_tile([mvt.encode_layer(layer, geoms, props)]),
                                     default_options={"y_coord_down": True})[layer]
    ref = mapbox_vector_tile.decode(mapbox_vector_tile.encode(
        [{"name": layer, "features": [{"geometry": g, "properties": p, "id": i + 1}
                                      for i, (g, p) in enumerate(zip(geoms, props))]}],
        default_options={"extents": EXTENT, "y_coord_down": True, "check_winding_order": True}),
        default_options={"y_coord_down": True})[layer]
    assert mine["extent"] == ref["extent"] == EXTENT
    assert len(mine["features"]) == len(ref["features"]) == len(geoms)
    for a, b in zip(mine["features"], ref["features"]):
        assert (a["id"], a["type"], a["properties"]) == (b["id"], b["type"], b["properties"])
        assert a["geometry"] == b["geometry"]


def _random_geometries(rng, k: int) -> np.ndarray:
    out = []
    for _ in range(k):
        c = rng.integers(-64, 4160, (8, 2)).astype(float)
        out.append([
            shapely.Point(c[0]), shapely.MultiPoint(c[:3]), shapely.LineString(c[:4]),
            shapely.MultiLineString([c[:3], c[3:6]]), shapely.convex_hull(shapely.MultiPoint(c)),
            shapely.box(*c[0], *(c[0] + 400)).difference(shapely.box(*(c[0] + 100), *(c[0] + 150))),  # a hole
            shapely.MultiPolygon([shapely.box(*c[1], *(c[1] + 9)), shapely.box(*(c[1] + 20), *(c[1] + 35))]),
            shapely.Polygon(), shapely.GeometryCollection([shapely.Point(c[2])]),
            shapely.LineString(c[:4]).buffer(30),  # many vertices
        ][rng.integers(0, 10)])
    return np.array(out, dtype=object)


def test_python_and_numpy_streams_give_the_same_bytes(store):
    """Small tiles take the plain-Python stream builder; it must give exactly the bytes of the
    vectorised one: random mixes of every geometry type (empties, holes, multi-parts,
    collections) and real tiles of polygon, line and point layers."""
    from layers import mvt
    from layers.tiles import layer_tile, snap_to_pixels

    rng = np.random.default_rng(7)
    cases = [snap_to_pixels(_random_geometries(rng, int(rng.integers(1, 8)))) for _ in range(200)]
    for layer, z, lon, lat in [("control_units", 13, 112.55, 37.87), ("control_units", 11, 112.3, 37.6),
                               ("roads", 12, 112.55, 37.87), ("grid_substations", 8, 106.2, 38.47),
                               ("candidate_land", 10, 106.2, 38.47)]:
        t = TMS.tile(lon, lat, z)
        cases.append(layer_tile(store, layer, z, t.x, t.y)[0])
    assert sum(len(c) for c in cases[-5:]) > 5
    for geoms in cases:
        small, vec = mvt._streams_small(geoms), mvt._streams_vectorised(geoms)
        assert small[0] == vec[0] and small[1].tolist() == vec[1].tolist(), geoms


def test_tile_bounds_equal_morecantile():
    from layers.tiles import tile_bounds

    rng = np.random.default_rng(3)
    for z in range(0, 25):
        for x, y in rng.integers(0, 2**z, (20, 2)):
            assert np.allclose(tile_bounds(z, int(x), int(y)), TMS.xy_bounds(int(x), int(y), z), rtol=0, atol=1e-6)


class _Rows:
    """A layer of three rows whose attributes a test can change (what ``tile_properties`` reads)."""

    def __init__(self):
        self.names = np.array(["a", "b", "c"], dtype=object)

    def attribute_columns(self, layer_id, idx):
        return {"name": self.names[idx]}

    def feature_ids(self, layer_id, idx):
        return np.array(["f0", "f1", "f2"], dtype=object)[idx]


def test_tag_cache_follows_versions_and_stays_bounded():
    from layers import mvt
    from layers.tiles import TagCache

    rows, cache = _Rows(), TagCache(max_features=4)
    want = lambda i: mvt.feature_tags({"fid": f"f{i}", "name": rows.names[i]})  # noqa: E731
    assert cache.tags(rows, "l", "v1", np.array([0, 2])) == [want(0), want(2)]
    rows.names[0] = "changed"
    # same version: the cached encoding (a version's attributes never change) ...
    assert cache.tags(rows, "l", "v1", np.array([0]))[0] == mvt.feature_tags({"fid": "f0", "name": "a"})
    # ... a new version reads them afresh
    assert cache.tags(rows, "l", "v2", np.array([0, 1, 2])) == [want(0), want(1), want(2)]
    assert cache._size <= 4  # v1 was evicted to make room
    for v in range(10):
        assert cache.tags(rows, "l", f"w{v}", np.array([1, 2])) == [want(1), want(2)]
        assert cache._size <= 4


def test_tile_tags_are_the_feature_tags_of_the_tile_properties(store):
    """The column-by-column encoding equals encoding each feature's properties, on every sample
    layer and on values that compare equal across types (1, 1.0, True), NaN, None, long texts."""
    from layers import mvt
    from layers.tiles import MAX_TEXT, tile_properties, tile_tags

    for info in store.layers():
        if info.spatial:
            idx = np.arange(0, info.count, max(1, info.count // 300))
            assert tile_tags(store, info.id, idx) == [mvt.feature_tags(p) for p in tile_properties(store, info.id, idx)]
    rows = _Rows()
    rows.names = np.array([1, 1.0, True, float("nan"), None, "长" * (MAX_TEXT + 1), np.int64(1), "x"], dtype=object)
    rows.feature_ids = lambda layer_id, idx: np.array([f"f{i}" for i in idx], dtype=object)
    idx = np.arange(len(rows.names))
    got = tile_tags(rows, "l", idx)
    assert got == [mvt.feature_tags(p) for p in tile_properties(rows, "l", idx)]
    assert len({got[0], got[1], got[2]}) == 3 and got[0][2:] == got[6][2:] and len(got[3]) == len(got[4]) == len(got[5]) == 2


def test_encoder_varints_and_values():
    from layers import mvt

    vals = np.array([0, 1, 127, 128, 300, 16383, 16384, 2**32 - 1, 2**35 + 5], dtype=np.uint64)
    data, starts = mvt.varints(vals)
    assert data == b"".join(mvt._varint(int(v)) for v in vals) and starts[-1] == len(data)
    geoms = np.array([shapely.Point(1, 2), shapely.Polygon(), shapely.box(0, 0, 10, 10)], dtype=object)
    props = [{"s": "文字", "i": -7, "u": 7, "f": 0.25, "b": False, "n": None, "x": float("nan")}] * 3
    layer = mapbox_vector_tile.decode(mvt.encode_tile([mvt.encode_layer("l", geoms, props, ids=[5, 6, 7])]))["l"]
    assert [f["id"] for f in layer["features"]] == [5, 7]  # the empty geometry is left out
    assert layer["features"][0]["properties"] == {"s": "文字", "i": -7, "u": 7, "f": 0.25, "b": False}


def test_snapping_to_pixels_is_valid_and_drops_collapsed_parts():
    from layers.tiles import snap_to_pixels

    geoms = np.array([
        shapely.Polygon([(0, 0), (0.4, 0), (0.4, 0.4)]),  # collapses to nothing
        shapely.Polygon([(0, 0), (3, 0), (3, 0.4), (0, 0.3)]),  # collapses to a line: no area left
        shapely.LineString([(0, 0), (0.2, 0.1)]),
        shapely.MultiPolygon([shapely.box(0, 0, 0.2, 0.2), shapely.box(5, 5, 9, 9)]),  # one part collapses
        shapely.Point(0.4, 0.6),
        shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)]),  # a bow-tie stays invalid pointwise
        shapely.Polygon([(0, 0), (3.2, 0), (3.3, 0.1), (3, 3), (0, 3)]),  # repeated points after rounding
    ], dtype=object)
    out = snap_to_pixels(geoms)
    assert shapely.is_valid(out).all()
    xy = shapely.get_coordinates(out)
    assert (xy == np.round(xy)).all()
    assert shapely.area(out[3]) == 16 and out[4].equals(shapely.Point(0, 1))
    assert out[5].geom_type == "MultiPolygon" and shapely.area(out[5]) == pytest.approx(50)
    assert shapely.get_num_coordinates(out[6]) == 5
    ok = shapely.is_valid(geoms)
    ref = shapely.set_precision(geoms[ok], 1.0)  # the snap-rounding it stands in for (valid input only)
    assert all(a.equals(b) or (a.is_empty and b.is_empty) for a, b in zip(out[ok], ref))


def test_low_zoom_tiles_draw_a_generalised_copy_within_half_a_pixel(store):
    """Zooms 0-8 draw from a copy simplified once per layer version (layers.tiles.Generalised):
    the same features as from full detail, minus only those under half a pixel, each within a
    pixel of its full-detail drawing, with fewer vertices to clip; z9+ is full detail."""
    import gzip

    from layers import tiles

    gen = tiles.Generalised()
    info = store.info("admin_county")
    gen.build(store, info)
    t = morecantile.tms.get("WebMercatorQuad").tile(112.5, 37.8, 6)
    idx = np.arange(info.count)
    assert info.entry.minzoom == 5  # and z4 (no band of its own) is drawn from full detail
    assert all(a is b for a, b in zip(gen.geometries(store, "admin_county", 4, idx), store.geometries("admin_county", idx)))
    assert gen.bands_of(info.entry) == [gen.band(5), gen.band(6), gen.band(7)]  # only those its zooms meet
    for z in (5, 6, 8):
        band = gen.band(z)
        simple = gen.geometries(store, "admin_county", z, idx)
        assert shapely.get_num_coordinates(simple).sum() < 0.8 * shapely.get_num_coordinates(
            store.geometries("admin_county", idx)).sum()
        # every kept outline lies within a pixel at the band's highest zoom of the full one
        # (Douglas-Peucker's tolerance is half of it; GEOS's ring repair after it moves a few
        # outlines further); what is dropped is smaller than that pixel (islets, tiny counties)
        sample = idx[:: max(1, len(idx) // 60)]
        full = store.geometries("admin_county", sample)
        tol = gen.tolerance(band, info.bbox)
        kept = ~shapely.is_empty(simple[sample])
        assert shapely.covers(shapely.buffer(full[kept], tol * 2, quad_segs=32), simple[sample][kept]).all()
        assert (shapely.area(full[~kept]) < (2 * tol) ** 2 * 4).all()
        assert abs(shapely.area(simple[sample]).sum() / shapely.area(full).sum() - 1) < 0.01
    assert gen.band(9) is None and gen.band(14) is None
    # drawn: the same counties in the tile as full detail draws
    saved = tiles.GENERAL
    try:
        tiles.GENERAL = gen
        drawn = mapbox_vector_tile.decode(gzip.decompress(tiles.render(store, ["admin_county"], 6, t.x, t.y).data))
        tiles.GENERAL = tiles.Generalised()
        tiles.GENERAL.band = staticmethod(lambda z: None)
        plain = mapbox_vector_tile.decode(gzip.decompress(tiles.render(store, ["admin_county"], 6, t.x, t.y).data))
    finally:
        tiles.GENERAL = saved
    fids = {f["properties"]["fid"] for f in drawn["admin_county"]["features"]}
    assert fids == {f["properties"]["fid"] for f in plain["admin_county"]["features"]}


def test_warming_every_layer_at_once_holds_what_each_layer_alone_makes(store, monkeypatch):
    """Start-up builds every band of every layer at once, on every core, and simplifies a
    geometry that two layers hold (the main functional zones are county outlines) once per
    tolerance: each band of each layer is what building that layer alone makes."""
    from layers import tiles

    # one tolerance per band whatever the layer's extent, so the zones and the counties share one
    monkeypatch.setattr(tiles.Generalised, "tolerance", staticmethod(lambda band, bbox: 0.02 / (band + 1)))
    warm, alone = tiles.Generalised(), tiles.Generalised()
    warm.warm(store)
    layers = [info for info in store.layers() if info.spatial]
    for info in layers:
        alone.build(store, info)
        idx = np.arange(info.count)
        for band in alone.bands_of(info.entry):
            z = tiles.BANDS[band][0]
            got, want = warm.geometries(store, info.id, z, idx), alone.geometries(store, info.id, z, idx)
            assert len(got) == info.count
            assert shapely.equals_exact(got, want, tolerance=0.0).all(), (info.id, band)
    counties = store.geometries("admin_county", np.arange(store.info("admin_county").count))
    zones = store.geometries("main_function_zones", np.arange(store.info("main_function_zones").count))
    row = {id(g): i for i, g in enumerate(counties)}
    assert all(id(g) in row for g in zones)  # held once (layers.store.share_equal_geometries)
    z = 5
    simple_counties = warm.geometries(store, "admin_county", z, np.arange(len(counties)))
    simple_zones = warm.geometries(store, "main_function_zones", z, np.arange(len(zones)))
    assert all(s is simple_counties[row[id(g)]] for s, g in zip(simple_zones, zones))


def test_a_geometry_geos_cannot_repair_is_left_out_not_a_failed_tile(monkeypatch):
    """National data had a polygon whose repair raised "unable to assign free hole to a shell";
    the tile keeps the others (repaired by linework, or dropped) instead of a 500."""
    from layers import tiles

    bow = shapely.from_wkt("POLYGON ((0 0, 10 10, 10 0, 0 10, 0 0))")  # invalid: a bow tie
    real = shapely.make_valid

    def picky(geom, **kw):
        if isinstance(geom, np.ndarray) or kw.get("method") == "structure" and geom.equals(bow):
            raise shapely.errors.GEOSException("TopologyException: unable to assign free hole to a shell")
        return real(geom, **kw)

    monkeypatch.setattr(shapely, "make_valid", picky)
    ok = shapely.from_wkt("POLYGON ((0 0, 4 0, 4 4, 0 0))")
    out = tiles._make_valid(np.array([ok, bow], dtype=object))
    assert out[0].equals(ok) and out[1].is_valid and not out[1].is_empty


@pytest.mark.parametrize("z, x, y", [(9, 414, 201), (10, 828, 403), (10, 834, 398)])
def test_tiles_where_the_rectangle_clipper_fails_are_drawn(client, z, x, y):
    """GEOS's rectangle clipper throws on some valid polygons of the sample's cultivated land
    ("Invalid number of points in LinearRing found 3"): those tiles were 500s."""
    r = client.get(f"/tiles/cultivated_land/{z}/{x}/{y}.mvt")
    assert r.status_code == 200, r.text
    assert _decode(r)["cultivated_land"]["features"]


def test_clip_falls_back_to_an_exact_cut_keeping_the_dimension(monkeypatch):
    from layers.tiles import clip

    square = shapely.box(0, 0, 2, 2)
    touching = shapely.box(2, 0, 3, 2)  # meets the rectangle along an edge only
    real = shapely.clip_by_rect

    def failing(g, *bounds):  # as GEOS fails on some valid polygons
        if isinstance(g, np.ndarray) or g is touching or g is square:
            raise shapely.errors.GEOSException("Invalid number of points in LinearRing found 3")
        return real(g, *bounds)

    monkeypatch.setattr(shapely, "clip_by_rect", failing)
    out = clip(np.array([square, touching], dtype=object), 1, 1, 2, 3)
    assert shapely.equals(out[0], shapely.box(1, 1, 2, 2))
    assert out[1].is_empty  # an edge contact: no area, and no line in a polygon layer
