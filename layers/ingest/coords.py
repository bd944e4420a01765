"""Which CRS an upload's coordinates are in, whether they can be right for it, and converting
them to EPSG:4490.

Accepted: EPSG:4326 / 4490 (lon/lat), the CGCS2000 Gauss-Krüger zones (3°: 4513–4533 with the
zone number prefixed to the easting, 4534–4554 without; 6°: 4491–4501 prefixed, 4502–4512
not), EPSG:3857, and ``GCJ-02`` / ``BD-09`` (Amap / Baidu lon/lat). The file's own CRS wins;
the ``crs`` parameter fills in where the file says nothing, and may refine a file that says
WGS84 to GCJ-02 or BD-09 (Amap and Baidu exports declare WGS84). Coordinates that cannot be
right for the CRS get an :class:`IngestError` saying what they look like and what to pass.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer

from layers.crs import bd09_to_wgs84, gcj02_to_wgs84
from layers.ingest.errors import IngestError

OBFUSCATED = {"GCJ-02": gcj02_to_wgs84, "BD-09": bd09_to_wgs84}
ALIASES = {"GCJ02": "GCJ-02", "GCJ-02": "GCJ-02", "AMAP": "GCJ-02", "BD09": "BD-09", "BD-09": "BD-09",
           "BAIDU": "BD-09", "WGS84": "EPSG:4326", "CRS84": "EPSG:4326", "CGCS2000": "EPSG:4490"}
GEOGRAPHIC = (4326, 4490)
# how far beyond its half-width a zone's coordinates may reach (parcels on a zone's edge are
# often surveyed in the neighbouring zone: half a degree is about 45 km)
ZONE_MARGIN_DEG = 0.5


@dataclass(frozen=True)
class GK:
    """A CGCS2000 Gauss-Krüger zone."""

    epsg: int
    width: int  # 3 or 6 degrees
    zone: int
    prefixed: bool  # easting carries the zone number (…×1e6)

    @property
    def central_meridian(self) -> int:
        return self.zone * 3 if self.width == 3 else self.zone * 6 - 3


def gk_info(epsg: int) -> GK | None:
    if 4513 <= epsg <= 4533:
        return GK(epsg, 3, epsg - 4513 + 25, True)
    if 4534 <= epsg <= 4554:
        return GK(epsg, 3, (75 + 3 * (epsg - 4534)) // 3, False)
    if 4491 <= epsg <= 4501:
        return GK(epsg, 6, epsg - 4491 + 13, True)
    if 4502 <= epsg <= 4512:
        return GK(epsg, 6, epsg - 4502 + 13, False)
    return None


def gk_epsg(width: int, zone: int, prefixed: bool) -> int:
    if width == 3:
        if not 25 <= zone <= 45:
            raise IngestError(f"3° zone {zone} is not a CGCS2000 zone in China (25–45)")
        return 4513 + zone - 25 if prefixed else 4534 + zone - 25
    if not 13 <= zone <= 23:
        raise IngestError(f"6° zone {zone} is not a CGCS2000 zone in China (13–23)")
    return 4491 + zone - 13 if prefixed else 4502 + zone - 13


def normalise(crs: str) -> str:
    """'4490', 'epsg:4490', 'EPSG:4490', 'urn:ogc:def:crs:EPSG::4490', 'gcj02', 'BD-09' → canonical."""
    s = crs.strip()
    if s.upper().replace("_", "-") in ALIASES:
        return ALIASES[s.upper().replace("_", "-")]
    m = re.fullmatch(r"(?i)(?:epsg:|urn:ogc:def:crs:epsg::|https?://www\.opengis\.net/def/crs/epsg/0/)?(\d{4,5})", s)
    if not m:
        raise IngestError(f"crs {crs!r} is not accepted; give an EPSG code (4326, 4490, 4513–4554, "
                          "4491–4512, 3857) or GCJ-02 / BD-09")
    code = int(m.group(1))
    if code not in GEOGRAPHIC and code != 3857 and gk_info(code) is None:
        raise IngestError(f"EPSG:{code} is not accepted; use 4326, 4490, a CGCS2000 Gauss-Krüger zone "
                          "(4491–4554), 3857, GCJ-02 or BD-09")
    return f"EPSG:{code}"


def _from_file(declared: str) -> str:
    """The file's CRS (EPSG code, WKT or a 用地报批 zone) as a canonical name."""
    if declared.startswith("GK:"):
        _, zone, width, prefixed = declared.split(":")
        return f"EPSG:{gk_epsg(int(width), int(zone), prefixed == '1')}"
    if declared.startswith("EPSG:"):
        return normalise(declared)
    try:
        crs = CRS.from_wkt(declared)
    except Exception:
        raise IngestError("the file's CRS definition (.prj) cannot be read") from None
    epsg = crs.to_epsg(min_confidence=50)
    if epsg:
        return normalise(str(epsg))
    if crs.is_geographic and crs.ellipsoid and abs(crs.ellipsoid.semi_major_metre - 6378137.0) < 1:
        problems = _not_plain_lonlat(crs)
        if problems:
            raise IngestError(f"the file's CRS ({crs.name}) is not plain longitude/latitude: {'; '.join(problems)}. "
                              "This service does not convert such coordinates: reproject to CGCS2000 "
                              "(EPSG:4490) first")
        return "EPSG:4490"
    raise IngestError(f"the file's CRS ({crs.name}) is not one of the accepted ones; reproject to "
                      "CGCS2000 (EPSG:4490 or a Gauss-Krüger zone) first")


def _not_plain_lonlat(crs: CRS) -> list[str]:
    """What makes a geographic CRS on the GRS80/WGS84 ellipsoid other than plain degrees from
    Greenwich (a .prj taken as EPSG:4490 otherwise): another prime meridian, angles in radians
    or grads, a rotated pole or other derived grid."""
    problems = []
    pm = crs.prime_meridian
    if pm is not None and abs(pm.longitude) > 1e-12:
        problems.append(f"its prime meridian is {pm.name} at {pm.longitude:g} {pm.unit_name.lower()}, not Greenwich")
    units = {(a.unit_name, round(a.unit_conversion_factor, 15)) for a in crs.axis_info}
    if any(abs(factor - math.pi / 180) > 1e-12 for _, factor in units):
        problems.append("its angles are in " + ", ".join(sorted(n.lower() for n, _ in units)) + ", not degrees")
    if crs.is_derived:
        problems.append("it is a derived grid (a rotated pole or similar)")
    return problems


def describe(xy: np.ndarray) -> str:
    if not len(xy):
        return "there are no coordinates"
    x0, y0 = xy[0]
    return f"the first point is ({x0:,.3f}, {y0:,.3f})"


def looks_like(xy: np.ndarray) -> str:
    """What the coordinates look like, and which CRS to pass."""
    x, y = xy[:, 0], xy[:, 1]
    if (np.abs(x) <= 180).all() and (np.abs(y) <= 90).all():
        return "they look like longitude/latitude degrees (EPSG:4490, or GCJ-02/BD-09 from Amap/Baidu)"
    e = float(np.median(x))
    if 1e7 <= e < 4.6e7 and (y > 1e6).all():
        zone = int(e // 1e6)
        if zone >= 25:
            return (f"they look like Gauss-Krüger metres with the 3° zone prefix {zone} in the easting: "
                    f"pass crs=EPSG:{gk_epsg(3, zone, True)}")
        if 13 <= zone <= 23:
            return (f"they look like Gauss-Krüger metres with the 6° zone prefix {zone} in the easting: "
                    f"pass crs=EPSG:{gk_epsg(6, zone, True)}")
    if (np.abs(x) < 1e6).all() and ((y > 1e6) & (y < 7e6)).all():
        return ("they look like Gauss-Krüger metres without a zone prefix: pass the zone's EPSG code "
                "(3° zones: EPSG:4534 for 75°E … EPSG:4554 for 135°E, e.g. 4539 for 114°E)")
    if (np.abs(x) < 2.01e7).all() and (np.abs(y) < 2.01e7).all():
        return "they look like projected metres (Web Mercator EPSG:3857, or a Gauss-Krüger zone)"
    return "they are outside any accepted CRS"


def choose(declared: str | None, param: str | None) -> tuple[str, str]:
    """(canonical CRS, how it was chosen)."""
    p = normalise(param) if param else None
    if declared:
        d = _from_file(declared)
        if p is None or p == d:
            return d, "file"
        if p in OBFUSCATED and d in ("EPSG:4326", "EPSG:4490"):
            return p, "parameter (refines the file's WGS84)"
        raise IngestError(f"the file says its CRS is {d} but crs={param} was given; drop the parameter, "
                          "or fix the file")
    if p:
        return p, "parameter"
    return "", "none"


def to_storage(geoms: np.ndarray, crs: str) -> np.ndarray:
    """Check the coordinates are plausible for ``crs`` and convert them to EPSG:4490."""
    xy = shapely.get_coordinates(geoms)
    if not np.isfinite(xy).all():
        raise IngestError("coordinates contain NaN or infinity")
    if crs in OBFUSCATED or crs in ("EPSG:4326", "EPSG:4490"):
        if not ((np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()):
            raise IngestError(f"coordinates cannot be degrees ({crs}): {describe(xy)}; {looks_like(xy)}")
        if crs in OBFUSCATED:
            convert = OBFUSCATED[crs]
            return shapely.transform(geoms, lambda c: convert(c))
        return geoms
    epsg = int(crs.split(":")[1])
    gk = gk_info(epsg)
    if gk is not None:
        east, north = xy[:, 0], xy[:, 1]
        if (np.abs(east) <= 180).all() and (np.abs(north) <= 90).all():
            raise IngestError(f"coordinates cannot be Gauss-Krüger metres ({crs}): {describe(xy)}; {looks_like(xy)}")
        if not ((north > 0) & (north < 6.5e6)).all():
            raise IngestError(f"northings must lie between 0 and 6,500,000 m in {crs}: {describe(xy)}; "
                              "(X is the northing, Y the easting, in Chinese survey tables)")
        prefixes = np.floor(east / 1e6).astype(int)
        if gk.prefixed:
            bad = prefixes != gk.zone
            if bad.any():
                found = sorted(set(prefixes[bad].tolist()))[:3]
                hint = looks_like(xy)
                raise IngestError(f"{crs} is zone {gk.zone}, whose eastings start with {gk.zone}; these start "
                                  f"with {found}: {describe(xy)}; {hint}")
        elif (east > 1.1e6).any() or (east < -1e5).any():
            raise IngestError(f"eastings of {crs} (no zone prefix) lie within ±1,000 km of 500,000 m; "
                              f"{describe(xy)}; {looks_like(xy)}")
    elif epsg == 3857 and not ((np.abs(xy) < 2.004e7).all()):
        raise IngestError(f"coordinates are outside Web Mercator's range: {describe(xy)}; {looks_like(xy)}")
    tr = Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
    out = shapely.transform(geoms, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    lonlat = shapely.get_coordinates(out)
    if not np.isfinite(lonlat).all():
        raise IngestError(f"coordinates cannot be converted from {crs}: {describe(xy)}; {looks_like(xy)}")
    if gk is not None and (np.abs(lonlat[:, 0] - gk.central_meridian) > gk.width / 2 + ZONE_MARGIN_DEG).any():
        far = float(np.max(np.abs(lonlat[:, 0] - gk.central_meridian)))
        raise IngestError(f"coordinates fall outside {crs}'s zone: they lie up to {far:.2f}° from its central "
                          f"meridian {gk.central_meridian}°E, and a {gk.width}° zone spans ±{gk.width / 2:g}° "
                          f"(±{gk.width / 2 + ZONE_MARGIN_DEG:g}° accepted at its edges); {describe(xy)}; wrong 带号 or zone?")
    return out
