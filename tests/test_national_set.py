"""The national SYNTHETIC set's builder (``--scale national``) for one small province: its files
load through the national catalog, every layer is labelled synthetic, the control units
partition the counties, and each park lies in the industrial-cluster unit it names."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from layers.catalog import DEFAULT_CATALOG
from layers.store import EmbeddedStore

NINGXIA = "640000"


@pytest.fixture(scope="module")
def ningxia(tmp_path_factory):
    from layers.sample.build import build_national

    out = tmp_path_factory.mktemp("national") / "national"
    build_national(out, spacing_m=200.0, provinces=(NINGXIA,))
    return EmbeddedStore.open(DEFAULT_CATALOG.with_name("national.yaml"), out)


def test_every_layer_loads_and_what_is_made_up_is_labelled_synthetic(ningxia):
    infos = {i.id: i for i in ningxia.layers()}
    made = {"control_units", "red_lines", "protected_areas", "basic_farmland", "cultivated_land",
            "industrial_parks", "candidate_land", "urban_boundaries", "main_function_zones", "access_lists"}
    assert made | {"admin_county"} <= set(infos)
    for layer_id in made | {"admin_county"}:
        assert infos[layer_id].count > 0, layer_id
    assert all(infos[i].entry.synthetic for i in made)
    assert not infos["admin_county"].entry.synthetic  # the real boundaries, densified
    for raster in ("dem", "slope", "ghi", "wind_speed"):
        r = ningxia.raster(raster)
        assert r.entry.synthetic
        lon, lat = 106.27, 38.47  # 银川
        assert r.bbox[0] < lon < r.bbox[2] and r.bbox[1] < lat < r.bbox[3], raster


def test_units_partition_the_counties_and_parks_lie_in_cluster_units(ningxia):
    counties = ningxia.geometries("admin_county", np.arange(ningxia.info("admin_county").count))
    units = ningxia.geometries("control_units", np.arange(ningxia.info("control_units").count))
    land, covered = shapely.union_all(counties), shapely.union_all(units)
    assert shapely.area(shapely.symmetric_difference(land, covered)) < 1e-6 * shapely.area(land)
    parks = ningxia.info("industrial_parks")
    idx = np.arange(parks.count)
    names = ningxia.feature_ids("industrial_parks", idx)
    assert len(set(names.tolist())) == parks.count and all("合成" in n for n in names.tolist())
    cols = ningxia.attribute_columns("industrial_parks", idx)
    for g, unit_code in zip(ningxia.geometries("industrial_parks", idx), cols["unit_code"].tolist()):
        _, hit = ningxia.query("control_units", np.array([shapely.point_on_surface(g)]), predicate="intersects")
        unit_cols = ningxia.attribute_columns("control_units", hit)
        assert unit_code in unit_cols["code"].tolist()
