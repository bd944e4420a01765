"""The /map page in a real browser: Debian's Chromium driven by Playwright against the live
server. The map loads from our own tiles, a click shows what is at that point, a drawn or
uploaded site gets the same verdict as the API gives for it. Screenshots go to
tests/artifacts/ for people to look at."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import QINHUANGDAO, TAIYUAN, WENZHOU, square

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Chromium as the machines allow it: headless, no GPU (WebGL through SwiftShader), and no
# background connections (the network is closed; they would only fail and slow start-up).
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
BACKGROUND = (0xF8, 0xFA, 0xFC)
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Debian chromium is missing: `make browser` installs it")
        pytest.skip("Debian chromium is not installed (`make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/map")
    page.wait_for_function("document.body.dataset.ready", timeout=TIMEOUT_MS)
    assert page.evaluate("document.body.dataset.ready") == "1", page.inner_text("#result")
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def wait_idle(page) -> None:
    page.evaluate("() => new Promise(r => { zoningMap.map.once('idle', r); zoningMap.map.triggerRepaint(); })")


def jump(page, lon: float, lat: float, zoom: float) -> None:
    page.evaluate(f"zoningMap.map.jumpTo({{center: [{lon}, {lat}], zoom: {zoom}}})")
    wait_idle(page)


def map_pixels(page) -> np.ndarray:
    from PIL import Image

    png = page.locator("#map canvas").screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def drawn_share(pixels: np.ndarray) -> float:
    """Share of the map's pixels that are not the plain background colour."""
    return float(np.any(np.abs(pixels.astype(int) - BACKGROUND) > 6, axis=-1).mean())


def click_lonlat(page, lon: float, lat: float) -> None:
    x, y = page.evaluate(f"(() => {{ const p = zoningMap.map.project([{lon}, {lat}]); return [p.x, p.y]; }})()")
    page.locator("#map canvas").click(position={"x": x, "y": y})


def test_map_page_is_served_with_vendored_maplibre(live_server):
    import urllib.request

    html = urllib.request.urlopen(f"{live_server}/map").read().decode()
    assert "/map/vendor/maplibre-gl.js" in html and "http" not in html.split("<body>")[1]
    js = urllib.request.urlopen(f"{live_server}/map/vendor/maplibre-gl.js")
    assert js.status == 200 and len(js.read()) > 500_000


def test_tiles_render_and_layers_switch(page):
    jump(page, 112.4, 37.7, 7)
    rendered = page.evaluate("zoningMap.map.queryRenderedFeatures({layers: ['control_units']}).length")
    assert rendered > 20, "control-unit tiles did not render"
    shown = drawn_share(map_pixels(page))
    assert shown > 0.5, f"canvas mostly blank ({shown:.0%} drawn)"
    # the synthetic banner is up while synthetic layers are on show
    assert page.locator("[data-testid=synthetic-banner]").is_visible()
    assert "合成" in page.inner_text("[data-testid=synthetic-banner]")

    # switch every layer off: the canvas goes blank and the banner goes away
    for box in page.locator("#layer-list input[type=checkbox]").all():
        box.uncheck()
    wait_idle(page)
    assert drawn_share(map_pixels(page)) < 0.01
    assert not page.locator("[data-testid=synthetic-banner]").is_visible()
    page.locator("#chk-admin_county").check()
    wait_idle(page)
    assert not page.locator("[data-testid=synthetic-banner]").is_visible()  # real data only
    assert 0.01 < drawn_share(map_pixels(page)) < 0.5


def test_raster_layer_switches_on_with_its_ramp(page):
    jump(page, 106.2, 38.0, 7)
    for box in page.locator("#layer-list input[type=checkbox]").all():
        box.uncheck()
    wait_idle(page)
    assert drawn_share(map_pixels(page)) < 0.01
    page.locator("#chk-ghi").check()
    wait_idle(page)
    pixels = map_pixels(page)
    assert drawn_share(pixels) > 0.9  # the raster covers this view
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # a ramp, not a flat fill
    assert page.locator("[data-testid=synthetic-banner]").is_visible()
    assert page.locator("#legend .swatch.ramp").count() == 4


def test_key_region_edition_switch(page):
    # 秦皇岛 joined 京津冀及周边 in 2023; 温州 left 长三角 in 2023
    count = ("zoningMap.map.queryRenderedFeatures(zoningMap.map.project(zoningMap.map.getCenter()), "
             "{layers: ['key_regions']}).filter(f => f.properties.edition === '%s').length")
    jump(page, *QINHUANGDAO, 8)
    assert page.evaluate(count % "2023") > 0
    page.locator("#edition input[value='2018']").check()
    wait_idle(page)
    assert page.evaluate(count % "2023") == 0 and page.evaluate(count % "2018") == 0
    jump(page, *WENZHOU, 8)
    assert page.evaluate(count % "2018") > 0


def test_click_shows_everything_at_the_point(page, client):
    lon, lat = TAIYUAN
    jump(page, lon, lat, 9)
    click_lonlat(page, lon, lat)
    popup = page.locator("[data-testid=here-popup]")
    popup.wait_for(timeout=TIMEOUT_MS)
    here = page.evaluate("zoningMap.state.lastHere")
    expected = client.get("/v1/here", params={"lon": here["lon"], "lat": here["lat"]}).json()
    assert here["layers"] == expected["layers"]
    text = popup.inner_text()
    assert "太原市" in text and "山西省" in text
    unit = next(lyr for lyr in expected["layers"] if lyr["id"] == "control_units")["features"][0]
    assert unit["properties"]["code"] in text
    assert popup.locator("[data-layer=control_units] .tag-synthetic").count() == 1


def test_drawn_site_gets_the_api_verdict(page, client):
    lon, lat = TAIYUAN
    jump(page, lon, lat, 12)
    page.select_option("[data-testid=industry]", "C3120")
    page.click("[data-testid=draw]")
    for dx, dy in [(-0.01, -0.01), (0.01, -0.01), (0.01, 0.01), (-0.01, 0.01)]:
        click_lonlat(page, lon + dx, lat + dy)
    assert page.evaluate("zoningMap.state.vertices.length") == 4
    page.click("[data-testid=finish]")
    verdict = page.locator("[data-testid=verdict]")
    verdict.wait_for(timeout=TIMEOUT_MS)
    site = page.evaluate("zoningMap.state.site")
    api = client.post("/v1/assess", json={"site": site, "project": {"industry": "C3120"},
                                          "key_region_edition": "2023"}).json()
    assert verdict.get_attribute("data-verdict") == api["verdict"] == "prohibited"
    shown = page.locator("#result .reason").evaluate_all("els => els.map(e => e.dataset.rule)")
    assert shown == [r["rule_id"] for r in api["reasons"]]
    assert "禁止" in verdict.inner_text()
    # clauses are shown with the layer version behind them
    first = api["reasons"][0]
    assert first["clause"]["document"] in page.inner_text("#result")
    if first["layer"]:
        assert first["layer"]["version"] in page.inner_text("#result")
    # English labels on request, same answer
    page.click("[data-testid=lang-toggle]")
    assert "Prohibited" in verdict.inner_text()
    assert page.inner_text("#layer-list").count("synthetic") >= 5
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "map-page-drawn-site.png")


def test_product_and_claims_reach_the_verdict(page, client, tmp_path):
    """The form offers the product vocabulary of the chosen code and the three claims; what is
    chosen is what the API judges (drawn and uploaded sites), and the answer shows it."""
    site = square(*TAIYUAN, 0.004)  # a key-region city (2023 map)
    page.select_option("[data-testid=industry]", "C3011")
    offered = page.locator("[data-testid=product] option").evaluate_all("els => els.map(e => e.value)")
    assert offered == ["", "clinker", "grinding_station"]
    page.select_option("[data-testid=product]", "grinding_station")
    page.evaluate(f"assess({json.dumps(site)}, false)")
    verdict = page.locator("[data-testid=verdict]")
    verdict.wait_for(timeout=TIMEOUT_MS)
    api = client.post("/v1/assess", json={"site": site, "key_region_edition": "2023", "project": {
        "industry": "C3011", "product": "grinding_station"}}).json()
    assert verdict.get_attribute("data-verdict") == api["verdict"]
    shown = page.locator("#result .reason").evaluate_all("els => els.map(e => e.dataset.rule)")
    assert shown == [r["rule_id"] for r in api["reasons"]]
    assert "key_region.capacity_ban" not in shown and "水泥粉磨站" in page.inner_text("[data-testid=project]")

    # steel with the capacity-replacement claim, from an uploaded file: the replacement path
    page.select_option("[data-testid=industry]", "C3120")
    assert page.locator("[data-testid=product] option").count() == 3  # not stated, BF-BOF, EAF
    page.check("[data-testid=capacity_replacement]")
    ring = " ".join(f"{x},{y}" for x, y in site["coordinates"][0])
    path = tmp_path / "steel.kml"  # not GeoJSON, so it goes through /v1/assess/upload
    path.write_text('<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><Polygon><outerBoundaryIs>'
                    f"<LinearRing><coordinates>{ring}</coordinates></LinearRing></outerBoundaryIs>"
                    "</Polygon></Placemark></kml>", encoding="utf-8")
    page.set_input_files("[data-testid=upload]", str(path))
    page.wait_for_function("document.querySelector('[data-testid=upload-summary], [data-testid=error]')", timeout=TIMEOUT_MS)
    assert page.locator("[data-testid=upload-summary]").count() == 1, page.inner_text("#result")
    api = client.post("/v1/assess", json={"site": site, "key_region_edition": "2023", "project": {
        "industry": "C3120", "capacity_replacement": True}}).json()
    rules = page.evaluate("zoningMap.state.lastAssessment.reasons.map(r => r.rule_id)")
    assert rules == [r["rule_id"] for r in api["reasons"]]
    assert "capacity.replacement" in rules and "capacity.steel_ban" not in rules
    assert "产能置换" in page.inner_text("[data-testid=project]")
    # a coal boiler with its capacity: the city list's size condition (≤35 蒸吨/h) is evaluated
    page.uncheck("[data-testid=capacity_replacement]")
    page.select_option("[data-testid=industry]", "D4430")
    page.select_option("[data-testid=product]", "coal_fired")
    page.fill("[data-testid=capacity-value]", "20")
    page.select_option("[data-testid=capacity-unit]", "蒸吨/h")
    page.evaluate(f"assess({json.dumps(site)}, false)")
    page.wait_for_function("zoningMap.state.lastAssessment.project.industry === 'D4430'", timeout=TIMEOUT_MS)
    api = client.post("/v1/assess", json={"site": site, "key_region_edition": "2023", "project": {
        "industry": "D4430", "product": "coal_fired", "capacity": {"value": 20, "unit": "蒸吨/h"}}}).json()
    assert page.evaluate("zoningMap.state.lastAssessment.project.capacity") == {"value": 20, "unit": "蒸吨/h"}
    assert page.evaluate("zoningMap.state.lastAssessment.verdict") == api["verdict"]
    assert "20 蒸吨/h" in page.inner_text("[data-testid=project]")
    page.fill("[data-testid=capacity-value]", "")
    # a code without a vocabulary offers none
    page.select_option("[data-testid=industry]", "D4416")
    assert page.locator("[data-testid=product]").is_disabled()


def test_uploaded_geojson_site_gets_a_verdict(page, client, tmp_path):
    site = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "地块1"}, "geometry": square(106.2, 38.47, 0.004)}]}
    path = tmp_path / "site.geojson"
    path.write_text(json.dumps(site), encoding="utf-8")
    page.select_option("[data-testid=industry]", "D4416")
    page.set_input_files("[data-testid=upload]", str(path))
    verdict = page.locator("[data-testid=verdict]")
    verdict.wait_for(timeout=TIMEOUT_MS)
    api = client.post("/v1/assess", json={"site": site, "project": {"industry": "D4416"}}).json()
    assert verdict.get_attribute("data-verdict") == api["verdict"]
    wait_idle(page)
    center = page.evaluate("zoningMap.map.getCenter().toArray()")
    assert abs(center[0] - 106.2) < 0.01 and abs(center[1] - 38.47) < 0.01  # zoomed to the site
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "map-page-uploaded-site.png")


def test_bad_upload_shows_the_reason(page, tmp_path):
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]', encoding="utf-8")
    page.set_input_files("[data-testid=upload]", str(path))
    page.locator("[data-testid=error]").wait_for(timeout=TIMEOUT_MS)
    assert "broken.geojson" in page.inner_text("[data-testid=error]")
    # a well-formed file that is not a valid site: the API's 4xx answer is shown
    path.write_text(json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}))
    page.set_input_files("[data-testid=upload]", str(path))
    page.wait_for_function("(document.querySelector('[data-testid=error]') || {}).textContent?.includes('422')",
                           timeout=TIMEOUT_MS)
    shown = page.inner_text("[data-testid=error]")  # each problem as place: message, not raw JSON
    assert "site.Polygon.coordinates.0: List should have at least 4 items" in shown and "[{" not in shown


def test_uploaded_site_file_in_another_format_and_crs(page, client, tmp_path, live_server):
    """A 界址点 CSV in Gauss-Krüger zone 38 goes to /v1/assess/upload with the CRS typed in."""
    from tests.test_uploads import GK_PREFIXED, _points_table

    path = tmp_path / "界址点.csv"
    path.write_bytes(_points_table(GK_PREFIXED).to_csv(index=False).encode("gb18030"))
    page.select_option("[data-testid=industry]", "C3120")
    page.fill("[data-testid=crs]", f"EPSG:{GK_PREFIXED}")
    page.set_input_files("[data-testid=upload]", str(path))
    verdict = page.locator("[data-testid=verdict]")
    verdict.wait_for(timeout=TIMEOUT_MS)
    summary = page.inner_text("[data-testid=upload-summary]")
    assert f"EPSG:{GK_PREFIXED}" in summary and "2" in summary
    record = page.evaluate("zoningMap.state.lastAssessment.record")
    assert verdict.get_attribute("data-verdict") == record["verdict"] == "prohibited"
    assert page.evaluate("zoningMap.map.getSource('site').serialize().data.features.length") == 2
    href = page.get_attribute("[data-testid=report-link]", "href")
    import urllib.request

    assert urllib.request.urlopen(href).read()[:5] == b"%PDF-"
    # without the CRS the server's 422 explains what to pass
    page.fill("[data-testid=crs]", "")
    page.set_input_files("[data-testid=upload]", str(path))
    page.wait_for_function("(document.querySelector('[data-testid=error]') || {}).textContent?.includes('EPSG:4526')",
                           timeout=TIMEOUT_MS)


def test_find_sites_panel_shows_ranked_candidates(page, client):
    page.select_option("[data-testid=tech]", "pv")
    page.fill("[data-testid=adcode]", "640000")
    page.click("[data-testid=find]")
    page.locator("[data-testid=siting-table]").wait_for(timeout=TIMEOUT_MS)
    api = client.post("/v1/siting", json={"adcode": "640000", "tech": "pv"}).json()
    rows = page.locator("[data-testid=siting-table] tr[data-id]")
    assert rows.count() == len(api["features"]) > 0
    assert rows.first.get_attribute("data-id") == api["features"][0]["id"]
    assert page.locator(".rank-label").count() == len(api["features"])
    wait_idle(page)
    assert page.evaluate("zoningMap.map.queryRenderedFeatures({layers: ['candidates-fill']}).length") > 0
    assert "GPKG" in page.inner_text("[data-testid=siting-result]")
    page.screenshot(path=ARTIFACTS / "map-page-find-sites.png")
    page.fill("[data-testid=adcode]", "999999")
    page.click("[data-testid=find]")
    page.locator("[data-testid=siting-error]").wait_for(timeout=TIMEOUT_MS)
    assert "999999" in page.inner_text("[data-testid=siting-error]")
