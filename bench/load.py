"""A mixed load against a real server: N concurrent clients (default 50) for S seconds (default
60) on vector tiles, /v1/here, /v1/assess and OGC items, plus one site-file upload
(/v1/assess/upload) every few seconds. Prints per-kind counts, errors, p50/p99 and the
server's memory (RSS) sampled through the run after a warm-up that fills the bounded caches
(tiles, GDAL blocks) — the first and last thirds compared, so a leak shows as growth. The baseline for the latencies is the same mix with 1 client, measured
first in the same run. Figures; it exits 1 on any error (a non-2xx/304 answer or a failed
request) so that it can gate a release.

    python bench/load.py [--clients 50] [--seconds 60] [--url http://127.0.0.1:8000]

Without --url it starts its own server (`python -m app`: one uvicorn process, embedded store,
a private state folder). Traffic goes to the loopback address only.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from urllib.parse import urlparse

import _serve
import numpy as np

MIX = (("tile", 0.35), ("here", 0.25), ("assess", 0.25), ("items", 0.15))


def serve() -> tuple[subprocess.Popen, str]:
    """The server as `make run` starts it (`python -m app`), with a private state folder."""
    state = tempfile.mkdtemp(prefix="load-state-")
    log = open(os.path.join(state, "server.log"), "w")  # noqa: SIM115 - lives with the server
    print(f"server log: {log.name}")
    # every client comes from 127.0.0.1: the per-address rate limit and stored-result quota are
    # for the public, not for this one load generator
    return _serve.serve(env={"ZONING_RUN_JOBS": "false", "ZONING_STATE_DIR": state,
                             "ZONING_RATE_LIMIT_ANONYMOUS_PER_MIN": "0",
                             "ZONING_ANONYMOUS_RECORDS_PER_CLIENT": "10000000"}, stdout=log)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def site_file(rng) -> bytes:
    x, y = rng.uniform(110.5, 114.0), rng.uniform(35.0, 40.0)
    feats = []
    for i in range(3):
        d, dx = 0.003, i * 0.01
        ring = [[x + dx - d, y - d], [x + dx + d, y - d], [x + dx + d, y + d], [x + dx - d, y + d], [x + dx - d, y - d]]
        feats.append({"type": "Feature", "properties": {"地块": f"{i + 1}"},
                      "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False).encode()


def hostile_inputs() -> list[tuple[str, dict]]:
    """(kind, request) for the hostile mix: medium files that cost a parser (a 3,000-folder KML,
    a CSV of 20,000 one-point parcels), sites with thousands of holes, a NaN body."""
    x, y, w, k = 112.45, 37.75, 0.1, 55
    holes = [[[x + (i + .3) * w / k, y + (j + .3) * w / k], [x + (i + .3) * w / k, y + (j + .7) * w / k],
              [x + (i + .7) * w / k, y + (j + .7) * w / k], [x + (i + .7) * w / k, y + (j + .3) * w / k],
              [x + (i + .3) * w / k, y + (j + .3) * w / k]] for i in range(k) for j in range(k)]
    holed = {"type": "Polygon", "coordinates": [[[x, y], [x + w, y], [x + w, y + w], [x, y + w], [x, y]], *holes]}
    folder = ("<Folder><Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>112.55,37.87 "
              "112.56,37.87 112.56,37.88 112.55,37.87</coordinates></LinearRing></outerBoundaryIs></Polygon>"
              "</Placemark></Folder>")
    kml = ('<kml xmlns="http://www.opengis.net/kml/2.2"><Document>' + folder * 3000 + "</Document></kml>").encode()
    csv = ("地块号,经度,纬度\n" + "".join(f"P{i},112.55,37.87\n" for i in range(20_000))).encode()
    return [
        ("h_kml", {"files": {"file": ("f.kml", kml)}, "data": {"industry": "C3120"}}),
        ("h_csv", {"files": {"file": ("f.csv", csv)}, "data": {"industry": "C3120"}}),
        ("h_holes", {"json": {"site": holed, "project": {"industry": "C3120"}}}),
        ("h_nan", {"content": b'{"site": {"type": "Point", "coordinates": [NaN, 1]}}',
                   "headers": {"content-type": "application/json"}}),
    ]


async def run(url: str, clients: int, seconds: float, upload_every: float, pid: int | None,
              hostile: int = 0):
    import httpx
    import morecantile

    tms = morecantile.tms.get("WebMercatorQuad")
    rng = np.random.default_rng(clients)
    lat: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, list[str]] = defaultdict(list)
    memory: list[tuple[float, float]] = []
    kinds, weights = zip(*MIX)
    start = time.perf_counter()
    deadline = start + seconds

    async def request(client, kind: str):
        x, y = rng.uniform(104.5, 114.3), rng.uniform(35.0, 40.5)
        if kind == "tile":
            z = int(rng.integers(5, 13))
            t = tms.tile(x, y, z)
            layer = "admin_county,control_units" if z >= 7 else "admin_province,key_regions"
            return await client.get(f"{url}/tiles/{layer}/{z}/{t.x}/{t.y}.mvt", headers={"accept-encoding": "gzip"})
        if kind == "here":
            return await client.get(f"{url}/v1/here", params={"lon": x, "lat": y})
        if kind == "items":
            d = 0.05
            return await client.get(f"{url}/ogc/collections/control_units/items",
                                    params={"bbox": f"{x - d},{y - d},{x + d},{y + d}", "limit": 20})
        if kind == "upload":
            return await client.post(f"{url}/v1/assess/upload", data={"industry": "C3011"},
                                     files={"file": ("地块.geojson", io.BytesIO(site_file(rng)))})
        d = 0.005
        site = {"type": "Polygon", "coordinates": [[[x - d, y - d], [x + d, y - d], [x + d, y + d],
                                                    [x - d, y + d], [x - d, y - d]]]}
        return await client.post(f"{url}/v1/assess", json={"site": site, "project": {"industry": "C3120"}})

    async def timed(client, kind: str):
        t0 = time.perf_counter()
        try:
            r = await request(client, kind)
            if r.status_code not in (200, 304):
                errors[kind].append(f"{r.status_code} {r.text[:120]}")
        except Exception as exc:  # a refused or broken connection is an error too
            errors[kind].append(type(exc).__name__)
        lat[kind].append((time.perf_counter() - t0) * 1000)

    async def worker(client):
        while time.perf_counter() < deadline:
            await timed(client, str(rng.choice(kinds, p=weights)))

    bad = hostile_inputs() if hostile else []

    async def attacker(client, i: int):
        # hostile requests must be refused or answered, never a 5xx other than a 503 with Retry-After
        n = i
        while time.perf_counter() < deadline:
            kind, kw = bad[n % len(bad)]
            n += 1
            path = "/v1/assess" if kind in ("h_holes", "h_nan") else "/v1/assess/upload"
            t0 = time.perf_counter()
            try:
                r = await client.post(f"{url}{path}", **kw)
                if r.status_code >= 500 and not (r.status_code == 503 and "retry-after" in r.headers):
                    errors[kind].append(f"{r.status_code} {r.text[:120]}")
            except Exception as exc:
                errors[kind].append(type(exc).__name__)
            lat[kind].append((time.perf_counter() - t0) * 1000)

    async def uploader(client):
        while time.perf_counter() < deadline:
            await asyncio.sleep(upload_every)
            await timed(client, "upload")

    async def sampler():
        while pid and time.perf_counter() < deadline:
            memory.append((time.perf_counter() - start, rss_mb(pid)))
            await asyncio.sleep(1)

    async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=clients + hostile + 1)) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)), uploader(client), sampler(),
                             *(attacker(client, i) for i in range(hostile)))
    return lat, errors, memory, time.perf_counter() - start


def report(title: str, lat, errors, elapsed: float) -> None:
    total = sum(len(v) for v in lat.values())
    print(f"\n{title}: {total:,} requests in {elapsed:.0f} s = {total / elapsed:,.0f} req/s")
    print(f"{'kind':<8}{'count':>8}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for kind in (*dict(MIX), "upload", "h_kml", "h_csv", "h_holes", "h_nan"):
        v = lat.get(kind, [])
        if v:
            q = np.percentile(v, [50, 99])
            print(f"{kind:<8}{len(v):>8}{len(errors.get(kind, [])):>8}{q[0]:>9.1f}{q[1]:>9.1f}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--upload-every", type=float, default=3.0, help="seconds between site-file uploads")
    ap.add_argument("--warmup", type=float, default=30, help="seconds of load before memory is judged")
    ap.add_argument("--url", help="a running server (loopback only); default: start one")
    ap.add_argument("--hostile", type=int, default=0,
                    help="then the same load again beside this many hostile clients (medium files, holed "
                         "sites, NaN bodies): 0 5xx, and the normal kinds' p99 against the calm run")
    args = ap.parse_args()
    proc = None
    if args.url:
        if urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("load goes to this machine's loopback address only")
        url, pid = args.url, None
    else:
        proc, url = serve()
        pid = proc.pid
    try:
        lat1, err1, _, el1 = asyncio.run(run(url, 1, min(10.0, args.seconds / 4), args.upload_every, None))
        report("baseline, 1 client", lat1, err1, el1)
        # warm-up: let the bounded caches (tiles, GDAL blocks) fill before memory is judged
        _, err_w, mem_w, _ = asyncio.run(run(url, args.clients, args.warmup, args.upload_every, pid))
        err1 = {k: err1.get(k, []) + err_w.get(k, []) for k in set(err1) | set(err_w)}
        if mem_w:
            print(f"\nwarm-up {args.warmup:.0f} s with {args.clients} clients: RSS {mem_w[0][1]:.0f} -> {mem_w[-1][1]:.0f} MB")
        lat, errors, memory, elapsed = asyncio.run(run(url, args.clients, args.seconds, args.upload_every, pid))
        report(f"{args.clients} clients", lat, errors, elapsed)
        for kind in dict(MIX):
            if lat1.get(kind) and lat.get(kind):
                print(f"  {kind}: p50 {np.percentile(lat[kind], 50) / np.percentile(lat1[kind], 50):.1f}x the 1-client p50")
        if memory:
            third = max(1, len(memory) // 3)
            first = np.mean([m for _, m in memory[:third]])
            last = np.mean([m for _, m in memory[-third:]])
            print(f"\nserver RSS: start {memory[0][1]:.0f} MB, first third {first:.0f} MB, last third "
                  f"{last:.0f} MB ({(last - first) / first * 100:+.1f}%), peak {max(m for _, m in memory):.0f} MB")
        if args.hostile:
            lat_h, err_h, _, el_h = asyncio.run(run(url, args.clients, args.seconds, args.upload_every, pid,
                                                    hostile=args.hostile))
            report(f"{args.clients} clients beside {args.hostile} hostile ones", lat_h, err_h, el_h)
            for kind in dict(MIX):
                if lat.get(kind) and lat_h.get(kind):
                    print(f"  {kind}: p99 {np.percentile(lat_h[kind], 99) / np.percentile(lat[kind], 99):.1f}x "
                          "the calm run's p99 (target <= 2x)")
            errors = {k: errors.get(k, []) + err_h.get(k, []) for k in set(errors) | set(err_h)}
        n_err = sum(len(v) for v in errors.values()) + sum(len(v) for v in err1.values())
        for kind, msgs in {**err1, **errors}.items():
            print(f"errors in {kind}: {msgs[:3]}")
        print(f"\n{n_err} errors")
        return 1 if n_err else 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(20)


if __name__ == "__main__":
    sys.exit(main())
