"""Layer storage: one interface, several backends.

:class:`LayerStore` is what the domain (``zoning/``) talks to. It answers a few questions the
same way whichever backend holds the data: which layers there are (with versions), which
features each of many geometries touches (vectorised), the features by index, and whether a
layer speaks for a given area (its coverage).

:class:`EmbeddedStore` reads GeoPackage (or any OGR) files named by the catalog once at
start-up, maps source fields to canonical names, reprojects to :data:`~layers.crs.STORAGE_CRS`,
validates, derives a content version, and indexes each layer with a shapely 2 ``STRtree``
over prepared geometries. No request touches a vector file. Raster layers stay files, checked
at start-up and read by window per request (:mod:`layers.raster`), in every backend.
"""

from __future__ import annotations

import abc
import contextlib
import copy
import datetime as dt
import hashlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyogrio
import shapely

from layers.catalog import REQUIRED_FIELDS, Catalog, EntryBacked, LayerEntry, load_catalog
from layers.crs import STORAGE_CRS
from layers.errors import NotFound, ServiceError
from layers.lists import canonical_items, missing_fields
from layers.query import Selection, select
from layers.raster import RasterError, RasterInfo, open_raster

if TYPE_CHECKING:
    from layers.versions import LayerRegistry

log = logging.getLogger(__name__)

class LayerError(ServiceError):
    """Base class of the errors this package raises (a 500 unless a subclass says otherwise)."""


class LayerLoadError(LayerError):
    """A layer named by the catalog cannot be read or fails validation."""


class UnknownLayer(LayerError, NotFound):
    status = 404

    def __init__(self, layer_id: str):
        super().__init__(layer_id)
        self.layer_id = layer_id

    def __str__(self) -> str:
        return f"unknown layer {self.layer_id!r}"


@dataclass(frozen=True)
class LayerInfo(EntryBacked):
    """Catalog entry plus what loading found: version, count, extent, schema."""

    entry: LayerEntry
    version: str
    count: int
    bbox: tuple[float, float, float, float] | None
    geometry_type: str
    fields: tuple[str, ...]
    warnings: tuple[str, ...] = ()


@dataclass
class LayerData:
    """One version of a vector layer held in memory: what publishing builds, what a backend
    puts in force with :meth:`LayerStore.replace_layer` (the embedded store serves from it)."""

    info: LayerInfo
    frame: pd.DataFrame  # canonical attributes, row i <-> geoms[i]
    geoms: np.ndarray  # shapely geometries, prepared
    ids: np.ndarray  # feature ids (str)
    tree: shapely.STRtree
    id_index: dict[str, int]  # feature id -> row
    columns: dict[str, np.ndarray]  # the frame's columns as object arrays
    coverage: shapely.Geometry | None = None


class LayerStore(abc.ABC):
    """What every backend answers; the contract ``tests/test_store_contract.py`` runs against
    each of them. Callers use nothing else.

    - the catalogue: :meth:`layers`, :meth:`rasters`, :meth:`info`, :meth:`entry`, ``loaded_at``;
    - spatial questions, many geometries at once: :meth:`query`, then the features by row
      (:meth:`geometries`, :meth:`attributes`, :meth:`attribute_columns`, :meth:`feature_ids`),
      :meth:`index_of`, :meth:`coverage`, OGC item filters (:meth:`select`);
    - consistency: :meth:`snapshot` (one request's layers), :meth:`as_of` (those in force at a
      time); geometries a store hands out may be shared prepared geometries: predicates on them
      run inside :meth:`predicates`, which the backend makes safe (a lock, or nothing);
    - versions (``layers.versions``): ``registry`` (the history; None: none kept),
      :meth:`layer_data`, :meth:`load_version`, :meth:`layer_from_frame`,
      :meth:`replace_layer`, :meth:`refresh_layer`, :meth:`relation_of`;
    - optional, declared: ``native_mvt`` says whether :meth:`render_mvt` makes tiles itself.
    """

    native_mvt: ClassVar[bool] = False
    # GEOS prepared geometries build their indexes lazily on first use and are not safe to use
    # from several threads at once (a segfault, seen with concurrent tile requests): a backend
    # that hands out shared prepared geometries serialises predicates on them with a lock
    _prepared: ClassVar[AbstractContextManager] = contextlib.nullcontext()

    def __init__(self, catalog: Catalog, data_dir: Path, registry: LayerRegistry | None = None):
        self.catalog = catalog
        self.data_dir = Path(data_dir)
        self.registry = registry
        self.loaded_at: dt.datetime | None = None
        self._rasters: dict[str, RasterInfo] = {}
        self._swap = threading.Lock()  # guards the switch of what is in force
        self._old: dict[tuple[str, str], object] = {}  # versions met by as_of, a few kept

    # -- the catalogue
    @abc.abstractmethod
    def layers(self) -> list[LayerInfo]:
        """The vector layers."""

    def rasters(self) -> list[RasterInfo]:
        """The raster layers (files, read by window per request, in every backend)."""
        return list(self._rasters.values())

    def raster(self, layer_id: str) -> RasterInfo:
        try:
            return self._rasters[layer_id]
        except KeyError:
            raise UnknownLayer(layer_id) from None

    def is_raster(self, layer_id: str) -> bool:
        return layer_id in self._rasters

    def info(self, layer_id: str) -> LayerInfo:
        for info in self.layers():
            if info.id == layer_id:
                return info
        raise UnknownLayer(layer_id)

    def entry(self, layer_id: str) -> LayerEntry:
        """The catalog's entry for a layer."""
        for e in self.catalog.layers:
            if e.id == layer_id:
                return e
        raise UnknownLayer(layer_id)

    def layers_of_kind(self, kind: str) -> list[LayerInfo]:
        return [i for i in self.layers() if i.kind == kind]

    def _open_rasters(self) -> None:
        for entry in self.catalog.layers:
            if entry.kind == "raster":
                try:
                    self._rasters[entry.id] = open_raster(entry, self.data_dir)
                except RasterError as exc:
                    raise LayerLoadError(str(exc)) from exc

    # -- spatial questions
    @abc.abstractmethod
    def query(
        self,
        layer_id: str,
        geometries: np.ndarray,
        predicate: str = "intersects",
        distance: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (geometry index, feature index) for which ``predicate(geometry, feature)``
        holds (``intersects``; ``dwithin`` with ``distance`` in degrees; ``envelope``: their
        bounding boxes intersect, for callers that clip anyway, such as tiles); many
        geometries in, two index arrays out."""

    @abc.abstractmethod
    def geometries(self, layer_id: str, idx: np.ndarray) -> np.ndarray:
        """The geometries of rows ``idx`` (prepared; test predicates on them in :meth:`predicates`)."""

    @abc.abstractmethod
    def attributes(self, layer_id: str, idx: np.ndarray) -> pd.DataFrame:
        """The canonical attributes of rows ``idx``, in that order."""

    @abc.abstractmethod
    def feature_ids(self, layer_id: str, idx: np.ndarray) -> np.ndarray:
        """The feature ids (str) of rows ``idx``."""

    def attribute_columns(self, layer_id: str, idx: np.ndarray) -> dict[str, np.ndarray]:
        """The attributes of rows ``idx`` as object arrays per column (cheaper to slice and
        read than a DataFrame)."""
        frame = self.attributes(layer_id, idx)
        return {str(c): frame[c].to_numpy(dtype=object) for c in frame.columns}

    @abc.abstractmethod
    def select(self, layer_id: str, *, bbox=None, equals=None, cql=None, limit: int = 10,
               offset: int = 0) -> Selection:
        """Features passing a bbox (CRS84), property-equality and CQL2 AST filter, paged:
        the number matched and the rows returned, in row order."""

    @abc.abstractmethod
    def index_of(self, layer_id: str, feature_id: str) -> int | None:
        """The row of a feature id (None: no such feature)."""

    @abc.abstractmethod
    def coverage(self, layer_id: str) -> shapely.Geometry | None:
        """The area the layer speaks for (None: unknown, treat as nowhere); prepared."""

    def predicates(self) -> AbstractContextManager:
        """Hold while testing predicates on geometries this store returned (features, coverage)."""
        return self._prepared

    # -- tiles
    def render_mvt(self, layer_ids: list[str], z: int, x: int, y: int, extent: int = 4096,
                   buffer: int = 64, max_features: int = 10_000, max_text: int = 48) -> tuple[bytes, int]:
        """One uncompressed MVT tile, made by the backend itself (only where ``native_mvt``):
        the bytes and the feature count."""
        raise NotImplementedError(f"{type(self).__name__} makes no tiles itself (native_mvt is False)")

    # -- consistency
    @abc.abstractmethod
    def snapshot(self) -> LayerStore:
        """The layers in force now, for one request: a view a later switch does not change."""

    def as_of(self, at: str) -> LayerStore:
        """A view with, for every published layer, the version in force at UTC text ``at``.
        Without a version history the versions loaded are the only ones known."""
        view = self.snapshot()
        if self.registry is None:
            return view
        held = {i.id: i.version for i in view.layers()}
        for layer_id, version in self.registry.versions_at(at).items():
            if layer_id in held and version != held[layer_id]:
                view._pin(layer_id, self._remember((layer_id, version),
                                                   lambda lid=layer_id, v=version: self._past_version(lid, v)))
        return view

    @abc.abstractmethod
    def _past_version(self, layer_id: str, version: str):
        """What the backend serves an earlier (or later) version from, for :meth:`as_of`."""

    @abc.abstractmethod
    def _pin(self, layer_id: str, held) -> None:
        """In this view only, serve ``layer_id`` from ``held`` (from :meth:`_past_version`)."""

    def _remember(self, key: tuple[str, str], make, keep: int = 8):
        """A version met by :meth:`as_of`, made once and kept (the ``keep`` latest)."""
        with self._swap:
            hit = self._old.get(key)
        if hit is None:
            hit = make()
            with self._swap:
                self._old[key] = hit
                while len(self._old) > keep:
                    self._old.pop(next(iter(self._old)))
        return hit

    # -- versions (layers.versions)
    @abc.abstractmethod
    def layer_data(self, layer_id: str) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
        """(feature ids, canonical attributes, geometries) of the version in force."""

    @abc.abstractmethod
    def replace_layer(self, layer_id: str, layer: LayerData) -> None:
        """Put a version in force (for every instance sharing the backend's data)."""

    def refresh_layer(self, layer_id: str) -> str:
        """Take up the version another instance put in force in shared data (a database);
        returns the version now held. A backend whose data is its own has nothing to read."""
        return self.info(layer_id).version

    def before_fork(self) -> None:
        """Close what a forked process may not share (database connections): the registry here,
        pools in a database backend. The loaded layers stay, shared copy-on-write."""
        if self.registry is not None:
            self.registry.close()
            self.registry = None

    def after_fork(self, registry: LayerRegistry | None) -> None:
        """In the forked process: take its own registry (and, in a database backend, connections)."""
        self.registry = registry

    def relation_of(self, layer_id: str, version: str | None = None) -> str | None:
        """Where a database backend keeps a version of the layer (None: in memory)."""
        return None

    def _build(self, entry: LayerEntry, frame: pd.DataFrame, geoms: np.ndarray, warnings: list[str],
               version: str | None = None) -> LayerData:
        return build_layer(entry, frame, geoms, warnings, version)

    def load_version(self, layer_id: str, version: str) -> LayerData:
        """A published version of a layer, from its file (canonical fields, EPSG:4490)."""
        if self.registry is None:
            raise LayerLoadError(f"layer {layer_id!r}: this store keeps no version history")
        entry, frame, geoms = read_version_file(self.entry(layer_id), self.registry.version(layer_id, version),
                                                self.data_dir)
        return self._build(entry, frame, geoms, [], version)

    def layer_from_frame(self, layer_id: str, frame: pd.DataFrame, geoms: np.ndarray,
                         vintage: dt.date) -> LayerData:
        """A layer built from canonical data in memory (a version about to be published)."""
        entry = self.entry(layer_id).model_copy(update={"vintage": vintage})
        return self._build(entry, frame.reset_index(drop=True), np.asarray(geoms, dtype=object), [])


# --- loading helpers ------------------------------------------------------------------------

def cores() -> int:
    """The cores this process may run on (a container's cpuset), else the machine's."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def on_every_core(fn, items: list) -> list:
    """``[fn(item) for item in items]`` in one thread per core, for the GEOS work of loading
    and simplifying layers, which releases the GIL (the file reader holds it: national set on
    two cores, loading 44 -> 38 s, the PostGIS replica 42 -> 37 s, the low-zoom copies 39 ->
    15 s with shared geometries simplified once). Results in the items' order; the first error
    is raised."""
    n = min(cores(), len(items))
    if n < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(n, thread_name_prefix="load") as pool:
        return list(pool.map(fn, items))


def content_version(entry: LayerEntry, frame: pd.DataFrame, geoms: np.ndarray) -> str:
    """A version derived from the layer's content: vintage date + a hash of the canonical
    attributes and the geometries' WKB. Any change to the data changes it."""
    h = hashlib.sha256()
    h.update(orjson.dumps(list(frame.columns)))
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="split")["data"]
    h.update(orjson.dumps(records, default=str))
    for wkb in shapely.to_wkb(geoms, hex=False, output_dimension=2, byte_order=1):
        if wkb is not None:  # a table's rows have no geometry
            h.update(wkb)
    return f"{entry.vintage:%Y%m%d}-{h.hexdigest()[:10]}"


def read_entry(entry: LayerEntry, data_dir: Path) -> gpd.GeoDataFrame:
    path = Path(entry.source)
    if not path.is_absolute():
        path = data_dir / path
    if not path.exists():
        raise LayerLoadError(f"layer {entry.id!r}: source file {path} does not exist")
    try:
        gdf = pyogrio.read_dataframe(path, layer=entry.source_layer, read_geometry=entry.spatial)
    except Exception as exc:  # pyogrio raises several DataSourceError subclasses
        raise LayerLoadError(f"layer {entry.id!r}: cannot read {path}: {exc}") from exc
    if not entry.spatial:  # a table (CSV, XLSX, or a version file whose geometries are all null)
        frame = pd.DataFrame(gdf.drop(columns=["geometry"], errors="ignore"))
        return gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs=STORAGE_CRS)
    if gdf.crs is None:
        gdf = gdf.set_crs(entry.crs)
    if not gdf.crs.equals(STORAGE_CRS):
        gdf = gdf.to_crs(STORAGE_CRS)
    return gdf


def canonicalise(entry: LayerEntry, gdf: gpd.GeoDataFrame) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Rename source fields, check the schema, repair or drop bad geometries."""
    warnings: list[str] = []
    missing_src = [s for s in entry.fields if s not in gdf.columns]
    if missing_src:
        raise LayerLoadError(
            f"layer {entry.id!r}: field mapping names source columns not in the file: {missing_src}"
        )
    gdf = gdf.rename(columns=entry.fields)
    if not entry.spatial:
        return _canonical_table(entry, gdf)
    required = REQUIRED_FIELDS[entry.kind]
    missing = [f for f in required if f not in gdf.columns]
    if missing:
        raise LayerLoadError(
            f"layer {entry.id!r} (kind {entry.kind}) lacks required fields {missing}; "
            f"map them from the source columns {sorted(c for c in gdf.columns if c != 'geometry')}"
        )
    geoms = np.asarray(gdf.geometry.to_numpy(), dtype=object)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        warnings.append(f"{int(empty.sum())} features without geometry dropped")
    invalid = ~empty & ~shapely.is_valid(geoms)
    if invalid.any():
        warnings.append(f"{int(invalid.sum())} invalid geometries repaired with make_valid")
        geoms = geoms.copy()
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    keep = ~empty
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).loc[keep].reset_index(drop=True)
    return frame, geoms[keep], warnings


def _canonical_table(entry: LayerEntry, gdf: gpd.GeoDataFrame) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """An access list's canonical items (``layers.lists``); no geometry."""
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    missing = missing_fields(frame, REQUIRED_FIELDS[entry.kind])
    if missing:
        raise LayerLoadError(
            f"layer {entry.id!r} (kind {entry.kind}) lacks required fields {missing}, and is not a "
            f"one-row-per-unit table either; map them from the source columns {sorted(frame.columns)}"
        )
    items = canonical_items(frame).drop(columns=["row"])
    return items, np.full(len(items), None, dtype=object), []


def build_layer(entry: LayerEntry, frame: pd.DataFrame, geoms: np.ndarray, warnings: list[str],
                version: str | None = None) -> LayerData:
    """Ids, content version, extent and the STRtree of a layer's canonical data (coverage is
    the store's to add)."""
    if entry.id_field:
        if entry.id_field not in frame.columns:
            raise LayerLoadError(f"layer {entry.id!r}: id_field {entry.id_field!r} not in the data")
        ids = frame[entry.id_field].astype(str).to_numpy()
        if len(set(ids)) != len(ids):
            raise LayerLoadError(f"layer {entry.id!r}: id_field {entry.id_field!r} is not unique")
    else:
        ids = np.array([str(i + 1) for i in range(len(frame))], dtype=object)
    version = version or content_version(entry, frame, geoms)
    shapely.prepare(geoms)
    spatial = entry.spatial and len(geoms)
    bounds = shapely.total_bounds(geoms) if spatial else None
    types = sorted({t for t in shapely.get_type_id(geoms).tolist()}) if spatial else []
    gtype = "/".join(shapely.GeometryType(t).name for t in types) if types else "None"
    info = LayerInfo(
        entry=entry,
        version=version,
        count=len(frame),
        bbox=tuple(float(b) for b in bounds) if bounds is not None else None,
        geometry_type=gtype,
        fields=tuple(frame.columns),
        warnings=tuple(warnings),
    )
    for w in warnings:
        log.warning("layer %s: %s", entry.id, w)
    return LayerData(info=info, frame=frame, geoms=geoms, ids=ids, tree=shapely.STRtree(geoms),
                  id_index={fid: i for i, fid in enumerate(ids)},
                  columns={str(c): frame[c].to_numpy(dtype=object) for c in frame.columns})


def share_equal_geometries(layers: dict[str, LayerData]) -> int:
    """Each geometry equal vertex for vertex to one an earlier layer holds becomes that object
    (the national main functional zones are the county outlines again: 50 M vertices), so it is
    held, indexed and prepared once; a layer that shares some gets a tree over its new array.
    So does a layer's coverage (the country outline, or one union of provinces, for most layers).
    Both in-memory stores call it at load. Returns how many geometries are shared."""
    seen: dict[tuple, shapely.Geometry] = {}
    shared = 0
    for lid, layer in list(layers.items()):
        if not len(layer.geoms):
            continue
        keys = list(map(tuple, shapely.bounds(layer.geoms).tolist()))
        rows = np.array([i for i, k in enumerate(keys) if k in seen], dtype=np.intp)
        if len(rows):
            other = np.array([seen[keys[i]] for i in rows], dtype=object)
            same = shapely.equals_exact(layer.geoms[rows], other, tolerance=0.0)
            if same.any():
                geoms = layer.geoms.copy()
                geoms[rows[same]] = other[same]
                layer = layers[lid] = replace(layer, geoms=geoms, tree=shapely.STRtree(geoms))
                shared += int(same.sum())
        for k, g in zip(keys, layer.geoms):
            seen.setdefault(k, g)
    for layer in layers.values():
        if layer.coverage is None:
            continue
        key = tuple(shapely.bounds(layer.coverage).tolist())
        other = seen.setdefault(key, layer.coverage)
        if other is not layer.coverage and shapely.equals_exact(layer.coverage, other, tolerance=0.0):
            layer.coverage = other
            shared += 1
    if shared:
        log.info("%d geometries equal to another layer's are held once", shared)
    return shared


def read_version_file(entry: LayerEntry, rec: dict, data_dir: Path) -> tuple[LayerEntry, pd.DataFrame, np.ndarray]:
    """A published version's canonical data from its file (see ``layers.versions``)."""
    vintage = dt.date.fromisoformat(rec["vintage"])
    stored = entry.model_copy(update={"source": rec["file"], "source_layer": "layer", "fields": {},
                                      "crs": "EPSG:4490", "vintage": vintage})
    frame, geoms, _ = canonicalise(stored, read_entry(stored, data_dir))
    return entry.model_copy(update={"vintage": vintage}), frame, geoms


class InMemoryAnswers:
    """The spatial and row questions of :class:`LayerStore` answered from layers held in memory
    (:class:`LayerData`, in ``_layers``): the embedded store, and a PostGIS instance's replica of
    the versions in force (``layers.postgis.PostGISReplicaStore``)."""

    _prepared: ClassVar[AbstractContextManager]
    _layers: dict[str, LayerData]  # the layers in force, replaced (never mutated) on a switch

    def _get(self, layer_id: str) -> LayerData:
        try:
            return self._layers[layer_id]
        except KeyError:
            raise UnknownLayer(layer_id) from None

    def layer_data(self, layer_id: str) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
        layer = self._get(layer_id)
        return layer.ids, layer.frame, layer.geoms

    def query(self, layer_id, geometries, predicate="intersects", distance=None):
        layer = self._get(layer_id)
        geoms = np.asarray(geometries, dtype=object)
        if predicate == "intersects":
            # bounding boxes from the tree, then the exact test with the *layer's* prepared
            # geometry first: a point against a 100k-vertex county is a prepared lookup
            si, fi = layer.tree.query(geoms)
            with self._prepared:
                hit = shapely.intersects(layer.geoms[fi], geoms[si])
            return si[hit], fi[hit]
        if predicate == "envelope":
            pairs = layer.tree.query(geoms)
            return pairs[0], pairs[1]
        pairs = layer.tree.query(geoms, predicate=predicate, distance=distance)
        return pairs[0], pairs[1]

    def geometries(self, layer_id, idx):
        return self._get(layer_id).geoms[np.asarray(idx, dtype=np.intp)]

    def attributes(self, layer_id, idx):
        return self._get(layer_id).frame.iloc[np.asarray(idx, dtype=np.intp)]

    def feature_ids(self, layer_id, idx):
        return self._get(layer_id).ids[np.asarray(idx, dtype=np.intp)]

    def attribute_columns(self, layer_id, idx):
        idx = np.asarray(idx, dtype=np.intp)
        return {c: col[idx] for c, col in self._get(layer_id).columns.items()}

    def coverage(self, layer_id):
        return self._get(layer_id).coverage

    def select(self, layer_id, *, bbox=None, equals=None, cql=None, limit=10, offset=0):
        layer = self._get(layer_id)
        with self._prepared:  # CQL spatial tests run on the layer's prepared geometries
            return select(layer.frame, layer.geoms, layer.tree, bbox=bbox, equals=equals, cql=cql,
                          limit=limit, offset=offset)

    def index_of(self, layer_id, feature_id):
        return self._get(layer_id).id_index.get(feature_id)


class EmbeddedStore(InMemoryAnswers, LayerStore):
    """GeoPackage files + in-memory STRtree indexes."""

    _prepared = threading.Lock()  # layer features and coverage are shared prepared geometries

    def __init__(self, catalog: Catalog, data_dir: Path, registry: LayerRegistry | None = None):
        super().__init__(catalog, data_dir, registry)
        self._layers: dict[str, LayerData] = {}

    @classmethod
    def open(cls, catalog_path: str | Path, data_dir: str | Path | None = None,
             registry: LayerRegistry | None = None) -> EmbeddedStore:
        catalog, resolved = load_catalog(catalog_path, data_dir)
        store = cls(catalog, resolved, registry)
        store.load()
        return store

    def load(self) -> None:
        vector = [e for e in self.catalog.layers if e.kind != "raster"]
        if self.registry is not None:
            for stray in self.registry.remove_strays():
                log.warning("removed %s: a publish that did not commit", stray)
        # admin layers first: the others' coverage is defined on them
        for group in ([e for e in vector if e.kind == "admin"], [e for e in vector if e.kind != "admin"]):
            for entry, layer in zip(group, on_every_core(self._load_in_force, group)):
                self._layers[entry.id] = layer
        share_equal_geometries(self._layers)
        self._open_rasters()
        self.loaded_at = dt.datetime.now(dt.UTC)

    def replace_layer(self, layer_id: str, layer: LayerData) -> None:
        """One reference assignment, so a request sees the old layers or the new, never a mix
        (requests work on :meth:`snapshot`)."""
        self._get(layer_id)
        with self._swap:
            self._layers = {**self._layers, layer_id: layer}

    def snapshot(self) -> EmbeddedStore:
        return copy.copy(self)  # shares the dict in force now; replace_layer binds a new one

    def _past_version(self, layer_id: str, version: str) -> LayerData:
        return self.load_version(layer_id, version)

    def _pin(self, layer_id: str, held: LayerData) -> None:
        self._layers = {**self._layers, layer_id: held}

    def _load_in_force(self, entry: LayerEntry) -> LayerData:
        """The layer's version in force: its published version, else its catalog source."""
        current = self.registry.current(entry.id) if self.registry is not None else None
        if current is not None:
            return self.load_version(entry.id, current["version"])
        frame, geoms, warnings = canonicalise(entry, read_entry(entry, self.data_dir))
        return self._build(entry, frame, geoms, warnings)

    def _build(self, entry: LayerEntry, frame: pd.DataFrame, geoms: np.ndarray, warnings: list[str],
               version: str | None = None) -> LayerData:
        layer = super()._build(entry, frame, geoms, warnings, version)
        if entry.coverage is not None:
            layer.coverage = self._coverage_geometry(entry)
        return layer

    def _coverage_geometry(self, entry: LayerEntry) -> shapely.Geometry:
        cov = entry.coverage
        admin = self._layers.get(cov.admin_layer)
        if admin is None:
            raise LayerLoadError(f"layer {entry.id!r}: coverage admin layer {cov.admin_layer!r} not loaded")
        if cov.adcodes == "all":
            parts = admin.geoms
        else:
            codes = admin.frame["adcode"].astype(str).to_numpy()
            missing = sorted(set(cov.adcodes) - set(codes))
            if missing:
                raise LayerLoadError(
                    f"layer {entry.id!r}: coverage adcodes {missing} not in admin layer {cov.admin_layer!r}"
                )
            parts = admin.geoms[np.isin(codes, cov.adcodes)]
        geom = parts[0] if len(parts) == 1 else shapely.union_all(parts)
        shapely.prepare(geom)
        return geom

    # --- LayerStore ---------------------------------------------------------------------------

    def layers(self) -> list[LayerInfo]:
        return [layer.info for layer in self._layers.values()]

    def info(self, layer_id: str) -> LayerInfo:
        return self._get(layer_id).info
