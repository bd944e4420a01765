"""The low-zoom tile pyramid (layers.pyramid): a tile served from it is the tile drawn per
request, byte for byte; it is really what is served; a file appears whole or not at all, one
process builds it at a time; a layer switch builds the new version's file and serves from it."""

from __future__ import annotations

import fcntl
import gzip
import io
import time

import geopandas as gpd
import mapbox_vector_tile
import pytest

from layers import tiles
from layers.pyramid import Pyramid, positions
from tests.conftest import ADMIN

LAYERS = ("admin_province", "control_units", "red_lines", "key_regions")


@pytest.fixture(scope="module")
def built(store, tmp_path_factory):
    pyramid = Pyramid(tmp_path_factory.mktemp("pyramid"), max_zoom=6)
    for layer_id in LAYERS:
        assert pyramid.build(store, store.info(layer_id)) is not None
    return pyramid


def test_served_tiles_are_the_tiles_drawn(store, built):
    compared = 0
    for layer_id in LAYERS:
        info = store.info(layer_id)
        for z in built.zooms(info):
            for x, y in positions(info.bbox, z):
                drawn = tiles.render(store, [layer_id], z, x, y)
                served = tiles.render(store, [layer_id], z, x, y, pyramid=built)
                assert gzip.decompress(served.data) == gzip.decompress(drawn.data), (layer_id, z, x, y)
                assert served.features == drawn.features
                compared += 1
    assert compared > 100


def test_the_pyramid_is_what_is_served(store, built, monkeypatch):
    def no_drawing(*args):
        raise AssertionError("drawn per request")

    x, y = positions((112.5, 37.8, 112.6, 37.9), 6)[4]  # the z6 tile of Taiyuan, two layers in it
    before = tiles.render(store, ["control_units", "red_lines"], 6, x, y)
    monkeypatch.setattr(tiles, "encode_layer", no_drawing)
    after = tiles.render(store, ["control_units", "red_lines"], 6, x, y, pyramid=built)
    assert gzip.decompress(after.data) == gzip.decompress(before.data) and after.features > 0
    with pytest.raises(AssertionError, match="drawn"):  # beyond the pyramid's zooms: drawn
        tiles.render(store, ["control_units"], 8, 2 * x, 2 * y, pyramid=built)
    with pytest.raises(AssertionError, match="drawn"):  # a layer it has no file for: drawn
        tiles.render(store, ["protected_areas"], 6, x, y, pyramid=built)


def test_one_builder_at_a_time_and_nothing_half_written(store, tmp_path):
    pyramid = Pyramid(tmp_path, max_zoom=6)
    info = store.info("control_units")
    name = pyramid.name(info)
    tmp_path.mkdir(exist_ok=True)
    with open(tmp_path / (name + ".lock"), "a+b") as other:  # another process is building it
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert pyramid.build(store, info) is None
        assert not (tmp_path / name).exists()
    pyramid._cancel.set()  # a build cancelled part-way (the server stopping) leaves nothing
    assert pyramid.build(store, info) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    pyramid._cancel.clear()
    assert pyramid.build(store, info) == tmp_path / name
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    (tmp_path / name).write_bytes(b"not a pyramid")  # a file that is not one is not read
    fresh = Pyramid(tmp_path, max_zoom=6)
    x, y = positions(info.bbox, 6)[0]
    assert fresh.message(store, info, 6, x, y) is None


def test_a_layer_switch_builds_and_serves_the_new_version(tmp_path):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.service import assemble
    from app.settings import Settings

    settings = Settings(state_dir=tmp_path, admin_key=ADMIN["X-API-Key"], layer_sync_s=0, tile_pyramid_zoom=5)
    services = assemble(settings)
    folder = tmp_path / "tiles"

    def file_of(layer_id):
        return folder / services.pyramid.name(services.live.store.info(layer_id))

    def wait_for(path):
        deadline = time.monotonic() + 120
        while not path.exists():
            assert time.monotonic() < deadline, f"{path.name} was not built"
            time.sleep(0.2)

    with TestClient(create_app(settings, services)) as c:
        wait_for(file_of("control_units"))  # at start-up, ahead of any request
        old = file_of("control_units")
        units = gpd.read_file("data/sample/control_units.gpkg")
        kept = units[units["PROV"] == units["PROV"].iloc[0]]  # one province's units
        buf = io.BytesIO()
        kept.to_file(buf, driver="GPKG", layer="units")
        r = c.post("/v1/layers/control_units/versions", headers=ADMIN,
                   files={"file": ("u.gpkg", buf.getvalue(), "application/geopackage+sqlite3")})
        assert r.status_code == 201, r.text
        new = file_of("control_units")
        assert new != old
        wait_for(new)
        deadline = time.monotonic() + 30
        while old.exists():  # the old version's file goes
            assert time.monotonic() < deadline
            time.sleep(0.2)
        info = services.live.store.info("control_units")
        shown = 0
        for x, y in positions(info.bbox, 5):
            r = c.get(f"/tiles/control_units/5/{x}/{y}.mvt")
            assert r.status_code == 200
            drawn = tiles.render(services.live.store, ["control_units"], 5, x, y)
            assert r.content == gzip.decompress(drawn.data)
            layer = mapbox_vector_tile.decode(r.content).get("control_units", {"features": []})
            assert {f["properties"]["province"] for f in layer["features"]} <= {kept["PROV"].iloc[0]}
            shown += len(layer["features"])
        assert shown > 0
