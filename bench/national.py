"""The national SYNTHETIC set (``python -m layers.sample.build --scale national``) served as
`make run` serves it, in one run. Figures only.

    python bench/national.py [--seconds 8] [--tiles 40]

- build: the builder's own time and vertex count (data/national/BUILD.json);
- load to first answer and resident memory (PSS of every process) with one worker and with one
  per core;
- /v1/here and 1 km² /v1/assess p50/p99 with one connection, and throughput with 32 (wrk, at
  random places in 100–120° E, 24–42° N);
- the /map page's first full draw at the national view in headless Chromium (cold: every
  tile rendered by the server; warm: the server's tile cache full), with one worker per core;
- the tile pyramid (zooms 0–7 of every layer, layers.pyramid): build time and size; the servers
  above serve from it;
- cold vector tiles of the map's layers per zoom 0–14 at random places in China (in-process,
  no cache): p50/p95/max milliseconds and the largest tile, drawn per request and (zooms 0–7)
  served from the pyramid;
- siting (bench/siting.py's figures) over 宁夏, 山西 and 内蒙古.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import _serve
import map_page
import numpy as np
import siting
import workers

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "layers" / "catalogs" / "national.yaml"
DATA = ROOT / "data" / "national"
BBOX = "100,24,120,42"
# what the map page draws at a national view
NATIONAL_VIEW = "#3.6/35.5/104"  # all of China in the page's 1280 x 860 viewport
MAP_LAYERS = ["admin_province", "admin_county", "key_regions", "control_units", "red_lines", "protected_areas",
              "basic_farmland"]


def _watch(proc, limit_mb: float, stop: threading.Event) -> None:
    """Stop the server if the whole service grows past ``limit_mb`` (the machine is shared)."""
    while not stop.wait(1.0):
        try:
            if workers.pss_mb(proc.pid) > limit_mb:
                print(f"server over {limit_mb:,.0f} MB: stopped", file=sys.stderr)
                proc.kill()
                return
        except (OSError, AttributeError):
            return


def first_draw(url: str) -> tuple[float, float, int, int]:
    """Seconds to the map's first full draw at the national view: cold, then warm; tiles, bytes."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=map_page.CHROMIUM_ARGS)
        try:
            cold, count, size = map_page.load(browser, url, NATIONAL_VIEW, raster=False)
            warm = min(map_page.load(browser, url, NATIONAL_VIEW, raster=False)[0] for _ in range(2))
        finally:
            browser.close()
    return cold, warm, count, size


def serve_and_measure(n: int, seconds: float, script: Path, limit_mb: float, draw: bool, pyramid_dir: str) -> dict:
    state = tempfile.mkdtemp(prefix="bench-national-")
    t0 = time.perf_counter()
    proc, url = _serve.serve(env={"ZONING_WORKERS": str(n), "ZONING_RUN_JOBS": "false", "ZONING_STATE_DIR": state,
                                  "ZONING_CATALOG": str(CATALOG), "ZONING_DATA_DIR": str(DATA),
                                  "ZONING_TILE_PYRAMID_DIR": pyramid_dir,  # built by in_process
                                  "ZONING_RATE_LIMIT_ANONYMOUS_PER_MIN": "0"}, timeout_s=600)
    row = {"start_s": time.perf_counter() - t0}
    stop = threading.Event()
    threading.Thread(target=_watch, args=(proc, limit_mb, stop), daemon=True).start()
    try:
        for kind in ("here", "assess"):
            workers.wrk(url, kind, 4, 2, script, BBOX)
            row[kind, 1] = workers.wrk(url, kind, 1, seconds, script, BBOX)
            row[kind, 32] = workers.wrk(url, kind, 32, seconds, script, BBOX)
        row["pss_mb"] = workers.pss_mb(proc.pid)
        if draw:
            row["draw"] = first_draw(url)
    finally:
        stop.set()
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(state, ignore_errors=True)
    return row


def in_process(per_zoom: int, pyramid_dir: str) -> tuple[float, float, list[tuple], list[tuple]]:
    """What is measured on one store loaded in this process: :func:`cold_tiles` and
    :func:`national_siting`."""
    from layers.store import EmbeddedStore

    store = EmbeddedStore.open(CATALOG, DATA)
    return *cold_tiles(store, per_zoom, pyramid_dir), national_siting(store)


def cold_tiles(store, per_zoom: int, pyramid_dir: str) -> tuple[float, float, list[tuple]]:
    """The tile pyramid built into ``pyramid_dir`` (seconds, MB), then per zoom the cold tiles
    of the map's layers drawn per request and (zooms 0-7) served from the pyramid."""
    import morecantile

    from layers import tiles
    from layers.pyramid import Pyramid

    tiles.GENERAL.warm(store)
    pyramid = Pyramid(Path(pyramid_dir))
    t0 = time.perf_counter()
    pyramid.build_all(store)
    build_s = time.perf_counter() - t0
    build_mb = sum(f.stat().st_size for f in Path(pyramid_dir).glob("*.pyr")) / 1e6
    tms = morecantile.tms.get("WebMercatorQuad")
    rng = np.random.default_rng(5)
    rows = []
    for z in range(15):
        drawn, served, sizes = [], [], []
        for _ in range(per_zoom):
            t = tms.tile(rng.uniform(100, 120), rng.uniform(24, 42), z)
            active = [lid for lid in MAP_LAYERS if store.entry(lid).minzoom <= z <= store.entry(lid).maxzoom]
            if not active:
                continue
            tiles.TAGS.clear()
            t0 = time.perf_counter()
            tile = tiles.render(store, active, z, t.x, t.y)
            drawn.append((time.perf_counter() - t0) * 1000)
            sizes.append(len(tile.data))
            if z <= pyramid.max_zoom:
                t0 = time.perf_counter()
                tiles.render(store, active, z, t.x, t.y, pyramid=pyramid)
                served.append((time.perf_counter() - t0) * 1000)
        q = np.percentile(drawn, [50, 95])
        s = np.percentile(served, [50, 95]).tolist() + [max(served)] if served else [np.nan] * 3
        rows.append((z, len(drawn), q[0], q[1], max(drawn), max(sizes) / 1024, *s))
    return build_s, build_mb, rows


def national_siting(store) -> list[tuple]:
    """bench/siting.py's figures on the national set, for the sample's two provinces and for
    内蒙古 (wind and desert)."""
    return siting.siting_rows(store, siting.provinces(store, {"宁夏 640000": "640000", "山西 140000": "140000",
                                                              "内蒙古 150000": "150000"}), runs=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--tiles", type=int, default=40, help="cold tiles per zoom")
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--limit-mb", type=float, default=16_000, help="stop a server whose PSS grows past this")
    args = ap.parse_args()
    stamp = DATA / "BUILD.json"
    if not stamp.exists():
        sys.exit("build the set first: python -m layers.sample.build --scale national")
    built = json.loads(stamp.read_text(encoding="utf-8"))
    print(f"national set: built in {built['seconds']} s, {built['total_vertices']:,} vertices; "
          f"{built['counts']['control_units']:,} control units, {built['counts']['red_lines']:,} red-line patches")
    script = Path(tempfile.mkdtemp()) / "bench.lua"
    script.write_text(workers.LUA)
    pyramid_dir = tempfile.mkdtemp(prefix="bench-pyramid-")
    try:
        # in a process of its own: the servers measured next have the machine's memory to themselves
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            build_s, build_mb, tile_rows, siting_rows = pool.apply(in_process, (args.tiles, pyramid_dir))
        rows = {n: serve_and_measure(n, args.seconds, script, args.limit_mb, draw=n == args.workers,
                                     pyramid_dir=pyramid_dir) for n in (1, args.workers)}
    finally:
        shutil.rmtree(pyramid_dir, ignore_errors=True)
    base = rows[1]
    print(f"\n{'workers':>8}{'endpoint':>9}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'vs 1':>8}")
    for n, row in rows.items():
        for kind in ("here", "assess"):
            for c in (1, 32):
                r = row[kind, c]
                print(f"{n:>8}{kind:>9}{c:>8}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['errors']:>8}"
                      f"{r['rps'] / max(base[kind, c]['rps'], 1e-9):>7.2f}x")
    for n, row in rows.items():
        print(f"{n} worker(s): start to first answer {row['start_s']:.1f} s, memory (PSS) {row['pss_mb']:,.0f} MB "
              f"({row['pss_mb'] / base['pss_mb']:.2f}x one worker)")
    cold, warm, count, size = rows[args.workers]["draw"]
    print(f"map page, national view ({NATIONAL_VIEW}), first full draw: cold {cold:.2f} s, warm {warm:.2f} s "
          f"({count} tiles, {size / 1024:,.0f} KB)")
    print(f"\ntile pyramid (zooms 0-7, every layer in force): built in {build_s:.0f} s, {build_mb:,.0f} MB")
    print(f"\ncold tiles of {', '.join(MAP_LAYERS)}: drawn per request | served from the pyramid")
    print(f"{'zoom':>5}{'tiles':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'max KB':>9}"
          f"{'p50 ms':>10}{'p95 ms':>9}{'max ms':>9}{'p95 vs':>9}")
    for z, n, p50, p95, mx, kb, sp50, sp95, smx in tile_rows:
        served = (f"{sp50:>10.1f}{sp95:>9.1f}{smx:>9.1f}{sp95 / p95:>8.2f}x" if sp50 == sp50 else "")
        print(f"{z:>5}{n:>7}{p50:>9.1f}{p95:>9.1f}{mx:>9.1f}{kb:>9.0f}{served}")
    print("\nsiting (zoning.siting, one core; baseline: candidate land clipped and overlaid with the exclusions)")
    siting.print_rows(siting_rows)


if __name__ == "__main__":
    main()
