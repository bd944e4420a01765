"""HTTP throughput and latency of /v1/here and /v1/assess against a real server (uvicorn, one
process), with 1 client and with 32 concurrent clients, in one run. Figures only.

    python bench/http_load.py [--seconds 10] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time

import _serve
import numpy as np


def serve(workers: int) -> tuple[subprocess.Popen, str]:
    return _serve.serve(["-m", "uvicorn", "app.main:create_app", "--factory", "--port", "{port}",
                         "--workers", str(workers), "--log-level", "warning", "--timeout-keep-alive", "30"],
                        env={"ZONING_RUN_JOBS": "false"})


async def load(url: str, kind: str, clients: int, seconds: float) -> tuple[float, list[float], int]:
    import httpx

    rng = np.random.default_rng(clients)
    lat, errors = [], 0
    deadline = time.perf_counter() + seconds

    async def one(client):
        nonlocal errors
        while time.perf_counter() < deadline:
            x, y = rng.uniform(104.5, 114.3), rng.uniform(35.0, 40.5)
            t0 = time.perf_counter()
            if kind == "here":
                r = await client.get(f"{url}/v1/here", params={"lon": x, "lat": y})
            else:
                d = 0.005
                site = {"type": "Polygon", "coordinates": [[[x - d, y - d], [x + d, y - d], [x + d, y + d],
                                                            [x - d, y + d], [x - d, y - d]]]}
                r = await client.post(f"{url}/v1/assess", json={"site": site, "project": {"industry": "C3120"}})
            lat.append((time.perf_counter() - t0) * 1000)
            errors += r.status_code != 200

    t0 = time.perf_counter()
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=clients)) as client:
        await asyncio.gather(*(one(client) for _ in range(clients)))
    return len(lat) / (time.perf_counter() - t0), lat, errors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    proc, url = serve(args.workers)
    try:
        print(f"{'endpoint':<12}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'vs 1 client':>13}")
        for kind in ("here", "assess"):
            base = None
            for clients in (1, 32):
                rps, lat, errors = asyncio.run(load(url, kind, clients, args.seconds))
                base = base or rps
                q = np.percentile(lat, [50, 99])
                print(f"{kind:<12}{clients:>8}{rps:>9.0f}{q[0]:>9.1f}{q[1]:>9.1f}{errors:>8}{rps / base:>12.2f}x")
    finally:
        proc.terminate()
        proc.wait(20)


if __name__ == "__main__":
    main()
