"""``read_upload``: bytes + file name (+ optional CRS) → checked parcels in EPSG:4490."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from layers.crs import area_m2
from layers.ingest import coords, worker
from layers.ingest.errors import IngestError, UploadTooLarge
from layers.ingest.limits import Limits
from layers.ingest.sniff import sniff

SUFFIX = {"geojson": "json", "shapefile_zip": "zip", "kml": "kml", "kmz": "kmz", "gpkg": "gpkg",
          "csv": "csv", "xlsx": "xlsx", "landtxt": "txt", "dxf": "dxf"}


@dataclass(frozen=True)
class Parcel:
    index: int
    geometry: shapely.Geometry  # EPSG:4490
    properties: dict
    area_m2: float
    vertices: int


@dataclass(frozen=True)
class Upload:
    filename: str
    format: str
    sha256: str
    size: int
    crs: str  # the CRS the coordinates were read in
    crs_source: str
    parcels: list[Parcel]
    warnings: list[str] = field(default_factory=list)

    @property
    def union(self) -> shapely.Geometry:
        return shapely.union_all([p.geometry for p in self.parcels])


def parse_file(data: bytes, filename: str, limits: Limits, formats: tuple[str, ...] | None = None,
               table: bool = False) -> tuple[str, dict]:
    """Sniff the format and parse the file in the limited subprocess: (format, its answer —
    ``crs``, ``crs_source``, ``warnings``, ``parcels`` as WKB hex + attributes; or, for a
    ``table``, ``columns`` and ``rows``)."""
    if len(data) > limits.max_bytes:
        raise UploadTooLarge(f"the file is {len(data) / 2**20:.1f} MB; at most {limits.max_bytes / 2**20:.0f} MB")
    fmt = sniff(data, filename or "upload")
    if formats is not None and fmt not in formats:
        raise IngestError(f"this takes {', '.join(formats)}; the file is {fmt}")
    folder = Path(tempfile.mkdtemp(prefix="upload-"))
    try:
        path = folder / f"upload.{SUFFIX[fmt]}"  # server-named: no user string reaches GDAL
        path.write_bytes(data)
        return fmt, worker.run(path, fmt, limits, table)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_upload(data: bytes, filename: str, crs: str | None = None, limits: Limits = Limits()) -> Upload:
    fmt, answer = parse_file(data, filename, limits)
    geoms = np.array([shapely.from_wkb(p["wkb"]) for p in answer["parcels"]], dtype=object)
    props = [p["properties"] for p in answer["parcels"]]
    warnings = list(answer["warnings"])
    nverts = shapely.get_num_coordinates(geoms)
    if (nverts > limits.max_vertices_per_feature).any():
        i = int(np.argmax(nverts))
        raise UploadTooLarge(f"parcel {i + 1} has {nverts[i]:,} vertices; at most {limits.max_vertices_per_feature:,}")
    if nverts.sum() > limits.max_vertices:
        raise UploadTooLarge(f"the file has {nverts.sum():,} vertices; at most {limits.max_vertices:,}")
    empty = np.flatnonzero(shapely.is_empty(geoms))
    if len(empty):
        raise IngestError(f"parcel {empty[0] + 1} is empty (a geometry without coordinates)"
                          + (f", and {len(empty) - 1} more" if len(empty) > 1 else ""))
    chosen, how = coords.choose(answer["crs"], crs)
    xy = shapely.get_coordinates(geoms)
    if not chosen:
        raise IngestError(f"the file does not say its CRS: pass crs=…; {coords.looks_like(xy)}")
    source = answer["crs_source"] if how == "file" else how
    geoms = coords.to_storage(geoms, chosen)
    for i, g in enumerate(geoms):
        if not g.is_valid:
            raise IngestError(f"parcel {i + 1} is not a valid polygon: {shapely.is_valid_reason(g)}")
    areas = area_m2(geoms)
    for i, a in enumerate(areas):
        if a <= 0:
            raise IngestError(f"parcel {i + 1} has zero area")
    xy = shapely.get_coordinates(geoms)
    if ((xy[:, 0] < 73) | (xy[:, 0] > 136) | (xy[:, 1] < 3) | (xy[:, 1] > 54)).any():
        warnings.append("some coordinates lie outside China: zoning layers will not cover them")
    parcels = [Parcel(i, g, props[i], float(areas[i]), int(nverts[i])) for i, g in enumerate(geoms)]
    return Upload(filename=filename, format=fmt, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                  crs=chosen, crs_source=source, parcels=parcels, warnings=warnings)
