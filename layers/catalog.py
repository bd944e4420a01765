"""The layer catalog: one declarative YAML file that lists every layer the service serves.

A catalog entry says what a layer is (kind, titles), where its data is (source file and
layer), how to read it (CRS, field mapping from the source's own column names to our
canonical names), what area it speaks for (coverage) and where it comes from (vintage,
licence, provenance, ``synthetic``). Pointing the service at real provincial data means
writing such a file; no code changes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LayerKind = Literal[
    "admin",
    "key_region",
    "plateau",
    "red_line",
    "control_unit",
    "protected_area",
    "basic_farmland",
    "candidate_land",
    "industrial_park",
    "grid",
    "settlement",
    "water",
    "road",
    "forest",
    "drinking_water",
    "cultivated_land",
    "urban_boundary",
    "river",
    "river_shore",
    "main_function_zone",
    "access_list",
    "raster",
]
# Kinds without geometry: tables versioned like layers, never drawn, overlaid or tiled.
NON_SPATIAL_KINDS = ("access_list",)

# Canonical fields a layer of each kind must provide (after the field mapping).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "admin": ("adcode", "name", "level"),
    "key_region": ("edition", "region", "member_adcodes"),
    "plateau": ("member_id", "name", "membership"),
    "red_line": ("code", "name"),
    "control_unit": (
        "code",
        "name",
        "unit_class",
        "spatial_layout",
        "emission_control",
        "risk_control",
        "resource_efficiency",
    ),
    "protected_area": ("name", "category"),
    "basic_farmland": ("code",),
    "candidate_land": ("land_kind", "name"),
    "industrial_park": ("name", "planning_eia"),
    "grid": ("name", "voltage_kv"),
    "settlement": ("name", "settlement_type"),
    "water": ("name", "water_type"),
    "road": ("name", "road_class"),
    "forest": ("name", "forest_type", "protection_level"),
    "drinking_water": ("code", "name", "zone_level"),  # 一级 / 二级 / 准保护区
    "cultivated_land": ("code", "category"),  # 永久基本农田 / 一般耕地
    "urban_boundary": ("code", "name"),  # 城镇开发边界
    "river": ("name", "river"),  # a river's course (黄河, 长江 …)
    "river_shore": ("code", "name", "river", "width_m"),  # 岸线管控范围, the shore control range
    "main_function_zone": ("code", "name", "zone_type"),  # 主体功能区: urbanised / agricultural / ecological
    # 准入清单, one row per item (layers.lists; a one-row-per-unit table is melted into items)
    "access_list": ("item_id", "scope", "text"),
    "raster": (),
}


class Titles(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str
    en: str


class Coverage(BaseModel):
    """The area a layer speaks for: inside it, the absence of a feature is meaningful
    (no red line here); outside it, the layer says nothing and rules needing it are
    ``undetermined``. Given as features of an admin layer, or ``all`` of that layer."""

    model_config = ConfigDict(extra="forbid")
    admin_layer: str
    adcodes: list[str] | Literal["all"] = "all"


class RasterSpec(BaseModel):
    """What a raster layer measures and how to draw it. The source is any GDAL-readable
    single-band raster (GeoTIFF/COG) in any CRS; it is read by window, never whole."""

    model_config = ConfigDict(extra="forbid")
    quantity: Literal["elevation", "slope", "ghi", "wind_speed"]
    unit: str
    band: int = Field(1, ge=1)
    colormap: str = Field("viridis", description="a rio-tiler colour map name")
    range: tuple[float, float] = Field(description="values drawn at the two ends of the ramp")

    @model_validator(mode="after")
    def _range(self) -> RasterSpec:
        if not self.range[0] < self.range[1]:
            raise ValueError(f"raster range must increase; got {list(self.range)}")
        from rio_tiler.colormap import cmap

        if self.colormap not in cmap.list():
            raise ValueError(f"unknown colormap {self.colormap!r}; e.g. viridis, terrain, magma")
        return self


class LayerEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,62}$")
    title: Titles
    kind: LayerKind
    source: str
    source_layer: str | None = None
    crs: str = "EPSG:4490"
    vintage: dt.date
    valid_from: dt.date | None = Field(
        None, description="the first day the catalog data speaks for, when earlier than its vintage (an "
                          "as_of judgment before it finds the layer not yet in existence); default: the vintage")
    licence: str
    provenance: str
    synthetic: bool
    fields: dict[str, str] = Field(
        default_factory=dict, description="source column name -> canonical name"
    )
    id_field: str | None = Field(None, description="canonical field holding the feature id")
    coverage: Coverage | None = None
    description: str = ""
    binds: str | None = Field(None, description="whom an access list's items bind (kind access_list), as the "
                                                "document says; default: project owners and EIA authorities")
    minzoom: int = Field(0, ge=0, le=24, description="lowest zoom at which tiles are served")
    maxzoom: int = Field(16, ge=0, le=24, description="highest zoom at which tiles are served")
    raster: RasterSpec | None = Field(None, description="required for (and only for) kind raster")
    public: bool = Field(True, description="false: tiles, features and attributes need an API key")

    @model_validator(mode="after")
    def _zooms(self) -> LayerEntry:
        if self.minzoom > self.maxzoom:
            raise ValueError(f"layer {self.id!r}: minzoom {self.minzoom} > maxzoom {self.maxzoom}")
        if (self.kind == "raster") != (self.raster is not None):
            raise ValueError(f"layer {self.id!r}: a `raster:` section goes with kind raster, and only with it")
        return self

    @property
    def spatial(self) -> bool:
        """False for a table versioned like a layer (an access list): no geometry."""
        return self.kind not in NON_SPATIAL_KINDS

    @field_validator("fields")
    @classmethod
    def _unique_targets(cls, v: dict[str, str]) -> dict[str, str]:
        targets = list(v.values())
        dup = {t for t in targets if targets.count(t) > 1}
        if dup:
            raise ValueError(f"field mapping maps several source columns to {sorted(dup)}")
        return v


class EntryBacked:
    """What every loaded layer (vector or raster) says about itself from its catalog entry."""

    entry: LayerEntry

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def kind(self) -> str:
        return self.entry.kind

    @property
    def synthetic(self) -> bool:
        return self.entry.synthetic

    @property
    def spatial(self) -> bool:
        return self.entry.spatial


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    catalog_version: int = 1
    title: str = ""
    data_dir: str = "."
    layers: list[LayerEntry]

    @model_validator(mode="after")
    def _check(self) -> Catalog:
        ids = [entry.id for entry in self.layers]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate layer ids: {sorted(dup)}")
        by_id = {entry.id: entry for entry in self.layers}
        for entry in self.layers:
            if entry.coverage is None:
                continue
            admin = by_id.get(entry.coverage.admin_layer)
            if admin is None or admin.kind != "admin":
                raise ValueError(
                    f"layer {entry.id!r}: coverage.admin_layer {entry.coverage.admin_layer!r} "
                    "is not an admin layer of this catalog"
                )
        return self

    def entry(self, layer_id: str) -> LayerEntry:
        for e in self.layers:
            if e.id == layer_id:
                return e
        raise KeyError(layer_id)


def load_catalog(path: str | Path, data_dir: str | Path | None = None) -> tuple[Catalog, Path]:
    """Read and validate a catalog file. Returns the catalog and the resolved data folder
    (``data_dir`` argument, else the file's ``data_dir`` relative to the file)."""
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        raw = yaml.safe_load(fh)
    catalog = Catalog.model_validate(raw)
    if data_dir is None:
        base = Path(catalog.data_dir)
        data_dir = base if base.is_absolute() else (path.parent / base)
    return catalog, Path(data_dir).resolve()


DEFAULT_CATALOG = Path(__file__).parent / "catalogs" / "sample.yaml"
