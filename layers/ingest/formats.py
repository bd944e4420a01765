"""Format readers. They run inside the parsing subprocess (:mod:`layers.ingest.worker`) on a
server-named copy of the upload in a private folder, and return polygons in the file's own
coordinates with the CRS the file declares (if any). Nothing here decides the CRS; that is
:mod:`layers.ingest.coords`' job in the parent process."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
import shapely.geometry

from layers.ingest.archive import check_zip, read_member, shapefile_members
from layers.ingest.errors import IngestError, UploadTooLarge, reason
from layers.ingest.limits import Limits
from layers.values import plain

POLYGONAL = ("Polygon", "MultiPolygon")


@dataclass
class Raw:
    """What a reader found: polygons in source coordinates, their attributes, the declared CRS."""

    geometries: list[shapely.Geometry] = field(default_factory=list)
    properties: list[dict] = field(default_factory=list)
    crs: str | None = None  # "EPSG:n", a WKT, or "GK:<zone>:<3|6>:<prefixed>" from a 用地报批 TXT
    crs_source: str | None = None
    warnings: list[str] = field(default_factory=list)


def _reject_dtd(xml: bytes, what: str) -> None:
    head = xml.lower()
    if b"<!doctype" in head or b"<!entity" in head:
        raise IngestError(f"{what} contains a DTD or entity declaration (<!DOCTYPE/<!ENTITY); "
                          "KML never needs one, so it is refused (XXE, billion laughs)")


def _polygons_from_frame(df, raw: Raw, limits: Limits, what: str) -> None:
    """Keep polygonal features of a GeoDataFrame; count and report what is left out."""
    if len(df) > limits.max_features:
        raise UploadTooLarge(f"{what} has {len(df)} features; at most {limits.max_features}")
    geoms = df.geometry.to_numpy()
    skipped: dict[str, int] = {}
    records = df.drop(columns=df.geometry.name).to_dict("records")
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            skipped["empty"] = skipped.get("empty", 0) + 1
            continue
        if g.geom_type == "GeometryCollection":
            parts = [p for p in shapely.get_parts(g) if p.geom_type in POLYGONAL]
            g = shapely.union_all(parts) if parts else g
        if g.geom_type not in POLYGONAL:
            skipped[g.geom_type] = skipped.get(g.geom_type, 0) + 1
            continue
        raw.geometries.append(shapely.force_2d(g))
        raw.properties.append({str(k): plain(v) for k, v in records[i].items()})
    for kind, n in skipped.items():
        raw.warnings.append(f"{n} {kind} feature(s) left out: parcels must be polygons")


# --- GeoJSON -----------------------------------------------------------------------------------

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


def json_depth(data: bytes) -> int:
    """Deepest bracket nesting, strings ignored; linear time, no recursion."""
    stripped = _STRING.sub(b'""', data)
    a = np.frombuffer(stripped, dtype=np.uint8)
    step = np.zeros(len(a), dtype=np.int32)
    step[(a == ord("[")) | (a == ord("{"))] = 1
    step[(a == ord("]")) | (a == ord("}"))] = -1
    return int(np.cumsum(step).max(initial=0))


def _no_constants(name: str):
    raise IngestError(f"GeoJSON contains {name}; coordinates must be finite numbers")


def _check_rings(kind: str, coords, where: str) -> None:
    """RFC 7946: every ring is a closed list of ≥ 4 positions (shapely would close it silently)."""
    polys = coords if kind == "MultiPolygon" else [coords]
    if not isinstance(polys, list):
        raise IngestError(f"{where}: {kind} coordinates must be an array")
    for poly in polys:
        if not isinstance(poly, list) or not poly:
            raise IngestError(f"{where}: {kind} has an empty or malformed polygon")
        for ring in poly:
            if not isinstance(ring, list) or len(ring) < 4:
                raise IngestError(f"{where}: a {kind} ring needs at least 4 positions")
            if ring[0] != ring[-1]:
                raise IngestError(f"{where}: a {kind} ring is not closed (its last position must "
                                  "repeat the first)")


def read_geojson(path: Path, limits: Limits) -> Raw:
    data = path.read_bytes()
    depth = json_depth(data)
    if depth > limits.max_depth:
        raise IngestError(f"GeoJSON is nested {depth} levels deep; at most {limits.max_depth}")
    try:
        obj = json.loads(data.decode("utf-8-sig"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise IngestError("GeoJSON must be UTF-8 text (RFC 7946)") from None
    except json.JSONDecodeError as exc:
        raise IngestError(f"not valid JSON: {reason(exc)}") from None
    if not isinstance(obj, dict):
        raise IngestError("GeoJSON must be an object (a FeatureCollection, Feature or geometry)")
    raw = Raw(crs="EPSG:4326", crs_source="GeoJSON (RFC 7946: WGS84)")
    crs = obj.get("crs")
    if crs is not None:  # legacy GeoJSON 2008 named CRS; links/URLs are never followed
        name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
        if not (isinstance(crs, dict) and crs.get("type") == "name" and isinstance(name, str)):
            raise IngestError("GeoJSON `crs` must be a named CRS (e.g. urn:ogc:def:crs:EPSG::4490); "
                              "linked CRSs are not followed")
        m = re.fullmatch(r"(?:urn:ogc:def:crs:EPSG::|EPSG:)(\d{4,5})", name.strip())
        if m:
            raw.crs, raw.crs_source = f"EPSG:{m.group(1)}", "GeoJSON crs member"
        elif name.strip() in ("urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84"):
            pass
        else:
            raise IngestError(f"GeoJSON crs {name!r} is not an EPSG code or CRS84")
    kind = obj.get("type")
    if kind == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list):
            raise IngestError("FeatureCollection has no `features` array")
    elif kind == "Feature":
        feats = [obj]
    elif kind in ("Polygon", "MultiPolygon", "Point", "LineString", "MultiPoint", "MultiLineString",
                  "GeometryCollection"):
        feats = [{"type": "Feature", "geometry": obj, "properties": {}}]
    else:
        raise IngestError(f"not GeoJSON: type {kind!r}")
    if len(feats) > limits.max_features:
        raise UploadTooLarge(f"GeoJSON has {len(feats)} features; at most {limits.max_features}")
    for i, f in enumerate(feats):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            raise IngestError(f"features[{i}] is not a GeoJSON Feature")
        g = f.get("geometry")
        if not isinstance(g, dict):
            raise IngestError(f"features[{i}] has no geometry")
        if g.get("type") not in POLYGONAL:
            raise IngestError(f"features[{i}] is a {g.get('type')}; parcels must be Polygon or MultiPolygon")
        _check_rings(g["type"], g.get("coordinates"), f"features[{i}]")
        try:
            geom = shapely.geometry.shape(g)
        except Exception as exc:  # shapely raises ValueError/TypeError/IndexError on bad arrays
            raise IngestError(f"features[{i}]: malformed {g.get('type')}: {reason(exc)}") from None
        if not np.isfinite(shapely.get_coordinates(geom)).all():
            raise IngestError(f"features[{i}]: coordinates contain NaN or infinity")
        props = f.get("properties") or {}
        if not isinstance(props, dict):
            raise IngestError(f"features[{i}].properties must be an object")
        raw.geometries.append(shapely.force_2d(geom))
        raw.properties.append({str(k): plain(v) if not isinstance(v, dict | list) else json.dumps(v, ensure_ascii=False)
                               for k, v in props.items()})
    return raw


# --- GDAL-read formats --------------------------------------------------------------------------

def _read_gdal(path: Path, limits: Limits, what: str, raw: Raw, layer=None, encoding=None) -> None:
    import pyogrio

    try:
        info = pyogrio.read_info(path, layer=layer, encoding=encoding)
    except Exception as exc:
        raise IngestError(f"{what} cannot be read: {reason(exc, path)}") from None
    if info["features"] > limits.max_features:
        raise UploadTooLarge(f"{what} has {info['features']} features; at most {limits.max_features}")
    try:
        df = pyogrio.read_dataframe(path, layer=layer, encoding=encoding, on_invalid="ignore")
    except Exception as exc:
        raise IngestError(f"{what} cannot be read: {reason(exc, path)}") from None
    if df.crs is not None and raw.crs is None:
        epsg = df.crs.to_epsg(min_confidence=70)
        raw.crs = f"EPSG:{epsg}" if epsg else df.crs.to_wkt()
        raw.crs_source = raw.crs_source or "file"
    if "geometry" not in df:
        raise IngestError(f"{what} has no geometry column")
    _polygons_from_frame(df, raw, limits, what)


def read_shapefile_zip(path: Path, limits: Limits) -> Raw:
    data = path.read_bytes()
    parts = shapefile_members(check_zip(data, limits), )
    work = path.parent
    for ext, info in parts.items():
        if ext in ("shp", "shx", "dbf", "prj", "cpg"):
            (work / f"parcels.{ext}").write_bytes(read_member(data, info, limits))
    raw = Raw(crs_source=".prj" if "prj" in parts else None)
    encoding = None
    if "cpg" not in parts and _dbf_needs_gbk(work / "parcels.dbf"):
        encoding = "GB18030"
        raw.warnings.append("no .cpg file: attribute text read as GB18030 (GBK), the usual Chinese encoding")
    _read_gdal(work / "parcels.shp", limits, "the Shapefile", raw, encoding=encoding)
    if "prj" not in parts:
        raw.crs, raw.crs_source = None, None
        raw.warnings.append("the Shapefile has no .prj: its CRS comes from the `crs` parameter")
    return raw


def _dbf_needs_gbk(dbf: Path) -> bool:
    """True when the .dbf's text is not valid UTF-8 but is valid GB18030."""
    body = dbf.read_bytes()
    if len(body) < 32:
        return False
    header_len = int.from_bytes(body[8:10], "little")
    records = body[header_len:]
    try:
        records.decode("utf-8")
        return False
    except UnicodeDecodeError:
        try:
            records.decode("gb18030")
            return True
        except UnicodeDecodeError:
            return False


def read_kml(path: Path, limits: Limits) -> Raw:
    _reject_dtd(path.read_bytes(), "the KML")
    raw = Raw(crs="EPSG:4326", crs_source="KML (always WGS84)")
    import pyogrio

    layers = [name for name, _ in pyogrio.list_layers(path)]
    if not layers:
        raise IngestError("the KML has no placemarks")
    if len(layers) > limits.max_layers:  # GDAL reads the whole file again for each folder
        raise UploadTooLarge(f"the KML has {len(layers):,} folders; at most {limits.max_layers} "
                             "(put the parcels in fewer folders)")
    for name in layers:
        _read_gdal(path, limits, f"KML folder {name!r}", raw, layer=name)
        # LIBKML adds a column per KML element; keep those the placemark actually fills
        raw.properties = [{k: v for k, v in p.items() if v not in (None, "NaT", -1, "")}
                          for p in raw.properties]
        if len(raw.geometries) > limits.max_features:
            raise UploadTooLarge(f"the KML has more than {limits.max_features} features")
    return raw


def read_kmz(path: Path, limits: Limits) -> Raw:
    data = path.read_bytes()
    infos = [i for i in check_zip(data, limits) if not i.is_dir()]
    kmls = [i for i in infos if i.filename.lower().endswith(".kml")]
    doc = next((i for i in kmls if i.filename.lower() == "doc.kml"), kmls[0] if kmls else None)
    if doc is None:
        raise IngestError("the KMZ holds no .kml file")
    kml = path.parent / "doc.kml"
    kml.write_bytes(read_member(data, doc, limits))
    return read_kml(kml, limits)


def _count_within_budget(path: Path, table: str, limits: Limits) -> None:
    """Count a GeoPackage layer's rows with SQLite's progress handler as a step budget: a view
    whose query never ends (a recursive CTE) is refused here instead of holding a parser for its
    whole time budget inside GDAL."""
    import sqlite3

    steps = {"n": 0}
    per_call = 10_000

    def progress() -> int:
        steps["n"] += per_call
        return int(steps["n"] > limits.sqlite_steps)  # non-zero aborts the statement

    con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        con.set_progress_handler(progress, per_call)
        con.execute(f'SELECT count(*) FROM "{table.replace(chr(34), chr(34) * 2)}"').fetchone()
    except sqlite3.OperationalError as exc:
        if steps["n"] > limits.sqlite_steps:
            raise IngestError(f"GeoPackage layer {table!r} takes more than {limits.sqlite_steps:,} SQLite "
                              "steps to count (a view with a runaway query?); export it as a table") from None
        raise IngestError(f"GeoPackage layer {table!r} cannot be read: {reason(exc, path)}") from None
    except sqlite3.DatabaseError as exc:
        raise IngestError(f"the GeoPackage cannot be read: {reason(exc, path)}") from None
    finally:
        con.close()


def read_gpkg(path: Path, limits: Limits) -> Raw:
    import pyogrio

    layers = [(n, t) for n, t in pyogrio.list_layers(path) if t and "POLYGON" in t.upper()]
    if not layers:
        raise IngestError("the GeoPackage has no polygon layer")
    _count_within_budget(path, layers[0][0], limits)
    raw = Raw(crs_source="GeoPackage")
    if len(layers) > 1:
        raw.warnings.append(f"the GeoPackage has {len(layers)} polygon layers; read the first, "
                            f"{layers[0][0]!r}")
    _read_gdal(path, limits, f"GeoPackage layer {layers[0][0]!r}", raw, layer=layers[0][0])
    return raw


def read_dxf(path: Path, limits: Limits) -> Raw:
    raw = Raw()
    _read_gdal(path, limits, "the DXF", raw)
    raw.crs, raw.crs_source = None, None  # DXF carries no CRS
    if not raw.geometries:
        raise IngestError("the DXF has no closed polylines or hatches (parcels must be closed)")
    return raw


# --- coordinate tables ----------------------------------------------------------------------------

COLUMN_NAMES = {
    "point": ("点号", "界址点号", "点名", "point", "point_no", "pt", "no", "序号"),
    "ring": ("圈号", "环号", "ring", "ring_no", "part"),
    "parcel": ("地块号", "地块编号", "地块", "地块名称", "parcel", "parcel_id", "plot", "宗地号", "name"),
    "lon": ("经度", "lon", "lng", "longitude"),
    "lat": ("纬度", "lat", "latitude"),
    "x": ("x", "x坐标", "北坐标", "x(北)", "纵坐标", "north", "northing"),
    "y": ("y", "y坐标", "东坐标", "y(东)", "横坐标", "east", "easting"),
}


def _column(headers: list[str], role: str) -> int | None:
    norm = [re.sub(r"[\s（）()_:：]", "", h).lower() for h in headers]
    for name in COLUMN_NAMES[role]:
        key = re.sub(r"[\s（）()_:：]", "", name).lower()
        if key in norm:
            return norm.index(key)
    return None


def _decode_text(data: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise IngestError("the table is neither UTF-8 nor GB18030 text")


def table_to_raw(headers: list[str], rows: list[list], limits: Limits, what: str) -> Raw:
    """Boundary-point table → polygons: rows grouped by parcel and ring, in file order
    (or by point number), ring 1 the outer ring. Chinese survey convention: X is northing."""
    cols = {r: _column(headers, r) for r in COLUMN_NAMES}
    raw = Raw()
    if cols["lon"] is not None and cols["lat"] is not None:
        xi, yi, geographic = cols["lon"], cols["lat"], True
    elif cols["x"] is not None and cols["y"] is not None:
        xi, yi, geographic = cols["y"], cols["x"], False  # easting = Y, northing = X
    else:
        raise IngestError(f"{what}: need coordinate columns 经度/纬度 (lon/lat) or X/Y (北坐标/东坐标); "
                          f"found {headers}")
    # parcel -> ring -> points, both in file order (dicts keep insertion order)
    parcels: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for n, row in enumerate(rows, start=2):
        if all(str(v).strip() == "" for v in row):
            continue
        try:
            a, b = float(str(row[xi]).strip()), float(str(row[yi]).strip())
        except (ValueError, IndexError):
            raise IngestError(f"{what} row {n}: coordinates {row[xi] if xi < len(row) else ''!r}, "
                              f"{row[yi] if yi < len(row) else ''!r} are not numbers") from None
        if not (np.isfinite(a) and np.isfinite(b)):
            raise IngestError(f"{what} row {n}: coordinates must be finite")
        parcel = str(row[cols["parcel"]]).strip() if cols["parcel"] is not None else "1"
        ring = str(row[cols["ring"]]).strip() if cols["ring"] is not None else "1"
        rings_of = parcels.get(parcel)
        if rings_of is None:
            if len(parcels) >= limits.max_features:
                raise UploadTooLarge(f"{what} has more than {limits.max_features} parcels (row {n})")
            rings_of = parcels[parcel] = {}
        rings_of.setdefault(ring, []).append((a, b))
    for parcel, rings_of in parcels.items():
        rings = list(rings_of.items())
        polys = []
        for ring_no, pts in rings:
            if len(pts) >= 2 and pts[0] == pts[-1]:
                pts = pts[:-1]
            if len(pts) < 3:
                raise IngestError(f"{what}: parcel {parcel!r} ring {ring_no} has {len(pts)} distinct points; "
                                  "a ring needs at least 3")
            polys.append(shapely.Polygon(pts))
        outer, rest = polys[0], polys[1:]
        inside = [outer.contains(p) for p in rest]
        holes = [p.exterior for p, ok in zip(rest, inside) if ok]
        parts = [shapely.Polygon(outer.exterior, holes)] + [p for p, ok in zip(rest, inside) if not ok]
        geom = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
        raw.geometries.append(geom)
        raw.properties.append({"parcel": parcel, "rings": len(rings)})
    if not raw.geometries:
        raise IngestError(f"{what} has no coordinate rows")
    if geographic:
        raw.crs, raw.crs_source = "EPSG:4490", "table (经度/纬度 columns: CGCS2000/WGS84)"
        raw.warnings.append("lon/lat read as CGCS2000/WGS84; coordinates picked on Amap or Baidu maps "
                            "need crs=GCJ-02 or crs=BD-09")
    return raw


def csv_rows(path: Path, limits: Limits) -> tuple[list[str], list[list[str]]]:
    """The header and the rows of a CSV (UTF-8, UTF-8 with BOM or GB18030; , ; or tab)."""
    text = _decode_text(path.read_bytes())
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    if len(rows) < 2:
        raise IngestError("the CSV has no data rows")
    return [h.strip() for h in rows[0]], rows[1:]


def read_csv(path: Path, limits: Limits) -> Raw:
    headers, rows = csv_rows(path, limits)
    return table_to_raw(headers, rows, limits, "the CSV")


def xlsx_rows(path: Path, limits: Limits) -> tuple[list[str], list[list[str]]]:
    """The header and the rows (as text) of an XLSX's first sheet, its parts checked first
    (sizes, ratios, no DTDs)."""
    data = path.read_bytes()
    infos = check_zip(data, limits)
    for info in infos:
        if info.filename.lower().endswith((".xml", ".rels")):
            _reject_dtd(read_member(data, info, limits), f"XLSX part {info.filename!r}")
    import pyogrio

    try:
        df = pyogrio.read_dataframe(path, read_geometry=False)
    except Exception as exc:
        raise IngestError(f"the XLSX cannot be read: {reason(exc, path)}") from None
    headers = [str(c) for c in df.columns]
    # empty cells are "" as in a CSV (blank rows are then skipped; NaN/None/NA never reach a parser)
    cells = df.astype(object).where(df.notna(), None).to_numpy().tolist()
    return headers, [["" if v is None else str(v) for v in row] for row in cells]


def read_xlsx(path: Path, limits: Limits) -> Raw:
    headers, rows = xlsx_rows(path, limits)
    return table_to_raw(headers, rows, limits, "the XLSX")


def read_table(path: Path, fmt: str, limits: Limits) -> tuple[list[str], list[list[str]]]:
    """A CSV or XLSX as a plain table (an access list): header and rows of text, at most
    ``limits.max_features`` rows."""
    if fmt not in ("csv", "xlsx"):
        raise IngestError(f"a table is read from CSV or XLSX; the file is {fmt}")
    headers, rows = (csv_rows if fmt == "csv" else xlsx_rows)(path, limits)
    if len(rows) > limits.max_features:
        raise UploadTooLarge(f"the table has {len(rows):,} rows; at most {limits.max_features:,}")
    if len(set(headers)) != len(headers) or not all(headers):
        raise IngestError(f"the table's header row must name every column once; got {headers[:20]}")
    width = len(headers)
    return headers, [(list(r) + [""] * width)[:width] for r in rows]


# --- 自然资源部 用地报批 coordinate TXT -------------------------------------------------------------

def read_landtxt(path: Path, limits: Limits) -> Raw:
    text = _decode_text(path.read_bytes())
    if "[地块坐标]" not in text:
        raise IngestError("用地报批 TXT has no [地块坐标] section")
    head, body = text.split("[地块坐标]", 1)
    attrs = {}
    for line in head.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            attrs[k.strip()] = v.strip()
    raw = Raw()
    width = attrs.get("几度分带", "3").strip() or "3"
    if width not in ("3", "6"):
        raise IngestError(f"几度分带={width!r}: expected 3 or 6")
    zone = attrs.get("带号", "").strip()
    datum = attrs.get("坐标系", "")
    if datum and "2000" not in datum:
        raise IngestError(f"坐标系={datum!r}: only 2000国家大地坐标系 (CGCS2000) is supported; "
                          "convert 西安80/北京54 data with its seven parameters first")
    unit = attrs.get("计量单位", "米")
    if unit not in ("米", "m", "metre", ""):
        raise IngestError(f"计量单位={unit!r}: coordinates must be in metres (米)")
    parcels: list[tuple[dict, dict[str, list[tuple[float, float]]]]] = []
    for n, line in enumerate(body.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        cells = [c.strip() for c in line.split(",")]
        if line.endswith("@"):
            if len(parcels) >= limits.max_features:
                raise UploadTooLarge(f"the TXT has more than {limits.max_features} parcels")
            meta = dict(zip(("points", "area_ha", "code", "name", "shape", "sheet", "use", "land_class"), cells))
            parcels.append((meta, {}))
            continue
        if not parcels:
            raise IngestError(f"[地块坐标] line {n}: a point before any parcel header line (ending in @)")
        if len(cells) < 4:
            raise IngestError(f"[地块坐标] line {n}: expected 点号,圈号,X,Y; got {line!r}")
        try:
            north, east = float(cells[2]), float(cells[3])
        except ValueError:
            raise IngestError(f"[地块坐标] line {n}: X/Y {cells[2]!r}, {cells[3]!r} are not numbers") from None
        if not (np.isfinite(north) and np.isfinite(east)):
            raise IngestError(f"[地块坐标] line {n}: coordinates must be finite")
        parcels[-1][1].setdefault(cells[1], []).append((east, north))
    if not parcels:
        raise IngestError("the TXT has no parcels under [地块坐标]")
    for meta, rings in parcels:
        if not rings:
            raise IngestError(f"parcel {meta.get('code') or meta.get('name')!r} has no points")
        sub = table_to_raw(["ring", "y", "x"], [[r, e, nn] for r, pts in rings.items() for e, nn in pts],
                           limits, f"parcel {meta.get('code')!r}")
        raw.geometries.append(sub.geometries[0])
        props = {k: v for k, v in meta.items() if v not in ("", "@")}
        raw.properties.append(props)
    eastings = np.array([x for g in raw.geometries for x in shapely.get_coordinates(g)[:, 0]])
    prefix = int(eastings.max() // 1_000_000)
    prefixed = prefix >= 10
    if prefixed and zone and int(zone) != prefix:
        raise IngestError(f"带号={zone} but the eastings carry the zone prefix {prefix}")
    if not zone:
        if not prefixed:
            raise IngestError("the TXT gives no 带号 and the eastings have no zone prefix; "
                              "pass the CRS (e.g. crs=EPSG:4527)")
        zone = str(prefix)
    raw.crs = f"GK:{int(zone)}:{width}:{int(prefixed)}"
    raw.crs_source = "用地报批 TXT header (带号" + (", easting prefix" if prefixed else "") + ")"
    if not prefixed:
        cm = int(zone) * 3 if width == "3" else int(zone) * 6 - 3
        raw.warnings.append(f"the eastings carry no zone prefix, so the zone rests on 带号={zone} alone (central "
                            f"meridian {cm}°E): a wrong 带号 moves every parcel by {width}° of longitude per zone")
    return raw


READERS = {
    "geojson": read_geojson, "shapefile_zip": read_shapefile_zip, "kml": read_kml,
    "kmz": read_kmz, "gpkg": read_gpkg, "csv": read_csv, "xlsx": read_xlsx,
    "landtxt": read_landtxt, "dxf": read_dxf,
}
