"""Build the hostile/broken upload corpus in tests/hostile/files (committed; re-run to refresh).

    python tests/hostile/make_corpus.py

Files too big to commit (10,001 features, a million vertices) are made by the tests at run
time with :func:`large_cases`."""

from __future__ import annotations

import io
import json
import sqlite3
import struct
import zipfile
from pathlib import Path

import geopandas as gpd
import shapely

OUT = Path(__file__).parent / "files"
SQ = [[112.54, 37.86], [112.56, 37.86], [112.56, 37.875], [112.54, 37.875], [112.54, 37.86]]


def fc(geom: dict, **extra) -> bytes:
    return json.dumps({"type": "FeatureCollection", **extra,
                       "features": [{"type": "Feature", "properties": {}, "geometry": geom}]}).encode()


def _zip(members: dict[str, bytes], **kw) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, **kw) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def shapefile_parts(tmp: Path) -> dict[str, bytes]:
    gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Polygon(SQ)], crs=4490)
    gdf.to_file(tmp / "p.shp")
    return {ext: (tmp / f"p.{ext}").read_bytes() for ext in ("shp", "shx", "dbf", "prj")}


def build(tmp: Path) -> dict[str, bytes]:
    shp = shapefile_parts(tmp)
    files: dict[str, bytes] = {}
    files["zip_slip.zip"] = _zip({f"../../evil.{e}": b for e, b in shp.items()})
    files["zip_absolute_path.zip"] = _zip({f"/tmp/evil.{e}": b for e, b in shp.items()})
    files["zip_bomb.zip"] = _zip({"p.shp": shp["shp"], "p.shx": shp["shx"], "p.dbf": b"\0" * (300 * 2**20)})
    files["zip_high_ratio.zip"] = _zip({"p.shp": shp["shp"], "p.shx": shp["shx"], "p.dbf": b"\0" * (20 * 2**20)})
    files["zip_nested.zip"] = _zip({"inner.zip": _zip({f"p.{e}": b for e, b in shp.items()})})
    link = zipfile.ZipInfo("p.shp")
    link.external_attr = (0o120777 << 16)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(link, "/etc/passwd")
        z.writestr("p.shx", shp["shx"])
        z.writestr("p.dbf", shp["dbf"])
    files["zip_symlink.zip"] = buf.getvalue()
    files["zip_many_members.zip"] = _zip({f"f{i}.txt": b"x" for i in range(60)})
    enc = bytearray(_zip({f"p.{e}": b for e, b in shp.items()}))
    # set the "encrypted" flag bit in every local and central header
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        i = enc.find(sig)
        while i != -1:
            flags = struct.unpack_from("<H", enc, i + off)[0]
            struct.pack_into("<H", enc, i + off, flags | 1)
            i = enc.find(sig, i + 4)
    files["zip_encrypted.zip"] = bytes(enc)
    files["shp_missing_shx.zip"] = _zip({"p.shp": shp["shp"], "p.dbf": shp["dbf"], "p.prj": shp["prj"]})
    files["shp_two_shapefiles.zip"] = _zip({**{f"a.{e}": b for e, b in shp.items()},
                                            **{f"b.{e}": b for e, b in shp.items()}})
    files["zip_without_shapefile.zip"] = _zip({"readme.txt": b"no shapefile here"})
    kml_head = '<?xml version="1.0"?>\n'
    files["xxe.kml"] = (kml_head + '<!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                        '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name>'
                        '<Polygon><outerBoundaryIs><LinearRing><coordinates>112.54,37.86 112.56,37.86 '
                        '112.56,37.875 112.54,37.86</coordinates></LinearRing></outerBoundaryIs></Polygon>'
                        '</Placemark></kml>').encode()
    lol = "".join(f'<!ENTITY l{i} "{"&l%d;" % (i - 1) * 10 if i else "lol"}">' for i in range(10))
    files["billion_laughs.kml"] = (kml_head + f"<!DOCTYPE kml [{lol}]>\n<kml><Placemark><name>&l9;</name>"
                                   "</Placemark></kml>").encode()
    files["xxe_inside.kmz"] = _zip({"doc.kml": files["xxe.kml"]})
    files["url_instead_of_json.geojson"] = b"https://example.com/site.geojson"
    files["vsicurl_geometry.geojson"] = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": "/vsicurl/http://169.254.169.254/latest"}]}).encode()
    files["crs_link.geojson"] = fc({"type": "Polygon", "coordinates": [SQ]},
                                   crs={"type": "link", "properties": {"href": "http://example.com/crs"}})
    files["deep_nesting.geojson"] = b'{"type":"Polygon","coordinates":' + b"[" * 2000 + b"]" * 2000 + b"}"
    files["nan.geojson"] = fc({"type": "Polygon", "coordinates": [SQ]}).replace(b"112.54, 37.86]", b"NaN, 37.86]", 1)
    files["infinity.geojson"] = fc({"type": "Polygon", "coordinates": [SQ]}).replace(b"112.56, 37.86]", b"1e999, 37.86]", 1)
    files["bowtie.geojson"] = fc({"type": "Polygon", "coordinates": [[[112.54, 37.86], [112.56, 37.875],
                                                                      [112.56, 37.86], [112.54, 37.875], [112.54, 37.86]]]})
    files["unclosed_ring.geojson"] = fc({"type": "Polygon", "coordinates": [SQ[:-1]]})
    files["empty.geojson"] = b""
    files["empty_collection.geojson"] = b'{"type": "FeatureCollection", "features": []}'
    files["json_named_kml.kml"] = fc({"type": "Polygon", "coordinates": [SQ]})
    files["point_not_parcel.geojson"] = fc({"type": "Point", "coordinates": [112.55, 37.87]})
    files["gk_metres_as_degrees.geojson"] = fc({"type": "Polygon", "coordinates": [[
        [38547000.0, 4190000.0], [38549000.0, 4190000.0], [38549000.0, 4192000.0], [38547000.0, 4190000.0]]]})
    files["huge_numbers.geojson"] = fc({"type": "Polygon", "coordinates": [[[1e300, 1e300], [2e300, 1e300],
                                                                            [2e300, 2e300], [1e300, 1e300]]]})
    txt = ("[属性描述]\n坐标系=2000国家大地坐标系\n几度分带=3\n投影类型=高斯克吕格\n计量单位=米\n带号={zone}\n"
           "[地块坐标]\n4,5.0,1,测试地块,面,,,,@\nJ1,1,4190000.000,38547000.000\nJ2,1,4190000.000,38549000.000\n"
           "J3,1,4192000.000,38549000.000\nJ4,1,4190000.000,38547000.000\n")
    files["landtxt_zone_mismatch.txt"] = txt.format(zone=39).encode("gb18030")
    files["landtxt_xian80.txt"] = txt.format(zone=38).replace("2000国家大地坐标系", "1980西安坐标系").encode("gb18030")
    files["csv_text_coordinates.csv"] = "点号,X,Y\nJ1,north,east\nJ2,1,2\nJ3,3,4\n".encode()
    files["csv_wrong_zone_for_crs.csv"] = ("点号,X,Y\nJ1,4190000,38547000\nJ2,4190000,38549000\n"
                                           "J3,4192000,38549000\n").encode()
    db = tmp / "plain.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (a INTEGER)")
    con.commit()
    con.close()
    files["plain_sqlite.gpkg"] = db.read_bytes()
    files["random_bytes.shp"] = bytes(range(256)) * 8
    pts = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(112.55, 37.87)], crs=4490)
    pts.to_file(tmp / "pts.gpkg", driver="GPKG")
    files["gpkg_points_only.gpkg"] = (tmp / "pts.gpkg").read_bytes()
    files["dxf_open_polyline.dxf"] = ("0\nSECTION\n2\nENTITIES\n0\nLINE\n8\n0\n10\n0.0\n20\n0.0\n11\n100.0\n21\n0.0\n"
                                      "0\nENDSEC\n0\nEOF\n").encode()
    files["xlsx_with_dtd.xlsx"] = _zip({"[Content_Types].xml": b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Types/>',
                                        "xl/workbook.xml": b"<workbook/>"})
    files["gk_empty_multipolygon.geojson"] = fc({"type": "MultiPolygon", "coordinates": []},
                                                crs={"type": "name", "properties": {"name": "EPSG:4527"}})
    folder = ("<Folder><name>f{i}</name><Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>"
              "112.55,37.87 112.56,37.87 112.56,37.88 112.55,37.87</coordinates></LinearRing></outerBoundaryIs>"
              "</Polygon></Placemark></Folder>")
    files["kml_many_folders.kml"] = ('<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
                                     + "".join(folder.format(i=i) for i in range(3000)) + "</Document></kml>").encode()
    files["gpkg_recursive_view.gpkg"] = _recursive_view_gpkg(tmp)
    files["kml_truncated.kml"] = b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><Polygon>'
    files["gpkg_truncated.gpkg"] = files["gpkg_points_only.gpkg"][:8192]
    return files


def _recursive_view_gpkg(tmp: Path) -> bytes:
    """A GeoPackage whose only polygon layer is a view that never ends (a recursive CTE)."""
    gdf = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Polygon(SQ)], crs=4490)
    path = tmp / "view.gpkg"
    gdf.to_file(path, driver="GPKG", layer="p")
    con = sqlite3.connect(path)
    con.executescript("""
        CREATE VIEW v AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r)
            SELECT p.fid + r.i AS fid, p.geom AS geom FROM p, r;
        UPDATE gpkg_contents SET table_name = 'v', identifier = 'v' WHERE table_name = 'p';
        UPDATE gpkg_geometry_columns SET table_name = 'v' WHERE table_name = 'p';
    """)
    con.commit()
    con.close()
    return path.read_bytes()


def large_cases() -> dict[str, bytes]:
    many = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [SQ]}}] * 10_001}
    n = 1_000_000
    import numpy as np

    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.column_stack([112.55 + 0.01 * np.cos(t), 37.87 + 0.01 * np.sin(t)]).round(7).tolist()
    ring.append(ring[0])
    parcels = "地块号,经度,纬度\n" + "".join(f"P{i},112.55,37.87\n" for i in range(n))
    return {
        "csv_million_parcels.csv": parcels.encode(),
        "too_many_features.geojson": json.dumps(many).encode(),
        "million_vertices.geojson": fc({"type": "Polygon", "coordinates": [ring]}),
    }


if __name__ == "__main__":
    import tempfile

    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        for name, data in build(Path(d)).items():
            (OUT / name).write_bytes(data)
    print(f"{len(list(OUT.iterdir()))} files in {OUT}")
