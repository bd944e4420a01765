"""The HTTP API: shapes of answers and a clear 4xx for every kind of bad input."""

import pytest

from app.service import Live
from tests.conftest import TAIYUAN, TANGSHAN, square

STEEL = {"industry": "C3120", "action": "new"}


def test_healthz(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["layers"] == len(client.app.state.services.store.layers()) == 26  # the sample catalog
    assert body["loaded_at"]


def test_assess_answer_carries_clause_layer_versions_and_rules_version(client):
    r = client.post("/v1/assess", json={"site": square(*TANGSHAN), "project": STEEL})
    assert r.status_code == 200
    body = r.json()
    assert body["verdict"] == "prohibited"
    reason = next(x for x in body["reasons"] if x["rule_id"] == "key_region.capacity_ban")
    assert set(reason["summary"]) == {"zh", "en"}
    assert reason["clause"]["document"] == "减污降碳协同增效实施方案"
    assert reason["layer"]["id"] == "key_regions" and reason["layer"]["version"]
    assert reason["features"][0]["overlap_m2"] > 0
    assert body["site"]["area_m2"] > 0 and len(body["site"]["centroid"]) == 2
    assert {l["id"] for l in body["layers"]} >= {"key_regions", "red_lines", "control_units"}
    assert all({"id", "version", "synthetic"} <= set(l) for l in body["layers"])
    assert body["rules_version"] == client.get("/v1/rules").json()["version"]
    assert body["assessed_at"].endswith("+00:00")
    assert body["key_region_edition"] == "2023"
    assert {a["feature_id"] for a in body["admin"]} >= {"130000", "130200"}


def test_assess_accepts_feature_and_feature_collection(client):
    feat = {"type": "Feature", "properties": {"name": "a"}, "geometry": square(*TANGSHAN)}
    fc = {"type": "FeatureCollection", "features": [feat, {**feat, "geometry": square(118.25, 39.63)}]}
    for site in (feat, fc):
        r = client.post("/v1/assess", json={"site": site, "project": STEEL, "key_region_edition": "2018"})
        assert r.status_code == 200, r.text
        assert r.json()["key_region_edition"] == "2018"
    single = client.post("/v1/assess", json={"site": feat, "project": STEEL}).json()["site"]["area_m2"]
    double = client.post("/v1/assess", json={"site": fc, "project": STEEL}).json()["site"]["area_m2"]
    assert double == pytest.approx(2 * single, rel=1e-3)


def test_synthetic_answers_are_labelled(client):
    body = client.post("/v1/assess", json={"site": square(*TAIYUAN), "project": STEEL}).json()
    assert body["synthetic"] is True
    assert "synthetic" in body["notice"]["en"].lower() and "合成" in body["notice"]["zh"]
    assert any(l["synthetic"] for l in body["layers"])


def test_here_lists_every_layer(client, store):
    body = client.get("/v1/here", params={"lon": TAIYUAN[0], "lat": TAIYUAN[1]}).json()
    ids = [l["id"] for l in body["layers"]]
    assert ids == [i.id for i in store.layers() if i.spatial]  # an access list has no place
    by_id = {l["id"]: l for l in body["layers"]}
    assert by_id["admin_province"]["features"][0]["feature_id"] == "140000"
    assert len(by_id["control_units"]["features"]) == 1
    assert {f["properties"]["edition"] for f in by_id["key_regions"]["features"]} == {"2018", "2023"}
    assert body["synthetic"] is True


def test_layers_and_layer(client):
    body = client.get("/v1/layers").json()
    assert body["storage_crs"] == "EPSG:4490"
    units = next(l for l in body["layers"] if l["id"] == "control_units")
    assert units["synthetic"] is True and units["count"] > 500 and len(units["bbox"]) == 4
    one = client.get("/v1/layers/control_units").json()
    assert one == units
    assert client.get("/v1/layers/nope").status_code == 404


def test_industries_and_rules(client):
    inds = client.get("/v1/industries").json()
    steel = next(i for i in inds["industries"] if i["code"] == "C3120")
    assert steel["two_high"] == "钢铁" and steel["energy_intensive"] is True
    assert steel["level"] == "class" and set(steel["products"]) == {"bf_bof_steel", "eaf_steel"}
    levels = {i["level"] for i in inds["industries"]}
    assert levels == {"section", "division", "group", "class"}
    assert sum(i["level"] == "section" for i in inds["industries"]) == 20
    assert sum(i["level"] == "division" for i in inds["industries"]) == 97
    cement = client.get("/v1/industries", params={"q": "水泥"}).json()["industries"]
    assert {i["code"] for i in cement} >= {"C301", "C3011"} and all("水泥" in i["zh"] for i in cement)
    assert client.get("/v1/industries", params={"level": "section"}).json()["industries"][0]["code"] == "A"
    rules = client.get("/v1/rules").json()
    ids = [r["id"] for f in rules["families"] for r in f["rules"]]
    assert "key_region.capacity_ban" in ids and "land.pv_on_basic_farmland" in ids


@pytest.mark.parametrize("code", ["C31", "N7724", "A0111", "C2662", "C3831", "N77", "D"])
def test_any_valid_code_at_any_level_is_judged_and_named(client, code):
    r = _post(client, {"site": {"type": "Point", "coordinates": [112.55, 37.87]}, "project": {"industry": code}})
    assert r.status_code == 200, r.text
    assert r.json()["project"]["industry"] == code and r.json()["project"]["industry_name"]["zh"]


def test_a_2011_edition_code_names_its_2017_successors(client):
    r = _post(client, {"site": {"type": "Point", "coordinates": [112.55, 37.87]}, "project": {"industry": "B0710"}})
    assert r.status_code == 422
    assert "2011" in r.text and "B0711" in r.text and "B0712" in r.text


def _post(client, body, raw=None):
    if raw is not None:
        return client.post("/v1/assess", content=raw, headers={"content-type": "application/json"})
    return client.post("/v1/assess", json=body)


BOWTIE = {"type": "Polygon", "coordinates": [[[118.1, 39.6], [118.2, 39.7], [118.2, 39.6], [118.1, 39.7], [118.1, 39.6]]]}


@pytest.mark.parametrize(
    ("body", "raw", "needle"),
    [
        (None, "this is not json", "JSON"),
        (None, '{"site": {"type":"Point","coordinates":[NaN, 39.6]}, "project": {"industry":"C3120"}}', "NaN"),
        (None, '{"site": {"type":"Point","coordinates":[Infinity, 39.6]}, "project": {"industry":"C3120"}}', "Infinity"),
        (None, '{"site": {"type":"Point","coordinates":[1e400, 39.6]}, "project": {"industry":"C3120"}}', "too large"),
        (None, '{"site": {"type":"Point","coordinates":[118, 39.6]}, "project": {"industry":"\\ud800"}}', "surrogate"),
        (None, '{"site": {"type":"Point","coordinates":[NaN, 1]}}', "NaN"),  # fails validation too
        ({"site": square(-169.95, 10.05, 0.05), "project": STEEL}, None, "outside the service area"),
        ({"site": {"type": "Polygon", "coordinates": [[[179.95, 10], [-179.95, 10], [-179.95, 10.1],
                                                       [179.95, 10.1], [179.95, 10]]]}, "project": STEEL},
         None, "outside the service area"),
        ({"site": {"type": "MultiPolygon", "coordinates": [square(118 + i * 0.001, 39.6, 0.0004)["coordinates"]
                                                           for i in range(1001)]}, "project": STEEL}, None, "1,001 polygons"),
        ({"site": {"type": "Point", "coordinates": [500, 39.6]}, "project": STEEL}, None, "out of range"),
        ({"site": {"type": "Point", "coordinates": [40520986.0, 3353189.0]}, "project": STEEL}, None, "Gauss"),
        ({"site": BOWTIE, "project": STEEL}, None, "Self-intersection"),
        ({"site": square(*TANGSHAN), "project": {"industry": "Z9999"}}, None, "unknown industry"),
        ({"site": {"type": "Polygon", "coordinates": []}, "project": STEEL}, None, "empty"),
        ({"site": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]}, "project": STEEL}, None, "LineString"),
        ({"site": {"type": "Point", "coordinates": "here"}, "project": STEEL}, None, "coordinates"),
        ({"site": square(*TANGSHAN), "project": {"industry": 3120}}, None, "industry"),
        ({"site": square(*TANGSHAN), "project": {"industry": "C3120", "action": "demolish"}}, None, "action"),
        ({"site": square(*TANGSHAN), "project": STEEL, "key_region_edition": "2020"}, None, "key_region_edition"),
        ({"project": STEEL}, None, "site"),
        ({"site": square(*TANGSHAN)}, None, "project"),
        ({"site": {"type": "Feature", "properties": {}, "geometry": None}, "project": STEEL}, None, "geometry"),
        ({"site": {"type": "FeatureCollection", "features": []}, "project": STEEL}, None, "no features"),
        ({"site": {"type": "Polygon", "coordinates": [[[118.1, 39.6], [118.2, 39.6], [118.1, 39.6], [118.1, 39.6]]]}, "project": STEEL}, None, ""),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_problem(client, body, raw, needle):
    r = _post(client, body, raw)
    assert 400 <= r.status_code < 500, r.text
    assert needle.lower() in r.text.lower(), r.text


def test_oversized_body_is_refused(client):
    big = {"site": square(*TANGSHAN), "project": {**STEEL, "name": "x" * 100}, "pad": "y" * (11 * 1024 * 1024)}
    r = client.post("/v1/assess", json=big)
    assert r.status_code == 413 and "exceeds" in r.json()["detail"]


def test_too_many_vertices_is_refused(client):
    import math

    n = 120_000
    ring = [[118.18 + 0.01 * math.cos(2 * math.pi * i / n), 39.63 + 0.01 * math.sin(2 * math.pi * i / n)] for i in range(n)]
    ring.append(ring[0])
    r = client.post("/v1/assess", json={"site": {"type": "Polygon", "coordinates": [ring]}, "project": STEEL})
    assert r.status_code == 422 and "vertices" in r.text


def test_deep_nesting_is_refused(client):
    deep = "[" * 3000 + "]" * 3000
    raw = '{"site": {"type": "Polygon", "coordinates": ' + deep + '}, "project": {"industry": "C3120"}}'
    r = _post(client, None, raw)
    assert 400 <= r.status_code < 500


@pytest.mark.parametrize("params", [{"lon": 200, "lat": 30}, {"lon": "x", "lat": 30}, {"lat": 30}, {"lon": "nan", "lat": 30}])
def test_here_bad_input(client, params):
    assert client.get("/v1/here", params=params).status_code == 422


def test_server_still_healthy_after_bad_input(client):
    assert client.get("/healthz").status_code == 200


def test_here_samples_the_rasters(client, store):
    from layers.raster import sample

    r = client.get("/v1/here", params={"lon": 112.55, "lat": 37.87}).json()
    values = {v["id"]: v for v in r["values"]}
    assert set(values) == {i.id for i in store.rasters()}
    ghi = store.raster("ghi")
    assert values["ghi"]["value"] == pytest.approx(float(sample(ghi, 112.55, 37.87)[0]), abs=1e-3)
    assert values["ghi"]["version"] == ghi.version and values["ghi"]["unit"] == "kWh/m2/a"
    outside = client.get("/v1/here", params={"lon": 120.7, "lat": 28.0}).json()
    assert all(v["value"] is None for v in outside["values"])


def test_layers_list_rasters(client, store):
    body = client.get("/v1/layers").json()
    assert [r["id"] for r in body["rasters"]] == [i.id for i in store.rasters()]
    one = client.get("/v1/layers/slope").json()
    assert one["kind"] == "raster" and one["unit"] == "degree" and one["crs"] == "EPSG:4490"
    assert one["bbox"] == [104.0, 34.4, 114.8, 41.2]


def test_as_of_is_a_date_and_errors_are_documented(client):
    body = {"site": {"type": "Point", "coordinates": [112.55, 37.87]}, "project": {"industry": "C3120"}}
    assert client.post("/v1/assess", json={**body, "as_of": 0}).status_code == 422
    assert client.post("/v1/assess", json={**body, "as_of": "2026-13-01"}).status_code == 422
    ok = client.post("/v1/assess", json={**body, "as_of": "2025-01-01"})
    assert ok.status_code == 200 and ok.json()["as_of"] == "2025-01-01"
    r = client.request("PUT", "/v1/admin/keys")
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert set(client.request("PUT", "/v1/jobs/assess").headers["allow"].split(", ")) == {"POST"}
    doc = client.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert "404" in op["responses"] and "422" in op["responses"], (method, path)


def test_cors_only_for_configured_origins(store, rules, industries, tmp_path):
    from fastapi.testclient import TestClient

    from app.deps import Services
    from app.main import create_app
    from app.service import Live
    from app.settings import Settings

    settings = Settings(state_dir=tmp_path, cors_origins=["https://map.example.gov.cn"], layer_sync_s=0)
    with TestClient(create_app(settings, Services(settings, Live(store, rules, industries)))) as c:
        ok = c.get("/v1/layers", headers={"Origin": "https://map.example.gov.cn"})
        assert ok.headers["access-control-allow-origin"] == "https://map.example.gov.cn"
        other = c.get("/v1/layers", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers
        pre = c.options("/v1/assess", headers={"Origin": "https://evil.example.com",
                                                "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 400 and "access-control-allow-origin" not in pre.headers
        pre = c.options("/v1/admin/keys/x", headers={"Origin": "https://map.example.gov.cn",
                                                     "Access-Control-Request-Method": "DELETE",
                                                     "Access-Control-Request-Headers": "x-api-key"})
        assert pre.status_code == 200
    # no origins configured: no CORS headers at all
    settings = Settings(state_dir=tmp_path, layer_sync_s=0)
    with TestClient(create_app(settings, Services(settings, Live(store, rules, industries)))) as c:
        assert "access-control-allow-origin" not in c.get(
            "/v1/layers", headers={"Origin": "https://map.example.gov.cn"}).headers


def test_work_over_the_time_budget_is_stopped_with_a_503(client, monkeypatch):
    """request_timeout_s ends the overlay and siting loops and names itself; the next request
    within budget is answered as usual."""
    settings = client.app.state.services.settings
    monkeypatch.setattr(settings, "request_timeout_s", 1e-9)
    for path, body in (("/v1/assess", {"site": square(*TAIYUAN), "project": STEEL}),
                       ("/v1/siting", {"adcode": "140000", "tech": "pv"})):
        r = client.post(path, json=body)
        assert r.status_code == 503 and r.headers["retry-after"] == "10", r.text
        assert "request_timeout_s" in r.json()["detail"]
    monkeypatch.setattr(settings, "request_timeout_s", 30.0)
    assert client.post("/v1/assess", json={"site": square(*TAIYUAN), "project": STEEL}).status_code == 200


def test_rate_limits_answer_429_with_retry_after(store, rules, industries, tmp_path):
    """Per address without a key and per API key, each its own bucket; /healthz is never limited."""
    from fastapi.testclient import TestClient

    from app.deps import Services
    from app.main import create_app
    from app.settings import Settings
    from zoning.industries import load_industries

    settings = Settings(state_dir=tmp_path, rate_limit_anonymous_per_min=3, rate_limit_key_per_min=5,
                        admin_key="zk_test_admin")
    services = Services(settings=settings, live=Live(store, rules, industries or load_industries()))
    with TestClient(create_app(settings, services)) as c:
        assert [c.get("/v1/layers").status_code for _ in range(3)] == [200] * 3
        r = c.get("/v1/layers")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1, r.text
        assert "rate_limit_anonymous_per_min" in r.json()["detail"]
        assert c.get("/healthz").status_code == 200 and c.get("/tiles/legend.json").status_code == 200
        key = {"X-API-Key": "zk_test_admin"}  # a key has its own bucket
        assert [c.get("/v1/layers", headers=key).status_code for _ in range(6)] == [200] * 5 + [429]


def test_a_worker_works_on_request_threads_requests_at_once(store, rules, industries, tmp_path):
    """request_threads bounds the requests one process works on at once (more only fight over
    the GIL); the others wait their turn and are answered."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from app.deps import Services
    from app.main import create_app
    from app.settings import Settings

    settings = Settings(state_dir=tmp_path, request_threads=3, rate_limit_anonymous_per_min=0)
    app = create_app(settings, Services(settings=settings, live=Live(store, rules, industries)))
    busy, most, lock = [0], [0], threading.Lock()

    def work():  # a sync endpoint, as every spatial one is
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        time.sleep(0.05)
        with lock:
            busy[0] -= 1
        return {"ok": True}

    app.add_api_route("/test/work", work)
    with TestClient(app) as c, ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(lambda _: c.get("/test/work").status_code, range(24)))
    assert codes == [200] * 24 and most[0] == 3


def test_anonymous_stored_results_are_bounded_and_expire(store, rules, industries, tmp_path):
    """Siting runs without a key are kept up to a bound per address and in total, and expire;
    a key is not bound by them. Over the bound: 429 before any work, nothing stored."""
    from fastapi.testclient import TestClient

    from app.deps import Services
    from app.main import create_app
    from app.settings import Settings

    settings = Settings(state_dir=tmp_path, anonymous_records_per_client=2, anonymous_records_total=3,
                        admin_key="zk_test_admin")
    services = Services(settings=settings, live=Live(store, rules, industries))
    body = {"adcode": "640100", "tech": "pv"}
    with TestClient(create_app(settings, services)) as c:
        records = c.app.state.services.records
        assert [c.post("/v1/siting", json=body).status_code for _ in range(2)] == [200, 200]
        r = c.post("/v1/siting", json=body)
        assert r.status_code == 429 and r.headers["retry-after"] and "anonymous_records_per_client" in r.text
        assert records.count() == 2
        assert c.post("/v1/siting", json=body, headers={"X-API-Key": "zk_test_admin"}).status_code == 200
        # another address: the total bound (3) is next
        other = TestClient(c.app, client=("10.0.0.2", 5000))
        assert other.post("/v1/siting", json=body).status_code == 200
        r = TestClient(c.app, client=("10.0.0.3", 5000)).post("/v1/siting", json=body)
        assert r.status_code == 429 and "anonymous_records_total" in r.text
        # expiry: records older than the TTL are dropped before the count
        records.db.tx(lambda db: db.execute("UPDATE assessments SET created = '2000-01-01T00:00:00.000+00:00' "
                                            "WHERE owner LIKE 'anon:%'"))
        assert c.post("/v1/siting", json=body).status_code == 200
        assert records.count() == 2  # the key's result and the new one


def test_every_route_is_a_strict_route(client):
    """Strict JSON, the time budget and auth before the body hold for every operation only if
    every router uses app.routing.StrictRoute: a new router that forgets it fails here."""
    from fastapi.routing import APIRoute

    from app.routing import StrictRoute

    def walk(routes):  # FastAPI keeps an included router whole (its original_router)
        for r in routes:
            inner = getattr(r, "original_router", None)
            yield from walk(inner.routes) if inner is not None else [r]

    routes = [r for r in walk(client.app.routes) if isinstance(r, APIRoute)]
    assert len(routes) > 30
    assert [r.path for r in routes if not isinstance(r, StrictRoute)] == []


@pytest.mark.parametrize("raw, word", [
    ('{"site": {"type": "Point", "coordinates": [112.55, 37.87]}, "project": {"industry": "C3011", "industry": "D4416"}}',
     "given twice"),
    ('{"site": {"type": "Point", "coordinates": [112.55, 37.87]}, "site": {"type": "Point", "coordinates": [1, 2]},'
     ' "project": {"industry": "C3011"}}', "given twice"),
    ('{"site": {"type": "Point", "coordinates": ["112.55", "37.87"]}, "project": {"industry": "C3011"}}',
     "must be numbers"),
    ('{"site": {"type": "Point", "coordinates": [true, 37.87]}, "project": {"industry": "C3011"}}', "must be numbers"),
])
def test_duplicate_keys_and_coordinates_that_are_not_numbers_are_refused(client, raw, word):
    r = _post(client, None, raw)
    assert r.status_code == 422 and word in r.text, r.text


def test_as_of_before_a_layers_data_existed_is_undetermined_saying_why(client):
    """as_of=0001-01-01 was judged with today's layers. Before a layer's data existed it says
    nothing: the rules that need it are undetermined, naming the layer and the date."""
    body = {"site": square(*TAIYUAN, 0.002), "project": {"industry": "C3670"}}
    now = client.post("/v1/assess", json=body).json()
    assert any(r["layer"] and r["layer"]["id"] == "control_units" and r["verdict"] != "undetermined"
               for r in now["reasons"])
    then = client.post("/v1/assess", json={**body, "as_of": "2020-01-01"}).json()
    units = [r for r in then["reasons"] if r["layer"] and r["layer"]["id"] == "control_units"]
    assert units and all(r["verdict"] == "undetermined" and "later than as_of" in r["note"] for r in units)
    assert not any(r["layer"] and r["layer"]["id"] == "access_lists" for r in then["reasons"])
    assert then["verdict"] in ("undetermined", "prohibited")
    ancient = client.post("/v1/assess", json={**body, "as_of": "0001-01-01"}).json()
    assert ancient["verdict"] != "permitted" and not any(
        r["features"] for r in ancient["reasons"] if r["layer"] and r["layer"]["kind"] != "access_list")
