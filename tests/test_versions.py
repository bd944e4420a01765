"""Layer and rules versions, API keys and the audit log, over HTTP on a store of its own
(publishing changes it): validate → stage → switch, history, rollback, as_of, re-run of a
stored assessment, roles, the hash-chained append-only audit log."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import morecantile
import pytest
import shapely

from layers.dates import CST
from tests.conftest import TAIYUAN, square

TMS = morecantile.tms.get("WebMercatorQuad")
ADMIN = {"X-API-Key": "test-admin-key-0123456789"}
UNITS = "data/sample/control_units.gpkg"


def gpkg_bytes(gdf: gpd.GeoDataFrame) -> bytes:
    buf = io.BytesIO()
    gdf.to_file(buf, driver="GPKG", layer="units")
    return buf.getvalue()


@pytest.fixture(scope="module")
def vclient(tmp_path_factory):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.service import assemble
    from app.settings import Settings

    state = tmp_path_factory.mktemp("versions-state")
    settings = Settings(state_dir=state, admin_key=ADMIN["X-API-Key"], layer_sync_s=0)
    services = assemble(settings)
    with TestClient(create_app(settings, services)) as c:
        yield c


@pytest.fixture(scope="module")
def keys(vclient):
    out = {}
    for name, role in (("ed", "editor"), ("rd", "reader"), ("ad", "admin")):
        r = vclient.post("/v1/admin/keys", json={"name": name, "role": role}, headers=ADMIN)
        assert r.status_code == 201, r.text
        out[role] = {"X-API-Key": r.json()["key"]}
    return out


def unit_at(client, lon, lat) -> dict:
    here = client.get("/v1/here", params={"lon": lon, "lat": lat}).json()
    units = next(layer for layer in here["layers"] if layer["id"] == "control_units")
    return {"version": units["version"], "features": units["features"]}


def test_keys_roles_and_hashing(vclient, keys):
    files = {"file": ("u.gpkg", b"x")}
    assert vclient.post("/v1/layers/control_units/versions", files=files).status_code == 401
    r = vclient.post("/v1/layers/control_units/versions", files=files, headers=keys["reader"])
    assert r.status_code == 403 and "editor" in r.json()["detail"]
    assert vclient.post("/v1/layers/control_units/versions", files=files,
                        headers={"X-API-Key": "zk_not-a-key"}).status_code == 401
    assert vclient.get("/v1/admin/keys", headers=keys["editor"]).status_code == 403
    listed = vclient.get("/v1/admin/keys", headers=keys["admin"]).json()
    assert {k["name"]: k["role"] for k in listed} == {"ed": "editor", "rd": "reader", "ad": "admin"}
    # only hashes are stored: no key appears in the database file
    db = vclient.app.state.services.keys.db
    raw = (db.path.read_bytes() + db.path.with_suffix(".sqlite-wal").read_bytes()
           if db.path.with_suffix(".sqlite-wal").exists() else db.path.read_bytes())
    assert all(k["X-API-Key"].encode() not in raw for k in keys.values())
    r = vclient.post("/v1/admin/keys", json={"name": "tmp", "role": "editor"}, headers=keys["admin"])
    tmp = {"Authorization": "Bearer " + r.json()["key"]}
    assert vclient.get("/v1/layers/control_units/versions", headers=tmp).status_code == 200
    assert vclient.delete("/v1/admin/keys/tmp", headers=keys["admin"]).status_code == 204
    again = vclient.delete("/v1/admin/keys/tmp", headers=keys["admin"])
    assert again.status_code == 404 and again.json() == {"error": "KeyNotFound",
                                                         "detail": "no unrevoked key named 'tmp'"}
    assert vclient.get("/v1/layers/control_units/versions", headers=tmp).status_code == 401
    assert vclient.delete("/v1/admin/keys/tmp", headers=keys["admin"]).status_code == 404
    assert vclient.post("/v1/admin/keys", json={"name": "bad name!", "role": "editor"},
                        headers=keys["admin"]).status_code == 422


def test_a_job_is_cancelled_by_its_own_key_or_an_editor(vclient, keys):
    import json

    site = json.dumps({"type": "Feature", "properties": {}, "geometry": square(*TAIYUAN, 0.001)}).encode()
    r = vclient.post("/v1/jobs/assess", files={"file": ("s.geojson", site)}, data={"industry": "C3120"},
                     headers=keys["reader"])
    assert r.status_code == 202 and r.json()["params"]["submitted_by"] == "rd"
    jid = r.json()["id"]
    other = vclient.post("/v1/admin/keys", json={"name": "rd2", "role": "reader"}, headers=ADMIN).json()["key"]
    assert vclient.post(f"/v1/jobs/{jid}/cancel").status_code == 401
    assert vclient.post(f"/v1/jobs/{jid}/cancel", headers={"X-API-Key": other}).status_code == 403
    assert vclient.post(f"/v1/jobs/{jid}/cancel", headers=keys["reader"]).status_code == 200
    assert vclient.post(f"/v1/jobs/{jid}/cancel", headers=keys["editor"]).status_code == 200


def test_bad_versions_are_refused_with_the_whole_report(vclient, keys):
    before = vclient.get("/v1/layers/control_units").json()["version"]
    src = gpd.read_file(UNITS)
    bad = src.copy()
    bad.loc[0, "HJZHGKDYBM"] = "ZH1401052000X"
    cls = int(bad.loc[1, "ZHGKDYFL"])
    bad.loc[1, "ZHGKDYFL"] = 1 if cls != 1 else 2
    bad.loc[2, "geometry"] = shapely.Polygon([(112, 37), (113, 38), (113, 37), (112, 38), (112, 37)])  # bow-tie
    r = vclient.post("/v1/layers/control_units/versions", files={"file": ("bad.gpkg", gpkg_bytes(bad))},
                     headers=keys["editor"])
    assert r.status_code == 422, r.text
    checks = {e["check"] for e in r.json()["report"]["errors"]}
    assert {"unit_code", "unit_class_digit", "geometry"} <= checks
    assert "ZH1401052000X" in r.json()["report"]["errors"][0]["examples"] or any(
        "ZH1401052000X" in str(e) for e in r.json()["report"]["errors"])
    # a missing required field names the source column to map
    r = vclient.post("/v1/layers/control_units/versions", headers=keys["editor"],
                     files={"file": ("nofield.gpkg", gpkg_bytes(src.drop(columns=["KJBJYS"])))})
    assert r.status_code == 422 and r.json()["report"]["errors"][0]["expected_source_columns"] == ["KJBJYS"]
    # a Shapefile without .prj and no crs parameter: the CRS is asked for
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf, tempfile.TemporaryDirectory() as d:
        src.iloc[:5][["HJZHGKDYBM", "geometry"]].to_file(Path(d) / "u.shp")
        for ext in ("shp", "shx", "dbf"):
            zf.write(Path(d) / f"u.{ext}", f"u.{ext}")
    r = vclient.post("/v1/layers/control_units/versions", files={"file": ("u.zip", buf.getvalue())},
                     headers=keys["editor"])
    assert r.status_code == 422 and "crs" in r.json()["detail"].lower()
    for layer, status in (("admin_county", 422), ("nope", 404), ("dem", 422)):
        r = vclient.post(f"/v1/layers/{layer}/versions", files={"file": ("u.gpkg", gpkg_bytes(src))},
                         headers=keys["editor"])
        assert r.status_code == status, (layer, r.text)
    assert vclient.get("/v1/layers/control_units").json()["version"] == before  # nothing changed
    assert vclient.get("/v1/layers/control_units/versions").json()["history"] == []


def test_a_missing_id_field_and_a_line_layer_are_clear_4xx(vclient, keys):
    areas = gpd.read_file("data/sample/protected_areas.gpkg").drop(columns=["code"])  # code is the id field
    r = vclient.post("/v1/layers/protected_areas/versions", files={"file": ("pa.gpkg", gpkg_bytes(areas))},
                     headers=keys["editor"])
    assert r.status_code == 422 and r.json()["report"]["errors"][0]["expected_source_columns"] == ["code"]
    r = vclient.post("/v1/layers/grid_lines/versions", files={"file": ("pa.gpkg", gpkg_bytes(areas))},
                     headers=keys["editor"])
    assert r.status_code == 422 and "polygon layers" in r.json()["detail"]


def test_publish_history_as_of_rerun_and_rollback(vclient, keys):
    lon, lat = TAIYUAN
    old = unit_at(vclient, lon, lat)
    code = old["features"][0]["feature_id"]
    site = square(lon, lat, 0.0005)
    upload = vclient.post("/v1/assess/upload", data={"industry": "C3120"},
                          files={"file": ("s.geojson", ('{"type":"Feature","properties":{},"geometry":'
                                                        + __import__("json").dumps(site) + "}").encode())})
    assert upload.status_code == 200, upload.text
    rid = upload.json()["id"]

    tile = TMS.tile(lon, lat, 12)
    tile_url = f"/tiles/control_units/12/{tile.x}/{tile.y}.mvt"

    def tile_props() -> dict:
        layer = mapbox_vector_tile.decode(vclient.get(tile_url).content)["control_units"]
        return next(f["properties"] for f in layer["features"] if f["properties"]["fid"] == code)

    tile_before = tile_props()  # also fills the per-feature tag cache with the old version
    src = gpd.read_file(UNITS)
    new = src.copy()
    row = int((new["HJZHGKDYBM"] == code).to_numpy().nonzero()[0][0])
    new.loc[row, "KJBJYS"] = "（新版）禁止新建钢铁项目。"
    removed = new.loc[(row + 5) % len(new), "HJZHGKDYBM"]
    new = new.drop(index=[(row + 5) % len(new)])
    data = gpkg_bytes(new)
    dry = vclient.post("/v1/layers/control_units/versions", files={"file": ("units.gpkg", data)},
                       data={"dry_run": "true", "note": "dry"}, headers=keys["editor"])
    assert dry.status_code == 200 and dry.json()["dry_run"] is True
    assert unit_at(vclient, lon, lat)["version"] == old["version"]
    r = vclient.post("/v1/layers/control_units/versions", files={"file": ("units.gpkg", data)},
                     data={"note": "2026 调整"}, headers=keys["editor"])
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["previous"] == old["version"] and out["version"] != old["version"]
    s = out["summary"]
    assert (s["added"], s["removed"], s["changed"]) == (0, 1, 1)
    assert s["removed_ids"] == [removed] and s["changed_ids"] == [code]
    assert out["report"]["counts"]["features"] == len(new)
    now = unit_at(vclient, lon, lat)
    assert now["version"] == out["version"]
    assert now["features"][0]["properties"]["spatial_layout"] == "（新版）禁止新建钢铁项目。"
    assert tile_before.get("spatial_layout") != "（新版）禁止新建钢铁项目。"
    assert tile_props()["spatial_layout"] == "（新版）禁止新建钢铁项目。"  # tiles follow the version
    # the same file again changes nothing
    again = vclient.post("/v1/layers/control_units/versions", files={"file": ("units.gpkg", data)},
                         headers=keys["editor"])
    assert again.status_code == 409
    hist = vclient.get("/v1/layers/control_units/versions").json()
    assert hist["version_in_force"] == out["version"]
    assert [(h["action"], h["version"]) for h in hist["history"]] == [("publish", out["version"]),
                                                                     ("baseline", old["version"])]
    assert hist["history"][0]["published_by"] == "ed" and hist["history"][0]["source_sha256"]

    # as_of: yesterday the old version was in force, today the new one
    body = {"site": site, "project": {"industry": "C3120"}}
    today = dt.datetime.now(CST).date()
    then = vclient.post("/v1/assess", json={**body, "as_of": (today - dt.timedelta(days=1)).isoformat()}).json()
    cur = vclient.post("/v1/assess", json={**body, "as_of": today.isoformat()}).json()
    version = {r["id"]: r["version"] for r in then["layers"]}
    assert version["control_units"] == old["version"] and then["as_of"]
    assert {r["id"]: r["version"] for r in cur["layers"]}["control_units"] == out["version"]

    # the stored assessment re-runs identically against what it used, and shows the change now
    rec = vclient.post(f"/v1/assessments/{rid}/rerun").json()
    assert rec["same"] is True and rec["layers_changed"] == {}
    now_run = vclient.post(f"/v1/assessments/{rid}/rerun", params={"against": "current"}).json()
    assert now_run["layers_changed"]["control_units"] == {"before": old["version"], "after": out["version"]}

    # rollback to the catalog's data
    r = vclient.post("/v1/layers/control_units/rollback", json={"version": old["version"]}, headers=keys["editor"])
    assert r.status_code == 200 and r.json()["previous"] == out["version"]
    assert unit_at(vclient, lon, lat) == old
    assert tile_props() == tile_before
    assert vclient.post("/v1/layers/control_units/rollback", json={"version": old["version"]},
                        headers=keys["editor"]).status_code == 409
    assert vclient.post("/v1/layers/control_units/rollback", json={"version": "nope"},
                        headers=keys["editor"]).status_code == 404
    assert vclient.post("/v1/layers/control_units/rollback", json={"version": out["version"]}).status_code == 401


def test_rules_versions(vclient, keys):
    from zoning.rules import RULES_DIR

    name = sorted(p.name for p in RULES_DIR.glob("*.yaml"))[0]
    raw = (RULES_DIR / name).read_bytes()
    before = vclient.get("/v1/rules").json()["version"]
    changed = raw.replace(b"zh: ", b"zh: \xef\xbc\x88\xe4\xbf\xae\xe8\xae\xa2\xef\xbc\x89", 1)  # （修订）
    assert changed != raw
    r = vclient.post(f"/v1/rules/{name}/versions", files={"upload": (name, changed)}, headers=keys["editor"])
    assert r.status_code == 201, r.text
    after = vclient.get("/v1/rules").json()["version"]
    assert after != before and r.json()["rules_version"] == after and len(r.json()["summary"]["changed"]) == 1
    bad = vclient.post(f"/v1/rules/{name}/versions", files={"upload": (name, b"family: x\nrules: [{id: 1}]\n")},
                       headers=keys["editor"])
    assert bad.status_code == 422
    assert vclient.post(f"/v1/rules/{name}/versions", files={"upload": (name, changed)},
                        headers=keys["editor"]).status_code == 409
    body = {"site": square(*TAIYUAN, 0.001), "project": {"industry": "C3120"},
            "as_of": (dt.datetime.now(CST).date() - dt.timedelta(days=1)).isoformat()}
    assert vclient.post("/v1/assess", json=body).json()["rules_version"] == before
    hist = vclient.get("/v1/rules/versions").json()["history"]
    base = next(h for h in hist if h["action"] == "baseline")
    r = vclient.post(f"/v1/rules/{name}/rollback", json={"sha256": base["sha256"]}, headers=keys["editor"])
    assert r.status_code == 200 and vclient.get("/v1/rules").json()["version"] == before


def test_non_public_layer_needs_a_key(vclient, keys):
    store = vclient.app.state.services.store
    i = next(k for k, e in enumerate(store.catalog.layers) if e.id == "red_lines")
    entry = store.catalog.layers[i]
    store.catalog.layers[i] = entry.model_copy(update={"public": False})
    try:
        assert vclient.get("/ogc/collections/red_lines/items?limit=1").status_code == 401
        assert vclient.get("/ogc/collections/red_lines/items?limit=1", headers=keys["reader"]).status_code == 200
        assert vclient.get("/tiles/red_lines,control_units/8/207/97.mvt").status_code == 401
        assert vclient.get("/tiles/red_lines/8/207/97.mvt", headers=keys["reader"]).status_code in (200, 404)
        here = vclient.get("/v1/here", params={"lon": TAIYUAN[0], "lat": TAIYUAN[1]}).json()
        assert "red_lines" not in {layer["id"] for layer in here["layers"]}
        here = vclient.get("/v1/here", params={"lon": TAIYUAN[0], "lat": TAIYUAN[1]}, headers=keys["reader"]).json()
        assert "red_lines" in {layer["id"] for layer in here["layers"]}
    finally:
        store.catalog.layers[i] = entry


def test_audit_log_is_complete_chained_and_append_only(vclient, keys):
    log = vclient.get("/v1/admin/audit", params={"limit": 1000}, headers=keys["admin"]).json()
    assert log["intact"] is True
    actions = [e["action"] for e in log["entries"]]
    for a in ("key.create", "key.revoke", "layer.publish.refused", "layer.publish.dry_run", "layer.publish",
              "layer.rollback", "assess", "assess.upload", "assess.rerun", "rules.publish", "rules.rollback"):
        assert a in actions, a
    pub = next(e for e in log["entries"] if e["action"] == "layer.publish")
    assert pub["actor"] == "ed" and pub["role"] == "editor" and pub["input_sha256"] and pub["result"]["version"]
    assert vclient.get("/v1/admin/audit", headers=keys["editor"]).status_code == 403
    db = vclient.app.state.services.audit.db
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.tx(lambda c: c.execute("UPDATE audit SET actor = 'x' WHERE seq = 1"))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.tx(lambda c: c.execute("DELETE FROM audit"))
    # a row edited behind the triggers' back breaks the chain
    raw = sqlite3.connect(db.path)
    raw.execute("DROP TRIGGER audit_no_update")
    raw.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 2")
    raw.commit()
    raw.close()
    assert vclient.app.state.services.audit.verify() == (False, 2)


def test_keys_audit_and_histories_in_postgresql(pg_database, tmp_path):
    """The same stores on PostgreSQL (several instances share them): keys, the append-only
    chained audit log (TRUNCATE refused too), layer and rules histories."""
    import psycopg

    from app.state.access import open_access
    from layers.versions import LayerRegistry
    from zoning.rules import RULES_DIR
    from zoning.rules_history import RulesRegistry

    url = pg_database()
    keys, log = open_access(None, url)
    key = keys.create("pg-editor", "editor", "test")
    assert keys.check(key) == ("pg-editor", "editor") and keys.check(key + "x") is None
    for i in range(3):
        log.append("pg-editor", "editor", "assess", None, None, {"i": i})
    assert log.verify() == (True, None) and [e["result"]["i"] for e in log.entries()] == [0, 1, 2]
    for sql in ("UPDATE audit SET actor = 'x'", "DELETE FROM audit", "TRUNCATE audit"):
        with pytest.raises(psycopg.Error, match="append-only"):
            log.db.tx(lambda c, sql=sql: c.execute(sql))
    _, again = open_access(None, url)  # a second instance continues the same chain
    again.append("other", None, "assess", None, None, {})
    assert log.verify() == (True, None) and len(log.entries()) == 4

    reg = LayerRegistry.open(tmp_path, url)
    rec = {"layer_id": "red_lines", "version": "v1", "actor": "a", "vintage": "2026-01-01", "feature_count": 1,
           "summary": {}, "report": {}, "file": str(tmp_path / "v1.gpkg")}
    reg.add(rec, "baseline", at="2026-01-01T00:00:00.000+00:00")
    reg.add({**rec, "version": "v2"}, "publish")
    assert reg.current("red_lines")["version"] == "v2"
    assert reg.in_force("red_lines", "2026-06-01T00:00:00.000+00:00")["version"] == "v1"
    assert [h["version"] for h in reg.history("red_lines")] == ["v2", "v1"]

    rules = RulesRegistry.open(tmp_path, url)
    name = sorted(p.name for p in RULES_DIR.glob("*.yaml"))[0]
    raw = (RULES_DIR / name).read_bytes()
    out = rules.publish(name, raw + b"\n# note\n", "a")
    assert rules.ruleset().version == out["rules_version"] and rules.generation() == 2


def test_rollbacks_that_cannot_be_are_clear_4xx(tmp_path):
    """A rules rollback whose old rules now collide with another family's, and a layer
    rollback whose version file is gone, are refused with what is wrong (were 500s)."""
    import shutil

    import yaml

    from layers.catalog import DEFAULT_CATALOG
    from layers.ingest import Limits
    from layers.store import EmbeddedStore
    from layers.versions import LayerRegistry, VersionConflict, publish, rollback
    from zoning.rules import RULES_DIR
    from zoning.rules_history import RulesError, RulesRegistry

    folder = tmp_path / "rules"
    shutil.copytree(RULES_DIR, folder)
    reg = RulesRegistry.open(tmp_path, None, folder)
    cu = yaml.safe_load((folder / "control_units.yaml").read_bytes())
    moved = cu["rules"][0]
    # control_units drops a rule, land takes it over under the same id ...
    reg.publish("control_units.yaml", yaml.safe_dump({**cu, "rules": cu["rules"][1:]}, allow_unicode=True).encode(), "t")
    land = yaml.safe_load((folder / "land.yaml").read_bytes())
    reg.publish("land.yaml", yaml.safe_dump({**land, "rules": [*land["rules"], moved]}, allow_unicode=True).encode(), "t")
    # ... so control_units' first version cannot come back
    base = next(h for h in reg.history("control_units.yaml") if h["action"] == "baseline")
    with pytest.raises(RulesError, match="duplicate rule ids"):
        reg.rollback("control_units.yaml", base["sha256"], "t")

    registry = LayerRegistry.open(tmp_path)
    store = EmbeddedStore.open(DEFAULT_CATALOG, registry=registry)
    old = store.info("red_lines").version
    gdf = gpd.read_file("data/sample/red_lines.gpkg")
    gdf = gdf.iloc[1:]
    publish(store, "red_lines", gpkg_bytes(gdf), "r.gpkg", actor="t",
            limits=Limits(max_features=100_000, max_vertices=50_000_000, max_vertices_per_feature=50_000_000,
                          max_bytes=500 * 2**20))
    registry.path("red_lines", old).unlink()
    with pytest.raises(VersionConflict, match="missing"):
        rollback(store, "red_lines", old, actor="t")


@pytest.mark.parametrize("backend", ["embedded", "postgis"])
def test_a_relative_state_dir_survives_a_restart_and_rolls_back_to_the_baseline(backend, request, tmp_path,
                                                                                monkeypatch):
    """With a relative ``state_dir`` (the default, ``var``) a published version is found again
    after a restart, whatever the data folder, and the catalog's baseline can be rolled back to
    (both were LayerLoadErrors: the file was looked for under the data folder). A history row
    written by the old code, with the path as it was given then, resolves the same."""
    import pandas as pd

    from layers.catalog import DEFAULT_CATALOG
    from layers.store import EmbeddedStore
    from layers.versions import LayerRegistry, publish, rollback
    from tests.test_access_lists import current_items, table_bytes

    monkeypatch.chdir(tmp_path)
    if backend == "embedded":
        def open_store():
            return EmbeddedStore.open(DEFAULT_CATALOG, registry=LayerRegistry.open(Path("var")))
    else:
        from layers.postgis import PostGISStore

        request.getfixturevalue("pg_store")
        url = request.getfixturevalue("pg_url")

        def open_store():
            return PostGISStore.open(DEFAULT_CATALOG, url, registry=LayerRegistry.open(Path("var")))

    from app.settings import Settings

    store = open_store()
    baseline = store.info("access_lists").version
    items = current_items(store).iloc[:-1]
    out = publish(store, "access_lists", table_bytes(store, pd.DataFrame(items)), "清单.csv", actor="t",
                  limits=Settings().layer_limits())
    assert out["file"] == f"{out['version']}.gpkg"
    stored = store.registry.db.read("SELECT file FROM layer_versions WHERE layer_id = 'access_lists'")
    assert {f for (f,) in stored} == {f"access_lists/{baseline}.gpkg", f"access_lists/{out['version']}.gpkg"}
    getattr(store, "close", lambda: None)()
    # a row as the old code wrote it: the path relative to the working directory of the time
    store = open_store()
    store.registry.db.tx(lambda db: db.execute("UPDATE layer_versions SET file = ? WHERE version = ?",
                                               (f"var/layers/access_lists/{baseline}.gpkg", baseline)))
    assert store.info("access_lists").version == out["version"]  # the restart came up with it
    rollback(store, "access_lists", baseline, actor="t")
    assert store.info("access_lists").version == baseline
    getattr(store, "close", lambda: None)()
    store = open_store()
    assert store.info("access_lists").version == baseline
    getattr(store, "close", lambda: None)()


def test_one_writer_wins_when_writes_of_one_layer_cross(tmp_path):
    """Two workers write the same layer at the same moment: the one prepared against a version
    the other replaced meanwhile is refused (409) and leaves nothing behind; the history has no
    duplicate and every `previous` was in force; a rollback and a publish prepared before it
    cross the same way."""
    import pandas as pd

    from app.settings import Settings
    from layers.catalog import DEFAULT_CATALOG
    from layers.store import EmbeddedStore
    from layers.versions import LayerRegistry, VersionConflict, publish, rollback, sync
    from tests.test_access_lists import current_items, table_bytes

    a, b = (EmbeddedStore.open(DEFAULT_CATALOG, registry=LayerRegistry.open(tmp_path)) for _ in range(2))
    limits = Settings().layer_limits()
    items = current_items(a)
    shorter, shortest = (table_bytes(a, pd.DataFrame(items.iloc[:-n])) for n in (1, 2))
    base = a.info("access_lists").version
    won = {}

    def b_publishes_meanwhile(step):
        if step == "moved":
            won.update(publish(b, "access_lists", shortest, "b.csv", actor="b", limits=limits))

    with pytest.raises(VersionConflict, match="another write"):
        publish(a, "access_lists", shorter, "a.csv", actor="a", limits=limits, pause=b_publishes_meanwhile)
    events = a.registry.events("access_lists")
    assert [(e["action"], e["version"]) for e in events] == [("baseline", base), ("publish", won["version"])]
    assert won["previous"] == base
    assert sorted(p.name for p in (tmp_path / "layers" / "access_lists").glob("*.gpkg")) == \
        sorted([f"{base}.gpkg", f"{won['version']}.gpkg"])
    # the same file again from the worker that has not taken the switch up: refused, no duplicate
    with pytest.raises(VersionConflict):
        publish(a, "access_lists", shortest, "b.csv", actor="a", limits=limits)
    assert len(a.registry.events("access_lists")) == 2
    # a rollback wins over a publish prepared before it
    rollback(b, "access_lists", base, actor="b")
    with pytest.raises(VersionConflict, match="another write"):
        publish(b, "access_lists", shorter, "late.csv", actor="b", limits=limits,
                pause=lambda step: step == "moved" and publish(a, "access_lists", shorter, "a.csv", actor="a",
                                                               limits=limits, expected=base))
    # If-Match: a write prepared against a version no longer in force changes nothing
    sync(b)
    with pytest.raises(VersionConflict, match="If-Match"):
        rollback(b, "access_lists", won["version"], actor="b", expected=base)
    versions = [e["version"] for e in a.registry.events("access_lists")]
    assert all(v1 != v2 for v1, v2 in zip(versions, versions[1:])), versions


def test_if_match_and_etag_over_http(vclient, keys):
    ed = keys["editor"]
    current = vclient.get("/v1/layers/red_lines/versions", headers=ed).json()["version_in_force"]
    gdf = gpd.read_file("data/sample/red_lines.gpkg").iloc[2:]
    files = {"file": ("r.gpkg", gpkg_bytes(gdf), "application/geopackage+sqlite3")}
    stale = vclient.post("/v1/layers/red_lines/versions", files=files, headers={**ed, "If-Match": '"nope"'})
    assert stale.status_code == 409 and "If-Match" in stale.text
    ok = vclient.post("/v1/layers/red_lines/versions", files=files, headers={**ed, "If-Match": f'"{current}"'})
    assert ok.status_code == 201, ok.text
    assert ok.headers["ETag"] == f'"{ok.json()["version"]}"' and ok.json()["previous"] == current
    back = vclient.post("/v1/layers/red_lines/rollback", json={"version": current},
                        headers={**ed, "If-Match": ok.headers["ETag"]})
    assert back.status_code == 200, back.text
