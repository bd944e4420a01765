"""Raster values at points (`layers.raster.sample`, what /v1/here reports), against rasterio's
own ``DatasetReader.sample`` on the same file: the pixel each point falls in, NaN outside and
on nodata, in the file's own CRS whatever it is."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin

from layers.catalog import DEFAULT_CATALOG, LayerEntry, RasterSpec, load_catalog
from layers.raster import open_raster, sample


def rasterio_says(path, lon, lat) -> np.ndarray:
    """rasterio's answer: its own sample() at the points in the file's CRS; NaN outside the
    grid (rasterio returns nodata or 0 there) and on nodata."""
    with rasterio.open(path) as src:
        x, y = Transformer.from_crs("EPSG:4490", src.crs, always_xy=True).transform(lon, lat)
        rows, cols = rasterio.transform.rowcol(src.transform, x, y)
        inside = (np.asarray(rows) >= 0) & (np.asarray(rows) < src.height) & (np.asarray(cols) >= 0) \
            & (np.asarray(cols) < src.width)
        vals = np.array([v[0] for v in src.sample(zip(x, y))], dtype=float)
        vals[~inside] = np.nan
        if src.nodata is not None:
            vals[vals == src.nodata] = np.nan
    return vals


@pytest.fixture(scope="module")
def projected(tmp_path_factory):
    """A raster in a Gauss-Krüger CRS (EPSG:4547, CGCS2000 3° zone 114° E) with nodata pixels."""
    path = tmp_path_factory.mktemp("raster") / "gk.tif"
    rng = np.random.default_rng(4)
    data = rng.uniform(0, 100, (120, 90)).astype("float32")
    data[rng.random(data.shape) < 0.1] = -1.0
    with rasterio.open(path, "w", driver="GTiff", width=90, height=120, count=1, dtype="float32",
                       crs="EPSG:4547", transform=from_origin(480_000, 4_200_000, 250, 250), nodata=-1.0) as dst:
        dst.write(data, 1)
    entry = LayerEntry(id="gk_test", title={"zh": "测试", "en": "test"}, kind="raster", source=path.name,
                       vintage=dt.date(2024, 1, 1), licence="test", provenance="test", synthetic=True,
                       raster=RasterSpec(quantity="ghi", unit="kWh/m2/a", range=(0, 100)))
    return open_raster(entry, path.parent)


def test_values_at_points_are_the_pixels_rasterio_reads(projected):
    catalog, data_dir = load_catalog(DEFAULT_CATALOG)
    ghi = open_raster(next(e for e in catalog.layers if e.id == "ghi"), data_dir)
    rng = np.random.default_rng(9)
    for info in (ghi, projected):
        w, s, e, n = info.bbox
        # around the raster, a tenth beyond each edge: inside, outside and on nodata
        lon = rng.uniform(w - (e - w) / 10, e + (e - w) / 10, 400)
        lat = rng.uniform(s - (n - s) / 10, n + (n - s) / 10, 400)
        got, want = sample(info, lon, lat), rasterio_says(info.path, lon, lat)
        assert np.isnan(want).any() and (~np.isnan(want)).sum() > 200
        np.testing.assert_array_equal(got, want)
        one = [float(sample(info, x, y)[0]) for x, y in zip(lon[:20], lat[:20])]
        np.testing.assert_array_equal(one, want[:20])
