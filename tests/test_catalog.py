import shutil

import pyogrio
import pytest
import yaml

from layers.catalog import DEFAULT_CATALOG, Catalog, load_catalog
from layers.store import EmbeddedStore, LayerLoadError

REQUIRED_KEYS = ("id", "title", "kind", "source", "crs", "vintage", "licence", "provenance", "synthetic")


def test_sample_catalog_declares_every_layer_fully():
    catalog, data_dir = load_catalog(DEFAULT_CATALOG)
    assert data_dir.name == "sample"
    kinds = {e.kind for e in catalog.layers}
    assert {"admin", "key_region", "red_line", "control_unit", "protected_area", "basic_farmland",
            "candidate_land", "industrial_park", "grid"} <= kinds
    for e in catalog.layers:
        dumped = e.model_dump()
        for k in REQUIRED_KEYS:
            assert dumped[k] not in (None, ""), (e.id, k)
        assert e.title.zh and e.title.en
        # synthetic layers say so in their titles and provenance as well as the flag
        if e.synthetic:
            assert "synthetic" in e.title.en.lower() and "SYNTHETIC" in e.provenance


def _raw():
    return yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))


def test_catalog_rejects_duplicate_ids_and_bad_coverage():
    raw = _raw()
    raw["layers"].append(dict(raw["layers"][0]))
    with pytest.raises(ValueError, match="duplicate layer ids"):
        Catalog.model_validate(raw)
    raw = _raw()
    raw["layers"][-1]["coverage"] = {"admin_layer": "red_lines"}
    with pytest.raises(ValueError, match="not an admin layer"):
        Catalog.model_validate(raw)


def test_field_mapping_loads_native_mee_names(store):
    cols = pyogrio.read_info(store.data_dir / "control_units.gpkg")["fields"]
    assert {"HJZHGKDYBM", "ZHGKDYFL", "KJBJYS", "PWWPFGK", "HJFXFK", "ZYKFXLYQ"} <= set(cols)
    info = store.info("control_units")
    assert {"code", "unit_class", "spatial_layout", "emission_control", "risk_control",
            "resource_efficiency"} <= set(info.fields)
    assert "HJZHGKDYBM" not in info.fields


def _mini_catalog(tmp_path, store, mapping=None):
    """A catalog with the admin provinces and the industrial parks copied to tmp_path."""
    shutil.copy(store.data_dir / "industrial_parks.gpkg", tmp_path / "parks.gpkg")
    raw = _raw()
    admin = next(l for l in raw["layers"] if l["id"] == "admin_province")
    admin["source"] = str(store.data_dir / "admin.gpkg")
    parks = next(l for l in raw["layers"] if l["id"] == "industrial_parks")
    parks["source"] = "parks.gpkg"
    if mapping is not None:
        parks["fields"] = mapping
    raw["layers"] = [admin, parks]
    raw["data_dir"] = "."
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_version_derives_from_content(tmp_path, store):
    path = _mini_catalog(tmp_path, store)
    v1 = EmbeddedStore.open(path).info("industrial_parks").version
    assert v1 == store.info("industrial_parks").version  # same content, same version
    gdf = pyogrio.read_dataframe(tmp_path / "parks.gpkg")
    gdf.loc[0, "planning_eia"] = "no" if gdf.loc[0, "planning_eia"] == "yes" else "yes"
    pyogrio.write_dataframe(gdf, tmp_path / "parks.gpkg", layer="industrial_parks", driver="GPKG")
    v2 = EmbeddedStore.open(path).info("industrial_parks").version
    assert v2 != v1
    gdf.loc[0, "planning_eia"] = "no" if gdf.loc[0, "planning_eia"] == "yes" else "yes"
    gdf.loc[1, "geometry"] = gdf.loc[1, "geometry"].buffer(1e-6)
    pyogrio.write_dataframe(gdf, tmp_path / "parks.gpkg", layer="industrial_parks", driver="GPKG")
    v3 = EmbeddedStore.open(path).info("industrial_parks").version
    assert v3 not in (v1, v2)


def test_missing_required_field_is_named(tmp_path, store):
    path = _mini_catalog(tmp_path, store, mapping={"name": "park_name"})
    with pytest.raises(LayerLoadError, match=r"lacks required fields \['name'\]"):
        EmbeddedStore.open(path)


def test_mapping_from_absent_column_is_named(tmp_path, store):
    path = _mini_catalog(tmp_path, store, mapping={"YQMC": "name"})
    with pytest.raises(LayerLoadError, match="YQMC"):
        EmbeddedStore.open(path)


def test_missing_source_file_is_named(tmp_path, store):
    path = _mini_catalog(tmp_path, store)
    (tmp_path / "parks.gpkg").unlink()
    with pytest.raises(LayerLoadError, match="does not exist"):
        EmbeddedStore.open(path)


def test_store_answers_vectorised_queries(store):
    import numpy as np
    import shapely

    pts = shapely.points([[112.55, 37.87], [106.27, 38.47], [2.35, 48.85]])
    site_idx, feat_idx = store.query("admin_province", pts)
    codes = dict(zip(site_idx.tolist(), store.feature_ids("admin_province", feat_idx)))
    assert codes == {0: "140000", 1: "640000"}
    assert isinstance(feat_idx, np.ndarray)
