"""Every tile z0–12 of every sample layer over an area: drawn, and any failure named (issue 26:
cultivated_land 9/414/201 was a GEOSException in the rectangle clipper). A correctness sweep,
not a timing: it prints tiles drawn and seconds per zoom, and the failures.

    python bench/tile_sweep.py [--maxzoom 12] [--layers cultivated_land,red_lines]

The national admin layers hold features over all of China: --bbox restricts the sweep
(default: the sample's synthetic provinces, Shanxi and Ningxia).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import shapely

from layers.catalog import DEFAULT_CATALOG
from layers.store import EmbeddedStore
from layers.tiles import tile_geometries


def tiles_over(bbox: tuple[float, float, float, float], z: int):
    w, s, e, n = bbox
    def tx(lon): return int((lon + 180) / 360 * 2**z)
    def ty(lat): return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    for x in range(tx(w), tx(e) + 1):
        for y in range(ty(n), ty(s) + 1):
            yield x, y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--maxzoom", type=int, default=12)
    ap.add_argument("--layers", default="")
    ap.add_argument("--bbox", default="104.2,34.5,114.6,41.1")
    args = ap.parse_args()
    bbox = tuple(float(v) for v in args.bbox.split(","))
    store = EmbeddedStore.open(DEFAULT_CATALOG)
    wanted = [lid for lid in args.layers.split(",") if lid] or [i.id for i in store.layers() if i.spatial]
    failures, drawn = [], 0
    for z in range(args.maxzoom + 1):
        t0, n = time.perf_counter(), 0
        for lid in wanted:
            info = store.info(lid)
            lb = info.bbox or bbox
            box = (max(lb[0], bbox[0]), max(lb[1], bbox[1]), min(lb[2], bbox[2]), min(lb[3], bbox[3]))
            if box[0] > box[2] or box[1] > box[3]:
                continue
            for x, y in tiles_over(box, z):
                try:
                    tile_geometries(store, lid, z, x, y)
                    n += 1
                except Exception as exc:  # noqa: BLE001 - each failure is reported
                    failures.append(f"{lid}/{z}/{x}/{y}: {type(exc).__name__}: {exc}"[:200])
        drawn += n
        print(f"z{z}: {n} tiles in {time.perf_counter() - t0:.1f} s", flush=True)
    print(f"{drawn} tiles drawn, {len(failures)} failures")
    for f in failures[:50]:
        print("  ", f)


if __name__ == "__main__":
    main()
