"""Site files in every accepted format and CRS give the same parcels (areas within 0.1 %) and
the same verdicts as the equivalent GeoJSON; stored assessments and their reports."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from layers.crs import wgs84_to_bd09, wgs84_to_gcj02

# two parcels in 太原 (3° zone 38, central meridian 114°E), one with a hole
P1 = shapely.Polygon([(112.540, 37.860), (112.556, 37.861), (112.559, 37.874), (112.542, 37.872)],
                     [[(112.546, 37.864), (112.550, 37.864), (112.550, 37.867), (112.546, 37.867)]])
P2 = shapely.Polygon([(112.570, 37.860), (112.580, 37.860), (112.580, 37.870), (112.570, 37.870)])
NAMES = ["一号地块", "二号地块"]
GK_PREFIXED, GK_PLAIN = 4526, 4547  # zone 38 with / without the zone prefix


def frame(crs=4490) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": NAMES}, geometry=[P1, P2], crs=4490).to_crs(crs)


def geojson_bytes() -> bytes:
    return frame().to_json(ensure_ascii=False).encode()


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in files.items():
            z.writestr(k, v)
    return buf.getvalue()


def _shapefile(tmp, crs, with_prj: bool, encoding: str = "UTF-8") -> bytes:
    g = frame(crs)
    g.to_file(tmp / "s.shp", encoding=encoding)
    exts = ["shp", "shx", "dbf"] + (["prj", "cpg"] if with_prj else [])
    return _zip({f"地块/parcels.{e}": (tmp / f"s.{e}").read_bytes() for e in exts})


def _points_table(crs=None, convert=None) -> pd.DataFrame:
    rows = []
    for name, poly in zip(NAMES, [P1, P2]):
        for ring_no, ring in enumerate([poly.exterior, *poly.interiors], start=1):
            xy = np.asarray(ring.coords)
            if convert is not None:
                xy = convert(xy)
            for k, (x, y) in enumerate(xy, start=1):
                rows.append({"地块号": name, "圈号": ring_no, "点号": f"J{k}", "x": x, "y": y})
    df = pd.DataFrame(rows)
    if crs is not None:
        tr = gpd.GeoSeries(gpd.points_from_xy(df.x, df.y), crs=4490).to_crs(crs)
        df["X"], df["Y"] = tr.y.round(3), tr.x.round(3)  # survey convention: X north, Y east
        return df[["地块号", "圈号", "点号", "X", "Y"]]
    return df.rename(columns={"x": "经度", "y": "纬度"})[["地块号", "圈号", "点号", "经度", "纬度"]]


def _landtxt() -> bytes:
    g = frame(GK_PREFIXED)
    lines = ["[属性描述]", "格式版本号=1.01", "坐标系=2000国家大地坐标系", "几度分带=3", "投影类型=高斯克吕格",
             "计量单位=米", "带号=38", "精度=0.001", "转换参数=,,,,,,", "[地块坐标]"]
    for i, (name, poly) in enumerate(zip(NAMES, g.geometry), start=1):
        rings = [poly.exterior, *poly.interiors]
        n = sum(len(r.coords) for r in rings)
        lines.append(f"{n},{poly.area / 1e4:.4f},{i},{name},面,,工业用地,0601,@")
        k = 0
        for ring_no, ring in enumerate(rings, start=1):
            for x, y in ring.coords:
                k += 1
                lines.append(f"J{k:02d},{ring_no},{y:.3f},{x:.3f}")
    return "\r\n".join(lines).encode("gb18030")


def build_cases(tmp) -> dict[str, tuple[str, bytes, str | None]]:
    cases: dict[str, tuple[str, bytes, str | None]] = {}
    cases["geojson"] = ("sites.geojson", geojson_bytes(), None)
    g3857 = json.loads(frame(3857).to_json())
    g3857["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
    cases["geojson-3857"] = ("sites.json", json.dumps(g3857).encode(), None)
    cases["shapefile-gk-prj"] = ("parcels.zip", _shapefile(tmp, GK_PREFIXED, True), None)
    cases["shapefile-gk-no-prj-gbk"] = ("parcels.zip", _shapefile(tmp, GK_PLAIN, False, "GB18030"),
                                        f"EPSG:{GK_PLAIN}")
    frame().to_file(tmp / "s.kml", driver="KML")
    cases["kml"] = ("sites.kml", (tmp / "s.kml").read_bytes(), None)
    cases["kmz"] = ("sites.kmz", _zip({"doc.kml": (tmp / "s.kml").read_bytes()}), None)
    frame(GK_PREFIXED).to_file(tmp / "s.gpkg", driver="GPKG")
    cases["gpkg-gk"] = ("sites.gpkg", (tmp / "s.gpkg").read_bytes(), None)
    cases["csv-gk"] = ("界址点.csv", _points_table(GK_PREFIXED).to_csv(index=False).encode("gb18030"),
                       f"EPSG:{GK_PREFIXED}")
    cases["csv-gcj02"] = ("amap.csv", _points_table(convert=wgs84_to_gcj02).to_csv(index=False).encode(), "GCJ-02")
    cases["csv-bd09"] = ("baidu.csv", _points_table(convert=wgs84_to_bd09).to_csv(index=False).encode(), "BD-09")
    pyogrio.write_dataframe(_points_table(), tmp / "s.xlsx", driver="XLSX")
    cases["xlsx"] = ("界址点.xlsx", (tmp / "s.xlsx").read_bytes(), None)
    cases["landtxt"] = ("报批坐标.txt", _landtxt(), None)
    pyogrio.write_dataframe(frame(GK_PLAIN)[["geometry"]], tmp / "s.dxf", driver="DXF")
    cases["dxf"] = ("红线.dxf", (tmp / "s.dxf").read_bytes(), f"EPSG:{GK_PLAIN}")
    return cases


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return build_cases(tmp_path_factory.mktemp("formats"))


@pytest.fixture(scope="module")
def reference(client):
    r = client.post("/v1/assess/upload", files={"file": ("ref.geojson", geojson_bytes())},
                    data={"industry": "C3120"})
    assert r.status_code == 200, r.text
    return r.json()


FORMAT_CASES = ["geojson", "geojson-3857", "shapefile-gk-prj", "shapefile-gk-no-prj-gbk", "kml", "kmz",
                "gpkg-gk", "csv-gk", "csv-gcj02", "csv-bd09", "xlsx", "landtxt", "dxf"]


@pytest.mark.parametrize("case", FORMAT_CASES)
def test_every_format_round_trips_to_the_geojson_verdict(client, cases, reference, case):
    name, data, crs = cases[case]
    r = client.post("/v1/assess/upload", files={"file": (name, data)},
                    data={"industry": "C3120", **({"crs": crs} if crs else {})})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["verdict"] == reference["verdict"]
    assert len(got["parcels"]) == 2
    ref_areas = sorted(p["area_m2"] for p in reference["parcels"])
    areas = sorted(p["area_m2"] for p in got["parcels"])
    assert areas == pytest.approx(ref_areas, rel=1e-3)
    assert got["union"]["site"]["area_m2"] == pytest.approx(reference["union"]["site"]["area_m2"], rel=1e-3)
    for p in got["parcels"]:
        ref = min(reference["parcels"], key=lambda q: abs(q["area_m2"] - p["area_m2"]))
        assert p["assessment"]["verdict"] == ref["assessment"]["verdict"]
        assert [x["rule_id"] for x in p["assessment"]["reasons"]] == [x["rule_id"] for x in ref["assessment"]["reasons"]]
    assert got["upload"]["sha256"] and got["upload"]["crs"]


def test_attributes_are_kept(client, cases):
    for case in ("shapefile-gk-prj", "shapefile-gk-no-prj-gbk", "gpkg-gk", "kml"):
        name, data, crs = cases[case]
        r = client.post("/v1/sites", files={"file": (name, data)}, data={"crs": crs} if crs else {})
        names = sorted(f["properties"]["attributes"].get("name") or f["properties"]["attributes"].get("Name")
                       for f in r.json()["features"])
        assert names == sorted(NAMES), (case, r.json()["features"][0]["properties"])
    r = client.post("/v1/sites", files={"file": cases["landtxt"][:2]}).json()
    assert r["upload"]["crs"] == f"EPSG:{GK_PREFIXED}" and "带号" in r["upload"]["crs_source"]
    assert [f["properties"]["attributes"]["name"] for f in r["features"]] == NAMES
    assert r["features"][0]["properties"]["attributes"]["land_class"] == "0601"


def test_sites_endpoint_describes_the_parcels(client, cases):
    r = client.post("/v1/sites", files={"file": cases["csv-gk"][:2]}, data={"crs": cases["csv-gk"][2]})
    body = r.json()
    assert r.status_code == 200 and body["upload"]["crs_source"] == "parameter"
    assert body["upload"]["parcel_count"] == 2 and len(body["features"]) == 2
    f = body["features"][0]
    assert f["properties"]["vertices"] == 10 and len(f["geometry"]["coordinates"]) == 2  # outer + hole
    ref = client.post("/v1/sites", files={"file": ("r.geojson", geojson_bytes())}).json()["features"][0]
    assert f["properties"]["area_m2"] == pytest.approx(ref["properties"]["area_m2"], rel=1e-3)


def test_crs_problems_say_what_the_coordinates_look_like(client, cases):
    name, data, _ = cases["csv-gk"]
    r = client.post("/v1/sites", files={"file": (name, data)})
    assert r.status_code == 422 and f"EPSG:{GK_PREFIXED}" in r.json()["detail"]
    r = client.post("/v1/sites", files={"file": (name, data)}, data={"crs": "EPSG:4490"})
    assert r.status_code == 422 and "cannot be degrees" in r.json()["detail"]
    r = client.post("/v1/sites", files={"file": (name, data)}, data={"crs": f"EPSG:{GK_PLAIN}"})
    assert r.status_code == 422 and "zone prefix" in r.json()["detail"]
    r = client.post("/v1/sites", files={"file": cases["shapefile-gk-prj"][:2]}, data={"crs": "EPSG:4527"})
    assert r.status_code == 422 and "the file says its CRS is EPSG:4526" in r.json()["detail"]
    r = client.post("/v1/sites", files={"file": cases["geojson"][:2]}, data={"crs": "EPSG:2000"})
    assert r.status_code == 422 and "not accepted" in r.json()["detail"]


def test_stored_assessment_and_reports(client, reference, tmp_path):
    rid = reference["id"]
    again = client.get(f"/v1/assessments/{rid}").json()
    assert again["union"] == reference["union"] and again["upload"]["sha256"] == reference["upload"]["sha256"]
    html_zh = client.get(f"/v1/assessments/{rid}/report.html").text
    assert "研判结论" in html_zh and "逐条对照" in html_zh and "<svg" in html_zh
    assert reference["upload"]["sha256"] in html_zh and reference["union"]["rules_version"] in html_zh
    for lyr in reference["union"]["layers"]:
        assert lyr["version"] in html_zh
    assert "合成示例数据" in html_zh  # the synthetic notice
    html_en = client.get(f"/v1/assessments/{rid}/report.html", params={"lang": "en"}).text
    assert "Clause by clause" in html_en and "Not compliant" in html_en
    assert client.get(f"/v1/assessments/{rid}/report.html", params={"lang": "fr"}).status_code == 422
    assert client.get("/v1/assessments/does-not-exist/report.pdf").status_code == 404
    for lang, words in (("zh", "研判结论"), ("en", "Conclusion")):
        r = client.get(f"/v1/assessments/{rid}/report.pdf", params={"lang": lang})
        assert r.status_code == 200 and r.content[:5] == b"%PDF-"
        pdf = tmp_path / f"report-{lang}.pdf"
        pdf.write_bytes(r.content)
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        cjk = [line for line in fonts.splitlines() if "CJK" in line]
        assert cjk and all(" yes " in line for line in cjk), fonts  # embedded
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert words in text and "SHA-256" in text
        if lang == "zh":
            assert "不符合" in text and "一号地块" in text
        subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / lang)],
                       check=True)
        from PIL import Image

        page = np.asarray(Image.open(next(tmp_path.glob(f"{lang}*.png"))).convert("L"))
        assert (page < 128).mean() > 0.01  # the page has drawn text and map, not a blank sheet
    # rendered once per assessment, language and layer versions (one took up to a minute of CPU)
    import time

    t0 = time.perf_counter()
    again = client.get(f"/v1/assessments/{rid}/report.pdf", params={"lang": "en"})
    assert again.content == r.content and time.perf_counter() - t0 < 0.5
    from tests.test_map_page import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-zh.pdf").write_bytes(client.get(f"/v1/assessments/{rid}/report.pdf").content)


def test_cli_assesses_a_site_file_and_writes_a_report(cases, tmp_path):
    name, data, crs = cases["csv-gk"]
    site = tmp_path / name
    site.write_bytes(data)
    report = tmp_path / "out.pdf"
    out = subprocess.run([sys.executable, "-m", "app.cli", "assess", str(site), "--industry", "C3120",
                          "--crs", crs, "--report", str(report)], capture_output=True, text=True,
                         env={**os.environ, "ZONING_STATE_DIR": str(tmp_path / "state")})
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["verdict"] == "prohibited" and len(body["parcels"]) == 2
    assert report.read_bytes()[:5] == b"%PDF-"
    bad = subprocess.run([sys.executable, "-m", "app.cli", "assess", str(site), "--industry", "C3120"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "EPSG:4526" in bad.stderr


def _with_prj(tmp, prj: str) -> bytes:
    """The sample parcels as a zipped Shapefile in lon/lat whose .prj is ``prj``."""
    frame(4490).to_file(tmp / "p.shp")
    return _zip({f"p.{e}": (tmp / f"p.{e}").read_bytes() for e in ("shp", "shx", "dbf")} | {"p.prj": prj.encode()})


_GEOG = ('GEOGCS["GCS_CGCS_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],'
         'PRIMEM["{pm}",{pm_lon}],UNIT["{unit}",{factor}]]')


@pytest.mark.parametrize("prj, words", [
    (_GEOG.format(pm="Paris", pm_lon=2.33722917, unit="Degree", factor=0.0174532925199433), "prime meridian is Paris"),
    (_GEOG.format(pm="Odd", pm_lon=-100.0, unit="Degree", factor=0.0174532925199433), "prime meridian"),
    (_GEOG.format(pm="Greenwich", pm_lon=0.0, unit="Radian", factor=1.0), "radian"),
    (_GEOG.format(pm="Greenwich", pm_lon=0.0, unit="Grad", factor=0.01570796326794897), "grad"),
    ('GEOGCRS["rotated",BASEGEOGCRS["CGCS2000",DATUM["China 2000",ELLIPSOID["CGCS2000",6378137,298.257222101]]],'
     'DERIVINGCONVERSION["pole",METHOD["PROJ ob_tran o_proj=longlat"],PARAMETER["o_lon_p",0],PARAMETER["o_lat_p",30]],'
     'CS[ellipsoidal,2],AXIS["lon",east,ANGLEUNIT["degree",0.0174532925199433]],'
     'AXIS["lat",north,ANGLEUNIT["degree",0.0174532925199433]]]', ""),  # GDAL reads no CRS from it: refused too
])
def test_a_prj_that_is_not_plain_lonlat_is_refused_not_taken_as_cgcs2000(client, tmp_path, prj, words):
    r = client.post("/v1/sites", files={"file": ("p.zip", _with_prj(tmp_path, prj))})
    assert r.status_code == 422 and words in r.text, r.text
    plain = _GEOG.format(pm="Greenwich", pm_lon=0.0, unit="Degree", factor=0.0174532925199433)
    assert client.post("/v1/sites", files={"file": ("p.zip", _with_prj(tmp_path, plain))}).status_code == 200


def test_a_landtxt_outside_its_zone_is_refused_and_an_unprefixed_zone_is_warned(client):
    prefixed = _landtxt().decode("gb18030")
    plain = "\r\n".join(
        ",".join([*c[:2], c[2], f"{float(c[3]) - 38e6:.3f}"]) if len(c := line.split(",")) == 4 else line
        for line in prefixed.split("\r\n"))
    ok = client.post("/v1/sites", files={"file": ("报批.txt", plain.encode("gb18030"))})
    assert ok.status_code == 200, ok.text
    assert any("带号=38 alone" in w for w in ok.json()["upload"]["warnings"])
    # the same parcels 225 km west of the central meridian: 2.5° out, beyond a 3° zone's ±1.5°
    west = "\r\n".join(
        ",".join([*c[:2], c[2], f"{float(c[3]) - 38e6 - 225_000:.3f}"]) if len(c := line.split(",")) == 4 else line
        for line in prefixed.split("\r\n"))
    r = client.post("/v1/sites", files={"file": ("报批.txt", west.encode("gb18030"))})
    assert r.status_code == 422 and "outside" in r.text and "带号" in r.text, r.text


def test_a_rotated_pole_is_not_plain_lonlat():
    from pyproj import CRS

    from layers.ingest.coords import _not_plain_lonlat

    rotated = CRS.from_proj4("+proj=ob_tran +o_proj=longlat +o_lon_p=0 +o_lat_p=30 +lon_0=0 +ellps=GRS80")
    assert any("derived" in p for p in _not_plain_lonlat(rotated))
    assert _not_plain_lonlat(CRS.from_epsg(4490)) == []


def test_blank_xlsx_rows_and_empty_cells_are_skipped_as_in_a_csv(client, tmp_path):
    """Blank rows and empty trailing cells in an XLSX were read as NaN: a 422 "coordinates must
    be finite" for a table a CSV of the same rows passes."""
    import pyogrio

    df = pd.DataFrame({"地块号": ["1", "1", None, "1", "1", None],
                       "经度": [112.54, 112.56, np.nan, 112.56, 112.54, np.nan],
                       "纬度": [37.86, 37.86, np.nan, 37.88, 37.88, np.nan],
                       "备注": [None, None, None, None, "x", None]})
    pyogrio.write_dataframe(df, tmp_path / "t.xlsx", driver="XLSX")
    xlsx = client.post("/v1/sites", files={"file": ("界址点.xlsx", (tmp_path / "t.xlsx").read_bytes())})
    csv = client.post("/v1/sites", files={"file": ("界址点.csv", df.to_csv(index=False).encode())})
    assert xlsx.status_code == csv.status_code == 200, (xlsx.text, csv.text)
    assert xlsx.json()["features"][0]["geometry"] == csv.json()["features"][0]["geometry"]
