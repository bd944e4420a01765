"""Tiles/s and items latency, with a naive baseline measured in the same run.

    python bench/tiles_items.py [--tiles 40]

Prints figures, not pass/fail. Baseline: what a hand-written endpoint would do per tile —
geopandas clip + mapbox_vector_tile.encode(quantize_bounds=…) on the same layer, called
directly (no HTTP, no simplification, no attributes). Ours goes through the HTTP stack
(TestClient, ~2.5 ms a request), so at high zoom, where tiles are small, the baseline wins;
at low zoom the per-pixel simplification and grid snap win.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import geopandas as gpd
import mapbox_vector_tile
import morecantile
import numpy as np
import shapely

warnings.filterwarnings("ignore")
TMS = morecantile.tms.get("WebMercatorQuad")


def baseline_tile(gdf3857: gpd.GeoDataFrame, z: int, x: int, y: int) -> bytes:
    b = TMS.xy_bounds(x, y, z)
    part = gdf3857.clip(shapely.box(*b))
    feats = [{"geometry": g, "properties": {"fid": str(f)}} for f, g in zip(part.fid, part.geometry) if not g.is_empty]
    return mapbox_vector_tile.encode([{"name": "l", "features": feats}],
                                     default_options={"quantize_bounds": tuple(b), "extents": 4096})


def baseline_png(path, colormap, lo, hi, z: int, x: int, y: int) -> bytes:
    """A hand-written raster tile: read the whole band, warp it to the tile, colour, encode."""
    import io

    import rasterio
    from PIL import Image
    from rasterio.warp import Resampling, reproject
    from rio_tiler.colormap import cmap

    with rasterio.open(path) as src:
        band = src.read(1)
        out = np.zeros((256, 256), dtype="float32")
        b = TMS.xy_bounds(x, y, z)
        reproject(band, out, src_transform=src.transform, src_crs=src.crs, src_nodata=src.nodata,
                  dst_transform=rasterio.transform.from_bounds(*b, 256, 256), dst_crs="EPSG:3857",
                  dst_nodata=0, resampling=Resampling.bilinear)
    lut = np.array([cmap.get(colormap)[i] for i in range(256)], dtype="uint8")
    idx = np.clip((out - lo) / (hi - lo) * 255, 0, 255).astype("uint8")
    rgba = lut[idx]
    rgba[out == 0, 3] = 0
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiles", type=int, default=40, help="tiles per zoom")
    args = ap.parse_args()
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app()) as client:
        store = client.app.state.services.store
        print(f"{'layer':<14}{'z':>3}{'tiles':>7}{'cold t/s':>10}{'warm t/s':>10}{'baseline t/s':>14}{'cold/baseline':>15}")
        for layer, zooms in (("control_units", (6, 8, 10, 12)), ("admin_county", (5, 7, 9))):
            idx = np.arange(store.info(layer).count)
            gdf = gpd.GeoDataFrame({"fid": store.feature_ids(layer, idx)},
                                   geometry=list(store.geometries(layer, idx)), crs=4490).to_crs(3857)
            for z in zooms:
                tiles = list(TMS.tiles(110.5, 35.0, 114.5, 40.5, [z]))[: args.tiles]
                client.app.state.services.tiles.clear()  # cold
                t0 = time.perf_counter()
                for t in tiles:
                    client.get(f"/tiles/{layer}/{z}/{t.x}/{t.y}.mvt", headers={"accept-encoding": "gzip"})
                cold = len(tiles) / (time.perf_counter() - t0)
                t0 = time.perf_counter()
                for t in tiles:
                    client.get(f"/tiles/{layer}/{z}/{t.x}/{t.y}.mvt", headers={"accept-encoding": "gzip"})
                warm = len(tiles) / (time.perf_counter() - t0)
                t0 = time.perf_counter()
                for t in tiles:
                    baseline_tile(gdf, z, t.x, t.y)
                base = len(tiles) / (time.perf_counter() - t0)
                print(f"{layer:<14}{z:>3}{len(tiles):>7}{cold:>10.1f}{warm:>10.1f}{base:>14.1f}{cold / base:>14.2f}x")
        print()
        print(f"{'raster':<14}{'z':>3}{'tiles':>7}{'cold t/s':>10}{'warm t/s':>10}{'baseline t/s':>14}{'cold/baseline':>15}")
        print("  (baseline: read the whole band, warp, colour and encode per tile)")
        for layer, zooms in (("ghi", (6, 8, 10, 12)), ("slope", (8, 11))):
            info = store.raster(layer)
            for z in zooms:
                tiles = list(TMS.tiles(110.5, 35.0, 114.5, 40.5, [z]))[: args.tiles]
                client.app.state.services.tiles.clear()
                t0 = time.perf_counter()
                for t in tiles:
                    assert client.get(f"/tiles/{layer}/{z}/{t.x}/{t.y}.png").status_code == 200
                cold = len(tiles) / (time.perf_counter() - t0)
                t0 = time.perf_counter()
                for t in tiles:
                    client.get(f"/tiles/{layer}/{z}/{t.x}/{t.y}.png")
                warm = len(tiles) / (time.perf_counter() - t0)
                few = tiles[: max(3, len(tiles) // 8)]
                t0 = time.perf_counter()
                for t in few:
                    baseline_png(info.path, info.spec.colormap, *info.spec.range, z, t.x, t.y)
                base = len(few) / (time.perf_counter() - t0)
                print(f"{layer:<14}{z:>3}{len(tiles):>7}{cold:>10.1f}{warm:>10.1f}{base:>14.1f}{cold / base:>14.2f}x")
        print()
        print(f"{'items query':<48}{'p50 ms':>8}{'p95 ms':>8}")
        for label, params in (
            ("control_units limit=10", {"limit": 10}),
            ("control_units limit=100 bbox", {"limit": 100, "bbox": "111,36,114,39"}),
            ("control_units limit=1000", {"limit": 1000}),
            ("control_units filter unit_class=1 limit=100", {"limit": 100, "filter": "unit_class = 1"}),
            ("admin_county limit=100 bbox", {"limit": 100, "bbox": "110,34,115,41"}),
        ):
            coll = label.split()[0]
            times = []
            for _ in range(15):
                t0 = time.perf_counter()
                r = client.get(f"/ogc/collections/{coll}/items", params=params)
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200
            times.sort()
            print(f"{label:<48}{statistics.median(times):>8.1f}{times[int(0.95 * (len(times) - 1))]:>8.1f}")


if __name__ == "__main__":
    main()
