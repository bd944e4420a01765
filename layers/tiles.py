"""Mapbox vector tiles (WebMercatorQuad) from any :class:`~layers.store.LayerStore`.

Per tile and layer: STRtree query of the buffered tile, clip in lon/lat, project straight to
tile pixels (extent 4096, y down), simplify by one pixel (Douglas-Peucker), snap to the
integer grid (which makes geometries valid again), cap the feature count keeping the largest, then encode with
the vectorised encoder in ``layers.mvt``. Long text attributes (> 48 characters, e.g. access-list clauses) are left out of tiles; the
feature endpoints carry them. Encoded tiles are cached (gzip) in an LRU keyed by the layer
versions, and so are each feature's encoded properties (``TagCache``), so a data change never
serves a stale tile.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

from layers import mvt, raster
from layers.store import LayerError, LayerStore, on_every_core
from layers.values import plain

if TYPE_CHECKING:
    from layers.pyramid import Pyramid

EXTENT = 4096
BUFFER_PX = 64
MAX_FEATURES = 10_000
MAX_TEXT = 48
MAX_LAT = 85.05112878
R = 6378137.0
ORIGIN = math.pi * R  # half the Web-Mercator world width (m)


class TileOutsideRange(LayerError):
    """The tile index is outside the matrix or the layer's zoom range."""

    status, ogc_code = 404, "NotFound"


@dataclass(frozen=True)
class Tile:
    data: bytes  # gzip-compressed MVT, or PNG for raster layers
    etag: str
    features: int


def _lonlat(mx: float, my: float) -> tuple[float, float]:
    lon = min(max(math.degrees(mx / R), -180.0), 180.0)
    lat = min(max(math.degrees(math.atan(math.sinh(my / R))), -90.0), 90.0)
    return lon, lat


def snap_to_pixels(geoms: np.ndarray) -> np.ndarray:
    """Coordinates rounded to whole pixels, every geometry valid. Rounding point by point and
    repairing only the few geometries that came out invalid costs a fifth of snap-rounding
    them all (``set_precision``'s default), and unlike it takes invalid input."""
    out = shapely.set_precision(geoms, 1.0, mode="pointwise")
    valid = shapely.is_valid(out)
    # a valid ring keeps >= 3 distinct points, so dropping repeats cannot collapse it
    if valid.all():  # the usual case, without the indexing
        return shapely.remove_repeated_points(out, 0.0)
    out[valid] = shapely.remove_repeated_points(out[valid], 0.0)
    bad = np.flatnonzero(~valid & ~shapely.is_empty(out))
    if len(bad):
        # the few that rounding made invalid: snap-rounded from the unrounded geometry, which
        # gives valid output from valid input (a fifth of the cost of repairing the rounded
        # one: national provinces at z4, 20 ms against 110); those Douglas-Peucker already made
        # invalid are first repaired keeping their dimension (collapsed parts dropped)
        fixed = geoms[bad].copy()
        broken = ~shapely.is_valid(fixed)
        if broken.any():
            fixed[broken] = _make_valid(fixed[broken])
        out[bad] = shapely.set_precision(fixed, 1.0)
        for i in bad:  # snap-rounding may leave a collection: keep the parts of the input's dimension
            if out[i].geom_type == "GeometryCollection":
                dim = shapely.get_dimensions(geoms[i])
                parts = [q for q in shapely.get_parts(out[i]) if shapely.get_dimensions(q) == dim]
                out[i] = shapely.union_all(parts) if parts else shapely.from_wkt("POLYGON EMPTY")
    return out


def _make_valid(geoms: np.ndarray) -> np.ndarray:
    """``make_valid`` keeping dimensions (collapsed parts dropped); a geometry GEOS cannot
    repair that way (seen on national data: "unable to assign free hole to a shell") is
    repaired by its linework instead, or left out of the tile — never a failed tile."""
    try:
        return shapely.make_valid(geoms, method="structure", keep_collapsed=False)
    except shapely.errors.GEOSException:
        out = np.empty(len(geoms), dtype=object)
        for i, g in enumerate(geoms):
            try:
                out[i] = shapely.make_valid(g, method="structure", keep_collapsed=False)
            except shapely.errors.GEOSException:
                try:
                    out[i] = shapely.make_valid(g, method="linework")
                except shapely.errors.GEOSException:
                    out[i] = shapely.from_wkt("POLYGON EMPTY")
        return out


def clip(geoms: np.ndarray, xmin: float, ymin: float, xmax: float, ymax: float) -> np.ndarray:
    """The geometries cut to a rectangle. GEOS's rectangle clipper is fast but fails on some
    valid polygons ("Invalid number of points in LinearRing found 3": sample cultivated land at
    9/414/201); those few are cut by an exact intersection instead, keeping the parts of their
    own dimension (edge contacts give lines and points)."""
    try:
        return shapely.clip_by_rect(geoms, xmin, ymin, xmax, ymax)
    except shapely.errors.GEOSException:
        pass
    box = shapely.box(xmin, ymin, xmax, ymax)
    out = np.empty(len(geoms), dtype=object)
    for i, g in enumerate(geoms):
        try:
            out[i] = shapely.clip_by_rect(g, xmin, ymin, xmax, ymax)
        except shapely.errors.GEOSException:
            cut = shapely.intersection(g, box)
            dim = shapely.get_dimensions(g)
            parts = [q for q in shapely.get_parts(cut) if shapely.get_dimensions(q) == dim]
            out[i] = shapely.union_all(parts) if parts else shapely.from_wkt("POLYGON EMPTY")
    return out


def check_tile(z: int, x: int, y: int) -> None:
    if not (0 <= z <= 24) or not (0 <= x < 2**z) or not (0 <= y < 2**z):
        raise TileOutsideRange(f"tile {z}/{x}/{y} is outside the WebMercatorQuad matrix")


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Web-Mercator bounds (left, bottom, right, top) of tile z/x/y, as morecantile's
    ``xy_bounds`` gives them, by plain arithmetic (a tenth of its cost)."""
    span = 2 * ORIGIN / (1 << z)
    left, top = -ORIGIN + x * span, ORIGIN - y * span
    return left, top - span, left + span, top


def tile_geometries(store: LayerStore, layer_id: str, z: int, x: int, y: int,
                    max_features: int = MAX_FEATURES) -> tuple[np.ndarray, np.ndarray]:
    """The rows of one layer in tile z/x/y and their geometries in tile pixels (clipped,
    simplified, on the integer grid)."""
    left, bottom, right, top = tile_bounds(z, x, y)
    span = right - left
    pad = span * BUFFER_PX / EXTENT
    lon_w, lat_s = _lonlat(left - pad, bottom - pad)
    lon_e, lat_n = _lonlat(right + pad, top + pad)
    # bounding boxes only: clipping drops what misses the tile, and an exact test would build
    # the prepared index of every full-detail feature a low-zoom tile meets
    _, idx = store.query(layer_id, np.array([shapely.box(lon_w, lat_s, lon_e, lat_n)], dtype=object),
                         predicate="envelope")
    if len(idx) == 0:
        return idx, np.array([], dtype=object)
    idx = np.sort(idx)
    geoms = clip(GENERAL.geometries(store, layer_id, z, idx), lon_w, lat_s, lon_e, lat_n)
    # lon/lat straight to tile pixels: x = (R·λ - left)·s, y = (top - R·ln tan(π/4 + φ/2))·s
    scale = EXTENT / span
    kx, ky = R * math.pi / 180 * scale, R * scale

    def to_px(xy: np.ndarray) -> np.ndarray:
        out = np.empty_like(xy)
        np.multiply(xy[:, 0], kx, out=out[:, 0])
        out[:, 0] -= left * scale
        lat = np.clip(xy[:, 1], -MAX_LAT, MAX_LAT, out=out[:, 1])
        lat *= math.pi / 360
        lat += math.pi / 4
        np.log(np.tan(lat, out=lat), out=lat)
        lat *= -ky
        lat += top * scale
        return out

    geoms = shapely.transform(geoms, to_px)
    # Douglas-Peucker (3-5x faster than the topology-preserving simplifier on big polygons);
    # snapping to the pixel grid next makes every geometry valid again
    geoms = snap_to_pixels(shapely.simplify(geoms, 1.0, preserve_topology=False))
    keep = ~shapely.is_empty(geoms)
    if not keep.all():
        idx, geoms = idx[keep], geoms[keep]
    if len(idx) > max_features:  # keep the largest: small features vanish first
        size = shapely.area(geoms) + shapely.length(geoms)
        order = np.sort(np.argsort(-size, kind="stable")[:max_features])
        idx, geoms = idx[order], geoms[order]
    return idx, geoms


def tile_value(v):
    """A value as a tile carries it: plain, or None (left out) for nulls, non-finite numbers
    and texts longer than ``MAX_TEXT``."""
    v = plain(v)
    return None if isinstance(v, str) and len(v) > MAX_TEXT else v


def tile_properties(store: LayerStore, layer_id: str, idx: np.ndarray) -> list[dict]:
    """The properties a tile carries for rows ``idx``: ``fid`` and the attributes' tile values."""
    attrs = store.attribute_columns(layer_id, idx)
    ids = store.feature_ids(layer_id, idx)
    cols = list(attrs)
    props = []
    for fid, row in zip(ids, zip(*attrs.values()) if cols else [()] * len(idx)):
        p = {"fid": str(fid)}
        for c, v in zip(cols, row):
            if (v := tile_value(v)) is not None:
                p[c] = v
        props.append(p)
    return props


def _tag_value(v) -> bytes | None:
    v = tile_value(v)
    return None if v is None else mvt.value_message(v)


def tile_tags(store: LayerStore, layer_id: str, idx: np.ndarray) -> list[tuple[bytes, ...]]:
    """``mvt.feature_tags`` of each of :func:`tile_properties`' dicts, made column by column:
    each distinct value of a column is made plain and encoded once (a national z7 red-line
    tile spent half its time on properties)."""
    rows = [[mvt.key_message("fid"), mvt.value_message(str(f))] for f in store.feature_ids(layer_id, idx).tolist()]
    for name, col in store.attribute_columns(layer_id, idx).items():
        key, memo = mvt.key_message(name), {}
        for row, v in zip(rows, col.tolist()):
            try:
                m = memo[v.__class__, v]  # by type too: 1, 1.0 and True are different values
            except KeyError:
                m = memo[v.__class__, v] = _tag_value(v)
            except TypeError:  # unhashable (a list): made each time
                m = _tag_value(v)
            if m is not None:
                row += (key, m)
    return [tuple(r) for r in rows]


def layer_tile(store: LayerStore, layer_id: str, z: int, x: int, y: int,
               max_features: int = MAX_FEATURES) -> tuple[np.ndarray, list[dict]]:
    """The geometries of one layer in tile z/x/y, in tile pixels (clipped, simplified, on the
    integer grid), and their properties."""
    idx, geoms = tile_geometries(store, layer_id, z, x, y, max_features)
    return geoms, tile_properties(store, layer_id, idx)


def layer_features(store: LayerStore, layer_id: str, z: int, x: int, y: int,
                   max_features: int = MAX_FEATURES) -> dict:
    """One layer as ``mapbox-vector-tile`` input (name, features with shapely geometries in
    tile pixels)."""
    geoms, props = layer_tile(store, layer_id, z, x, y, max_features)
    return {"name": layer_id, "features": [{"geometry": g, "properties": p, "id": i + 1}
                                           for i, (g, p) in enumerate(zip(geoms, props))]}


class TagCache:
    """Each feature's encoded properties (:func:`tile_tags`), kept per layer version:
    neighbouring tiles and zoom levels show the same features again, and their attributes
    change only with a new version (which is a new key). Bounded by a feature count."""

    def __init__(self, max_features: int = 100_000):  # ~0.4 KB each with 15 attributes
        self.max_features = max_features
        self._data: OrderedDict[tuple[str, str], dict[int, tuple]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._size = 0

    def tags(self, store: LayerStore, layer_id: str, version: str, idx: np.ndarray) -> list[tuple]:
        """The encoded properties of rows ``idx`` of the layer version."""
        key, rows = (layer_id, version), idx.tolist()
        with self._lock:
            known = self._data.setdefault(key, {})
            self._data.move_to_end(key)
            out = [known.get(i) for i in rows]
        missing = [i for i, t in zip(rows, out) if t is None]
        if not missing:
            return out
        fresh = dict(zip(missing, tile_tags(store, layer_id, np.asarray(missing, dtype=np.intp))))
        with self._lock:
            while self._data and self._size + len(fresh) > self.max_features:  # oldest first
                _, old = self._data.popitem(last=False)
                self._size -= len(old)
            known = self._data.setdefault(key, {})
            before = len(known)
            known.update(fresh)
            self._size += len(known) - before
        return [t if t is not None else fresh[i] for i, t in zip(rows, out)]


TAGS = TagCache()

# Zoom bands drawn from a generalised copy of each layer version; from z9 on, full detail.
BANDS = ((0, 2), (3, 4), (5, 5), (6, 6), (7, 8))


class Generalised:
    """Per layer version and zoom band, the layer's geometries simplified once (Douglas-Peucker)
    to half a tile pixel at the band's highest zoom, so a low-zoom tile clips and projects a
    fraction of the vertices. Built ahead of requests — :meth:`warm` at start-up (before the
    workers fork, so they share it), or in the background the first time a band of a new
    version is asked for, while that request and those until it is ready draw from the full
    geometries; a layer switch is a new version, so the old copy is never drawn again and ages
    out (the ``keep`` latest are kept). A layer has the bands its zoom range meets.

    Stated rule for small fragments: a feature the simplification collapses is smaller than
    half a pixel at every zoom of the band and is left out of the band (the pixel snap of each
    tile would drop it anyway); everything else keeps its outline within a pixel."""

    def __init__(self, keep: int = 192):
        self.keep = keep
        self._data: OrderedDict[tuple[str, str, int], np.ndarray] = OrderedDict()
        self._building: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @staticmethod
    def band(z: int) -> int | None:
        return next((b for b, (lo, hi) in enumerate(BANDS) if lo <= z <= hi), None)

    @staticmethod
    def bands_of(entry) -> list[int]:
        return [b for b, (lo, hi) in enumerate(BANDS) if lo <= entry.maxzoom and hi >= entry.minzoom]

    @staticmethod
    def tolerance(band: int, bbox) -> float:
        """Half a pixel of the band's highest zoom, in degrees, at the layer's highest latitude
        (Web Mercator stretches north-south degrees there the most)."""
        lat = max(abs(bbox[1]), abs(bbox[3])) if bbox else 60.0
        return 0.5 * 360.0 / ((1 << BANDS[band][1]) * EXTENT) * math.cos(math.radians(min(lat, MAX_LAT)))

    def geometries(self, store: LayerStore, layer_id: str, z: int, idx: np.ndarray) -> np.ndarray:
        """Rows ``idx`` of the layer as tile ``z`` draws them."""
        band = self.band(z)
        info = store.info(layer_id)
        if band not in self.bands_of(info.entry):
            return store.geometries(layer_id, idx)
        with self._lock:
            held = self._data.get((layer_id, info.version, band))
            if held is not None:
                self._data.move_to_end((layer_id, info.version, band))
        if held is None:
            self._start(store, info)
            return store.geometries(layer_id, idx)
        return held[idx]

    def build(self, store: LayerStore, info) -> None:
        """Every band of one layer version."""
        self._simplify(store, [info])

    def _put(self, key: tuple[str, str, int], simple: np.ndarray) -> None:
        with self._lock:
            self._data[key] = simple
            while len(self._data) > self.keep:
                self._data.popitem(last=False)

    def ensure(self, store: LayerStore, info) -> None:
        """Every band of one layer version, built now unless held."""
        with self._lock:
            held = all((info.id, info.version, b) in self._data for b in self.bands_of(info.entry))
        if not held:
            self.build(store, info)

    def warm(self, store: LayerStore) -> None:
        """Build every band of every layer in force (start-up)."""
        if not store.native_mvt:
            self._simplify(store, [info for info in store.layers() if info.spatial])

    def _simplify(self, store: LayerStore, infos: list) -> None:
        """Every band of these layer versions, on every core. A geometry that several of them
        hold (``layers.store.share_equal_geometries``: the national main functional zones are
        the county outlines) is simplified once per tolerance."""
        jobs = [(info, band, self.tolerance(band, info.bbox)) for info in infos for band in self.bands_of(info.entry)]
        full = {info.id: store.geometries(info.id, np.arange(info.count)) for info, _, _ in jobs}
        for tol in sorted({t for *_, t in jobs}):
            mine = [(info, band) for info, band, t in jobs if t == tol]
            geoms = np.concatenate([full[info.id] for info, _ in mine])
            ids = np.fromiter(map(id, geoms), dtype=np.int64, count=len(geoms))
            _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
            chunks = np.array_split(geoms[first], max(1, min(64, len(first) // 500)))
            parts = on_every_core(lambda c, tol=tol: shapely.simplify(c, tol, preserve_topology=False), chunks)
            simple = np.concatenate(parts)[inverse.ravel()]
            at = 0
            for info, band in mine:
                self._put((info.id, info.version, band), simple[at:at + info.count].copy())
                at += info.count

    def _start(self, store: LayerStore, info) -> None:
        key = (info.id, info.version)
        with self._lock:
            if key in self._building:
                return
            self._building.add(key)

        def run():
            try:
                self.build(store, info)
            finally:
                with self._lock:
                    self._building.discard(key)

        # not a daemon: a daemon thread still inside GEOS when the interpreter shuts down
        # crashes it (seen: exit status -11 after a test rendered low-zoom tiles and returned)
        threading.Thread(target=run, name=f"generalise-{info.id}").start()


GENERAL = Generalised()


def encode_layer(store: LayerStore, layer_id: str, z: int, x: int, y: int) -> tuple[bytes, int]:
    """One encoded MVT layer message and its feature count."""
    idx, geoms = tile_geometries(store, layer_id, z, x, y)
    tags = TAGS.tags(store, layer_id, store.info(layer_id).version, idx)
    return mvt.encode_layer_tags(layer_id, geoms, tags, extent=EXTENT), len(idx)


class TileCache:
    """A thread-safe LRU of encoded tiles (or, with ``size=len``, of plain bytes: rendered
    reports), bounded by total bytes."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024, size=lambda tile: len(tile.data)):
        self.max_bytes, self._len = max_bytes, size
        self._data: OrderedDict[str, Tile] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._size = 0

    def get(self, key: str) -> Tile | None:
        with self._lock:
            tile = self._data.get(key)
            if tile is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return tile

    def put(self, key: str, tile: Tile) -> None:
        with self._lock:
            if key in self._data:
                return
            self._data[key] = tile
            self._size += self._len(tile)
            while self._size > self.max_bytes and self._data:
                _, old = self._data.popitem(last=False)
                self._size -= self._len(old)


def render(store: LayerStore, layer_ids: list[str], z: int, x: int, y: int,
           cache: TileCache | None = None, pyramid: Pyramid | None = None) -> Tile:
    """The gzip-compressed tile with the given layers (each within its zoom range); a layer
    whose message ``pyramid`` holds is taken from it (the same bytes, encoded ahead)."""
    check_tile(z, x, y)
    infos = [store.info(i) for i in layer_ids]
    active = [i for i in infos if i.entry.minzoom <= z <= i.entry.maxzoom]
    if not active:
        ranges = ", ".join(f"{i.id} {i.entry.minzoom}-{i.entry.maxzoom}" for i in infos)
        raise TileOutsideRange(f"zoom {z} is outside the layers' zoom ranges ({ranges})")
    key = "|".join(f"{i.id}@{i.version}" for i in active) + f"|{z}/{x}/{y}"
    etag = '"' + hashlib.sha256(key.encode()).hexdigest()[:20] + '"'
    if cache is not None and (hit := cache.get(key)) is not None:
        return hit
    if store.native_mvt:  # a database backend makes tiles itself
        raw, count = store.render_mvt([i.id for i in active], z, x, y, extent=EXTENT, buffer=BUFFER_PX,
                            max_features=MAX_FEATURES, max_text=MAX_TEXT)
    else:
        encoded = [(pyramid.message(store, i, z, x, y) if pyramid is not None else None)
                   or encode_layer(store, i.id, z, x, y) for i in active]
        raw, count = mvt.encode_tile([e for e, _ in encoded]), sum(n for _, n in encoded)
    tile = Tile(data=gzip.compress(raw, compresslevel=6, mtime=0), etag=etag, features=count)
    if cache is not None:
        cache.put(key, tile)
    return tile


def render_raster(store: LayerStore, layer_id: str, z: int, x: int, y: int,
                  cache: TileCache | None = None) -> Tile:
    """The PNG tile of a raster layer, drawn with its colour ramp (cached like MVT tiles)."""
    check_tile(z, x, y)
    info = store.raster(layer_id)
    if not info.entry.minzoom <= z <= info.entry.maxzoom:
        raise TileOutsideRange(f"zoom {z} is outside {layer_id}'s zoom range "
                               f"{info.entry.minzoom}-{info.entry.maxzoom}")
    key = f"{info.id}@{info.version}|{z}/{x}/{y}.png"
    if cache is not None and (hit := cache.get(key)) is not None:
        return hit
    png = raster.render_png(info, z, x, y)
    if png is None:
        raise TileOutsideRange(f"tile {z}/{x}/{y} does not touch raster {layer_id} "
                               f"(bounds {list(info.bbox)})")
    tile = Tile(data=png, etag='"' + hashlib.sha256(key.encode()).hexdigest()[:20] + '"', features=0)
    if cache is not None:
        cache.put(key, tile)
    return tile
