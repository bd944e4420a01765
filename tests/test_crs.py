import numpy as np
import pytest
import shapely

from layers.crs import (
    area_m2,
    bd09_to_wgs84,
    gcj02_to_wgs84,
    gk3_epsg,
    to_gk3,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

# Reference values from the scalar formulas in cnmaps 2.1.0 (cnmaps/geo.py), an independent
# implementation of the public GCJ-02 / BD-09 algorithms.
REFERENCE = [
    ((116.397, 39.908), (116.40324337854781, 39.90940335390724), (116.40961642907855, 39.915744473775554)),
    ((112.55, 37.87), (112.55629653973969, 37.870523002004106), (112.56267513318046, 37.87685100306876)),
    ((121.47, 31.23), (121.47453490044272, 31.22806748194233), (121.48107620808638, 31.233986715638544)),
]


@pytest.mark.parametrize(("wgs", "gcj", "bd"), REFERENCE)
def test_forward_matches_reference(wgs, gcj, bd):
    np.testing.assert_allclose(wgs84_to_gcj02(np.array([wgs]))[0], gcj, atol=1e-12)
    np.testing.assert_allclose(wgs84_to_bd09(np.array([wgs]))[0], bd, atol=1e-12)


def test_inverse_is_millimetre_accurate_over_china():
    rng = np.random.default_rng(1)
    p = np.column_stack([rng.uniform(73, 135, 50_000), rng.uniform(18, 53, 50_000)])
    back = gcj02_to_wgs84(wgs84_to_gcj02(p))
    assert np.abs(back - p).max() < 1e-7  # ~1 cm
    # the offset being removed is hundreds of metres
    assert np.abs(wgs84_to_gcj02(p) - p).max() > 1e-3
    # BD-09's own inverse is approximate (a few cm)
    assert np.abs(bd09_to_wgs84(wgs84_to_bd09(p)) - p).max() < 2e-6


def test_outside_china_is_unchanged():
    p = np.array([[2.35, 48.85], [-74.0, 40.7]])
    np.testing.assert_array_equal(wgs84_to_gcj02(p), p)


@pytest.mark.parametrize(("lon", "epsg"), [(75.2, 4534), (112.4, 4546), (112.6, 4547), (106.4, 4544), (135.0, 4554), (60.0, 4534)])
def test_gk3_zone(lon, epsg):
    assert gk3_epsg(lon) == epsg


def test_area_in_gauss_kruger_is_metric():
    # a 1 km square built in the GK zone, taken back to lon/lat, measures 1 km²
    from pyproj import Transformer

    epsg = gk3_epsg(112.5)
    tr = Transformer.from_crs(epsg, 4490, always_xy=True)
    x0, y0 = to_gk3(shapely.Point(112.5, 37.8), epsg).coords[0]
    xs, ys = tr.transform([x0, x0 + 1000, x0 + 1000, x0], [y0, y0, y0 + 1000, y0 + 1000])
    sq = shapely.Polygon(list(zip(xs, ys)))
    assert area_m2([sq])[0] == pytest.approx(1e6, rel=1e-5)
