"""Writing GeoJSON features as GeoJSON, GeoPackage (EPSG:4490) or CSV, for result exports
(siting results, batch-job results, the CLI)."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

MEDIA = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3", "csv": "text/csv"}


def export_features(features: list[dict], fmt: str, columns: list[str], layer: str,
                    flatten: Callable[[dict], dict] | None = None) -> tuple[bytes, str]:
    """The features in ``fmt``; tables (CSV, GeoPackage) take ``columns`` from each feature's
    properties (or from ``flatten(properties)``). CSV is UTF-8 with a BOM, as spreadsheet
    programs used with Chinese text expect. Returns the bytes and the media type."""
    if fmt == "geojson":
        body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
        return body.encode(), MEDIA[fmt]
    if fmt not in MEDIA:
        raise ValueError(f"format must be geojson, gpkg or csv; got {fmt!r}")
    rows = []
    for f in features:
        props = flatten(f["properties"]) if flatten else f["properties"]
        rows.append({c: props.get(c) for c in columns})
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue().encode("utf-8-sig"), MEDIA[fmt]
    import geopandas as gpd
    import shapely.geometry

    gdf = gpd.GeoDataFrame(rows, columns=columns, geometry=[shapely.geometry.shape(f["geometry"]) for f in features],
                           crs="EPSG:4490")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"{layer}.gpkg"
        gdf.to_file(path, layer=layer, driver="GPKG")
        return path.read_bytes(), MEDIA[fmt]
