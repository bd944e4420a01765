"""Low-zoom vector tiles encoded once per layer version, ahead of requests, into files.

A national layer's tile at zooms 5-7 meets thousands of features (a z7 red-line tile: 2,800
patches) and takes 150-400 ms to draw even from the generalised copy (``tiles.GENERAL``);
there are only a few hundred such positions over China. So for each layer version the layer
message of every tile position of zooms 0..``max_zoom`` over the layer's extent is encoded
once — exactly what :func:`layers.tiles.encode_layer` gives for it, so a tile is the same
bytes either way — and written to one file, ``<layer>@<version>-<format>.pyr`` in the
pyramid directory (under the state directory), which every worker maps read-only: the page
cache holds it once for all of them, and a restart finds it there. A tile request for such a
zoom concatenates the layers' messages and compresses them (:func:`layers.tiles.render`).

Who builds: :meth:`Pyramid.start` — the process that runs jobs (one per instance) at start-up
and after a layer switch, in one background thread — or :meth:`Pyramid.build` (the bench).
A file lock lets one process build a given file at a time, the file appears whole (written
aside, then renamed) or not at all, and a cancelled build leaves nothing behind. Until a
layer version's file is there, its tiles are drawn per request as before. The file name
carries a hash of the catalog entry, the code tiles are made with and the GEOS version, so a
file made by other code or for another catalog entry is never read.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import math
import mmap
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import shapely

from layers import mvt, tiles, values
from layers import store as store_module
from layers.store import LayerInfo, LayerStore

log = logging.getLogger("zoning")

MAGIC = b"ZPYR0001"
# what a tile's bytes depend on besides the data and its catalog entry
_CODE = hashlib.sha256(b"".join(Path(m.__file__).read_bytes() for m in (tiles, mvt, store_module, values))
                       + Path(__file__).read_bytes() + shapely.geos_version_string.encode()).hexdigest()[:8]


def _key(z: int, x: int, y: int) -> int:
    return (z << 48) | (x << 24) | y


def positions(bbox, z: int) -> list[tuple[int, int]]:
    """Tile columns and rows of zoom ``z`` whose buffered extent can hold part of ``bbox``
    (lon/lat): the tiles meeting it and one more around (a tile draws features that reach
    into its buffer)."""
    n = 1 << z
    w, s, e, north = bbox
    lat_n, lat_s = (min(max(v, -tiles.MAX_LAT), tiles.MAX_LAT) for v in (north, s))

    def col(lon):
        return int(math.floor((lon + 180.0) / 360.0 * n))

    def row(lat):
        return int(math.floor((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi)
                              / 2 * n))

    xs = range(max(col(w) - 1, 0), min(col(e) + 1, n - 1) + 1)
    ys = range(max(row(lat_n) - 1, 0), min(row(lat_s) + 1, n - 1) + 1)
    return [(x, y) for x in xs for y in ys]


class _File:
    """One pyramid file, mapped: sorted tile keys, message offsets, feature counts."""

    def __init__(self, path: Path):
        with open(path, "rb") as f:
            self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if self._map[:8] != MAGIC:
            raise ValueError(f"{path} is not a tile pyramid")
        n = int(np.frombuffer(self._map, dtype="<i8", count=1, offset=8)[0])
        self.keys = np.frombuffer(self._map, dtype="<i8", count=n, offset=16)
        self.starts = np.frombuffer(self._map, dtype="<i8", count=n + 1, offset=16 + 8 * n)
        self.counts = np.frombuffer(self._map, dtype="<i8", count=n, offset=16 + 16 * n + 8)
        self.base = 16 + 24 * n + 8

    def get(self, z: int, x: int, y: int) -> tuple[bytes, int] | None:
        k = _key(z, x, y)
        i = int(np.searchsorted(self.keys, k))
        if i == len(self.keys) or self.keys[i] != k:
            return None
        return self._map[self.base + self.starts[i]:self.base + self.starts[i + 1]], int(self.counts[i])


def write(path: Path, messages: dict[int, tuple[bytes, int]]) -> None:
    keys = np.array(sorted(messages), dtype="<i8")
    sizes = np.array([len(messages[k][0]) for k in keys.tolist()], dtype="<i8")
    starts = np.zeros(len(keys) + 1, dtype="<i8")
    np.cumsum(sizes, out=starts[1:])
    counts = np.array([messages[k][1] for k in keys.tolist()], dtype="<i8")
    with open(path, "wb") as f:
        f.write(MAGIC + np.array([len(keys)], dtype="<i8").tobytes())
        f.write(keys.tobytes() + starts.tobytes() + counts.tobytes())
        for k in keys.tolist():
            f.write(messages[k][0])
        f.flush()
        os.fsync(f.fileno())


class Pyramid:
    """The pyramid files of the layer versions in force, in ``directory``, for zooms
    0..``max_zoom`` (each layer: those of its zoom range)."""

    def __init__(self, directory: Path, max_zoom: int = 7, keep: int = 64):
        self.directory, self.max_zoom, self.keep = Path(directory), max_zoom, keep
        self._open: OrderedDict[str, _File] = OrderedDict()
        self._missed: dict[str, float] = {}  # file name -> when it was last looked for in vain
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._again = False

    def zooms(self, info: LayerInfo) -> range:
        return range(max(info.entry.minzoom, 0), min(info.entry.maxzoom, self.max_zoom) + 1)

    def name(self, info: LayerInfo) -> str:
        entry = hashlib.sha256(info.entry.model_dump_json().encode() + _CODE.encode()).hexdigest()[:10]
        return f"{info.id}@{info.version}-{entry}.pyr"

    def covers(self, store: LayerStore, info: LayerInfo) -> bool:
        return info.spatial and info.bbox is not None and not store.native_mvt and len(self.zooms(info)) > 0

    # -- serving
    def message(self, store: LayerStore, info: LayerInfo, z: int, x: int, y: int) -> tuple[bytes, int] | None:
        """The encoded layer message of tile z/x/y and its feature count, or None (not a
        pyramid zoom, or the file is not there yet: draw it)."""
        if z > self.max_zoom or not self.covers(store, info):
            return None
        held = self._file(self.name(info))
        return held.get(z, x, y) if held is not None else None

    def _file(self, name: str) -> _File | None:
        with self._lock:
            if (held := self._open.get(name)) is not None:
                self._open.move_to_end(name)
                return held
            if time.monotonic() - self._missed.get(name, -1e9) < 1.0:  # looked a moment ago
                return None
        path = self.directory / name
        try:
            held = _File(path)
        except (OSError, ValueError):
            with self._lock:
                self._missed[name] = time.monotonic()
            return None
        with self._lock:
            self._missed.pop(name, None)
            self._open[name] = held
            while len(self._open) > self.keep:
                self._open.popitem(last=False)
        return held

    # -- building
    def build(self, store: LayerStore, info: LayerInfo) -> Path | None:
        """Encode the pyramid of one layer version into its file (nothing if it is there or
        another process is making it); the path, or None. Other versions' files of the
        layer are removed."""
        if not self.covers(store, info):
            return None
        self.directory.mkdir(parents=True, exist_ok=True)
        name = self.name(info)
        final = self.directory / name
        lock_path = self.directory / (name + ".lock")
        with open(lock_path, "a+b") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None  # another process is making it
            try:
                if final.exists():
                    return final
                t0 = time.perf_counter()
                tiles.GENERAL.ensure(store, info)  # draw from what requests draw from
                messages = {}
                for z in self.zooms(info):
                    for x, y in positions(info.bbox, z):
                        if self._cancel.is_set():
                            return None
                        messages[_key(z, x, y)] = tiles.encode_layer(store, info.id, z, x, y)
                part = self.directory / f"{name}.{os.getpid()}.part"
                try:
                    write(part, messages)
                    os.replace(part, final)
                finally:
                    part.unlink(missing_ok=True)
            finally:
                lock_path.unlink(missing_ok=True)
        for old in self.directory.glob(f"{info.id}@*.pyr"):
            if old.name != name:
                old.unlink(missing_ok=True)
        log.info("tile pyramid of %s@%s: %d tiles of zooms %s in %.1f s, %.1f MB", info.id, info.version,
                 len(messages), list(self.zooms(info)), time.perf_counter() - t0, final.stat().st_size / 1e6)
        return final

    def build_all(self, store: LayerStore) -> None:
        """The pyramid of every layer version in force (one pinned view of them)."""
        view = store.snapshot()
        for info in view.layers():
            if self._cancel.is_set():
                return
            if self.covers(view, info) and not (self.directory / self.name(info)).exists():
                self.build(view, info)

    def start(self, store: LayerStore) -> None:
        """:meth:`build_all` in the background (at start-up, after a layer switch); a call
        while it runs makes it look again when done."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return
            self._cancel.clear()

            def run():
                while True:
                    try:
                        self.build_all(store)
                    except Exception:  # a failed build leaves the tiles drawn per request
                        log.exception("tile pyramid build failed")
                    with self._lock:
                        if not self._again or self._cancel.is_set():
                            self._thread = None
                            return
                        self._again = False

            # not a daemon (GEOS at interpreter exit); stop() ends it within one tile
            self._thread = threading.Thread(target=run, name="tile-pyramid")
            self._thread.start()

    def stop(self) -> None:
        """Cancel a build under way (its part file is removed) and wait for it."""
        self._cancel.set()
        thread = self._thread
        if thread is not None:
            thread.join(30)
