"""One worker against one per core (app/serve.py), measured with wrk (Debian's `wrk`: a C load
generator that takes little of a 2-core machine), in one run. Figures only.

    python bench/workers.py [--seconds 10] [--workers 2]

For each server: /v1/here and 1 km² /v1/assess at random places in Shanxi and Ningxia, with 1
connection (latency) and 32 (throughput); errors (non-2xx, socket errors); resident memory of
the whole service (PSS of the supervisor and its workers, so shared pages count once).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _serve

LUA = r"""
math.randomseed(7)
local kind = os.getenv("BENCH_KIND")
local w, s, e, n = string.match(os.getenv("BENCH_BBOX") or "104.5,35.0,114.3,40.5", "([^,]+),([^,]+),([^,]+),([^,]+)")
w, s, e, n = tonumber(w), tonumber(s), tonumber(e), tonumber(n)
request = function()
  local x = w + math.random() * (e - w)
  local y = s + math.random() * (n - s)
  if kind == "here" then
    return wrk.format("GET", string.format("/v1/here?lon=%.5f&lat=%.5f", x, y))
  end
  local d = 0.0045
  local body = string.format('{"site":{"type":"Polygon","coordinates":[[[%f,%f],[%f,%f],[%f,%f],[%f,%f],[%f,%f]]]},'
    .. '"project":{"industry":"C3120"}}', x-d, y-d, x+d, y-d, x+d, y+d, x-d, y+d, x-d, y-d)
  return wrk.format("POST", "/v1/assess", {["Content-Type"]="application/json"}, body)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f\n", summary.requests, summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout + summary.errors.status,
    summary.duration, latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.mean / 1000))
end
"""


def pss_mb(pid: int) -> float:
    """PSS of a process and its descendants, MB."""
    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
                     .stdout.split()]
    total = 0
    for p in pids:
        text = Path(f"/proc/{p}/smaps_rollup").read_text()
        total += int(re.search(r"^Pss:\s+(\d+)", text, re.M).group(1))
    return total / 1024


def wrk(url: str, kind: str, connections: int, seconds: float, script: Path, bbox: str | None = None) -> dict:
    """wrk against /v1/here or /v1/assess at random places in ``bbox`` (w,s,e,n)."""
    env = {**os.environ, "BENCH_KIND": kind, **({"BENCH_BBOX": bbox} if bbox else {})}
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "--latency", "-s",
                          str(script), url], capture_output=True, text=True, env=env, check=True).stdout
    n, errors, micros, p50, p99, mean = re.search(r"RESULT (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)", out).groups()
    return {"rps": int(n) / (int(micros) / 1e6), "errors": int(errors), "p50": float(p50), "p99": float(p99)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("needs wrk: apt-get install wrk")
    script = Path(tempfile.mkdtemp()) / "bench.lua"
    script.write_text(LUA)
    rows = {}
    for workers in (1, args.workers):
        state = tempfile.mkdtemp(prefix="bench-state-")
        t0 = time.perf_counter()
        proc, url = _serve.serve(env={"ZONING_WORKERS": str(workers), "ZONING_RUN_JOBS": "false",
                                      "ZONING_STATE_DIR": state, "ZONING_RATE_LIMIT_ANONYMOUS_PER_MIN": "0"},
                                 timeout_s=120)
        started = time.perf_counter() - t0
        try:
            for kind in ("here", "assess"):
                wrk(url, kind, 8, 2, script)  # warm every worker's caches
            row = {"start_s": started}
            for kind in ("here", "assess"):
                row[kind, 1] = wrk(url, kind, 1, args.seconds, script)
                row[kind, 32] = wrk(url, kind, 32, args.seconds, script)
            row["pss_mb"] = pss_mb(proc.pid)
            rows[workers] = row
        finally:
            proc.terminate()
            proc.wait(30)
            shutil.rmtree(state, ignore_errors=True)
    base = rows[1]
    print(f"{'workers':>8}{'endpoint':>9}{'clients':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'req/s vs 1':>12}{'p50 vs 1':>10}")
    for workers, row in rows.items():
        for kind in ("here", "assess"):
            for c in (1, 32):
                r, b = row[kind, c], base[kind, c]
                print(f"{workers:>8}{kind:>9}{c:>8}{r['rps']:>9.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['errors']:>8}"
                      f"{r['rps'] / b['rps']:>11.2f}x{r['p50'] / b['p50']:>9.2f}x")
    for workers, row in rows.items():
        print(f"{workers} worker(s): start to first answer {row['start_s']:.1f} s, resident memory (PSS, all "
              f"processes) {row['pss_mb']:.0f} MB, {row['pss_mb'] / base['pss_mb']:.2f}x one worker")


if __name__ == "__main__":
    main()
