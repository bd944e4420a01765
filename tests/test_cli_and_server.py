"""The command line and a real server process, as a newcomer would use them."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from tests.conftest import TANGSHAN, square


def test_cli_assess(tmp_path):
    site = tmp_path / "site.geojson"
    site.write_text(json.dumps(square(*TANGSHAN)), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "app.cli", "assess", str(site), "--industry", "C3120"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["verdict"] == "prohibited"
    bad = subprocess.run([sys.executable, "-m", "app.cli", "assess", str(site), "--industry", "Q0000"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown industry" in bad.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_boots_and_answers_healthz():
    port = _free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "app"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not come up in 60 s"
                assert proc.poll() is None, "server exited"
                time.sleep(0.2)
        assert body["status"] == "ok" and body["layers"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_loaded_service_is_frozen_out_of_the_garbage_collector(tmp_path):
    """gc.freeze after loading: the collector's full passes no longer walk the layers'
    geometries and frames, which paused requests for ~40-50 ms each."""
    import gc

    import numpy as np
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    gc.unfreeze()
    try:
        with TestClient(create_app(Settings(state_dir=tmp_path, gc_freeze=False, layer_sync_s=0))) as c:
            assert c.get("/healthz").status_code == 200 and gc.get_freeze_count() == 0
        with TestClient(create_app(Settings(state_dir=tmp_path, gc_freeze=True, layer_sync_s=0))) as c:
            assert c.get("/healthz").status_code == 200
            geoms = c.app.state.services.store.geometries("admin_county", np.arange(3))
            walked = {id(o) for g in range(3) for o in gc.get_objects(g)}
            assert all(gc.is_tracked(g) and id(g) not in walked for g in geoms)
            assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_version_sync_loads_another_process_publish_and_freezes_it(tmp_path):
    """What another process publishes is loaded by the sync step (tiles cleared) and frozen out
    of the collector like the start-up load."""
    import gc
    import io

    import geopandas as gpd
    import numpy as np

    from app.main import VersionSync
    from app.service import assemble, open_store
    from app.settings import Settings
    from layers.tiles import Tile
    from layers.versions import publish

    settings = Settings(state_dir=tmp_path, gc_freeze=True, layer_sync_s=0)
    services = assemble(settings)
    syncer = VersionSync(services.live, every_s=3600)
    assert syncer.step() == []
    gdf = gpd.read_file("data/sample/control_units.gpkg")
    gdf.loc[0, "KJBJYS"] = "（新版）禁止新建钢铁项目。"
    buf = io.BytesIO()
    gdf.to_file(buf, driver="GPKG", layer="u")
    other = open_store(settings)  # another process (the CLI, another instance)
    out = publish(other, "control_units", buf.getvalue(), "u.gpkg", actor="t", limits=settings.layer_limits())
    services.tiles.put("k", Tile(b"x", '"e"', 0))
    gc.unfreeze()
    try:
        assert syncer.step() == ["control_units"]
        assert services.store.info("control_units").version == out["version"]
        assert services.tiles.get("k") is None
        geoms = services.store.geometries("control_units", np.arange(3))
        walked = {id(o) for g in range(3) for o in gc.get_objects(g)}
        assert all(gc.is_tracked(g) and id(g) not in walked for g in geoms)
        assert syncer.step() == []
    finally:
        gc.unfreeze()


def test_x_forwarded_for_is_believed_only_from_configured_proxies():
    """uvicorn trusts X-Forwarded-For from 127.0.0.1 by default, so a local client could rotate
    it past the per-client limits; the service believes only the proxies it is told of."""
    import asyncio

    import uvicorn

    from app.serve import uvicorn_options
    from app.settings import Settings

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["client"][0].encode()})

    def seen(options) -> str:
        config = uvicorn.Config(app, **options)
        config.load()
        wrapped = config.loaded_app
        out = []

        async def run():
            scope = {"type": "http", "client": ("127.0.0.1", 5000), "scheme": "http", "method": "GET", "path": "/",
                     "headers": [(b"x-forwarded-for", b"203.0.113.9")], "query_string": b""}

            async def send(message):
                if message["type"] == "http.response.body":
                    out.append(message["body"].decode())

            await wrapped(scope, None, send)
        asyncio.run(run())
        return out[0]

    assert seen(uvicorn_options(Settings())) == "127.0.0.1"
    assert seen(uvicorn_options(Settings(trusted_proxies=["127.0.0.1"]))) == "203.0.113.9"
