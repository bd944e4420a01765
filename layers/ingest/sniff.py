"""Which format a file is, by its content first and its name second. The name only breaks
ties between text formats; a file whose content contradicts its extension is refused."""

from __future__ import annotations

import io
import re
import zipfile

from layers.ingest.errors import IngestError, UnsupportedFormat

FORMATS = ("geojson", "shapefile_zip", "kml", "kmz", "gpkg", "csv", "xlsx", "landtxt", "dxf")
EXTENSIONS = {
    ".geojson": "geojson", ".json": "geojson", ".zip": "shapefile_zip", ".kml": "kml",
    ".kmz": "kmz", ".gpkg": "gpkg", ".csv": "csv", ".xlsx": "xlsx", ".txt": "landtxt",
    ".dxf": "dxf",
}
SQLITE = b"SQLite format 3\x00"
GPKG_APP_IDS = (b"GPKG", b"GP10", b"GP11")


def _text_head(data: bytes, n: int = 4096) -> str:
    head = data[:n]
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return head.decode(enc)
        except UnicodeDecodeError:
            continue
    return head.decode("latin-1")


def sniff(data: bytes, filename: str) -> str:
    ext = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    claimed = EXTENSIONS.get(ext)
    if not data.strip():
        raise IngestError(f"{filename!r} is empty")
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        try:
            names = [n.lower() for n in zipfile.ZipFile(io.BytesIO(data)).namelist()]
        except zipfile.BadZipFile as exc:
            raise UnsupportedFormat(f"{filename!r} looks like a zip but cannot be read: {exc}") from None
        if "[content_types].xml" in names and any(n.startswith("xl/") for n in names):
            kind = "xlsx"
        elif any(n.endswith(".kml") for n in names) and not any(n.endswith(".shp") for n in names):
            kind = "kmz"
        else:
            kind = "shapefile_zip"
    elif data[:16] == SQLITE:
        if data[68:72] not in GPKG_APP_IDS:
            raise UnsupportedFormat(f"{filename!r} is an SQLite database but not a GeoPackage")
        kind = "gpkg"
    else:
        head = data[:4096]
        if b"\x00" in head or sum(b < 9 or 13 < b < 32 for b in head) > len(head) // 100:
            raise UnsupportedFormat(
                f"{filename!r} is binary data of no accepted format; accepted: GeoJSON, zipped Shapefile, "
                "KML, KMZ, GeoPackage, CSV, XLSX, 用地报批 coordinate TXT, DXF")
        text = _text_head(data).lstrip("\ufeff \t\r\n")
        if "[属性描述]" in text or "[地块坐标]" in text:
            kind = "landtxt"
        elif text.startswith(("{", "[")):
            kind = "geojson"
        elif text.startswith("<"):
            if re.search(r"<kml[\s>]", text) or "<Document" in text or "<Placemark" in text:
                kind = "kml"
            else:
                raise UnsupportedFormat(f"{filename!r} is XML but not KML")
        elif re.match(r"\s*0\s*\r?\n\s*SECTION", text):
            kind = "dxf"
        elif "," in text or "\t" in text or ";" in text:
            kind = "csv"
        else:
            raise UnsupportedFormat(
                f"cannot tell the format of {filename!r}; accepted: GeoJSON, zipped Shapefile, KML, "
                "KMZ, GeoPackage, CSV, XLSX, 用地报批 coordinate TXT, DXF")
    compatible = {"shapefile_zip": {"shapefile_zip"}, "kmz": {"kmz"}, "csv": {"csv", "landtxt"},
                  "landtxt": {"landtxt", "csv"}}
    if claimed and claimed != kind and kind not in compatible.get(claimed, set()):
        raise UnsupportedFormat(f"{filename!r} has the extension {ext} but its content is {kind}")
    if claimed == "landtxt" and kind == "csv":
        return "csv"
    return kind
