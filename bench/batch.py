"""Batch judgment of N generated 1 km² sites (default 100,000): sites/s in one process
(judge_many in chunks) and on a 2-worker Dask LocalCluster, in one run. Figures only.

    python bench/batch.py [--n 100000] [--chunk 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import shapely

warnings.filterwarnings("ignore")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--chunk", type=int, default=2000)
    args = ap.parse_args()
    from distributed import LocalCluster

    from app.deps import Services
    from app.distributed import connect
    from app.jobs import JobRunner
    from app.service import Live
    from app.settings import Settings
    from app.state.jobs import JobStore
    from layers.catalog import DEFAULT_CATALOG
    from layers.store import EmbeddedStore
    from zoning.industries import load_industries
    from zoning.rules import load_rules

    rng = np.random.default_rng(42)
    x, y = rng.uniform(104.5, 114.3, args.n), rng.uniform(35.0, 40.5, args.n)
    sites = [(shapely.to_wkb(shapely.box(a - 0.0057, b - 0.0045, a + 0.0057, b + 0.0045)), {}) for a, b in zip(x, y)]
    params = {"industry": "C3120", "action": "new", "edition": "2023"}
    with tempfile.TemporaryDirectory() as d:
        settings = Settings(state_dir=Path(d))
        services = Services(settings, Live(EmbeddedStore.open(DEFAULT_CATALOG), load_rules(), load_industries()))
        jobs = JobStore(Path(d) / "jobs.sqlite")
        jid = jobs.create(sites, params, {}, args.chunk)
        t0 = time.perf_counter()
        JobRunner(services, jobs).run(jid)
        single = args.n / (time.perf_counter() - t0)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
            client = connect(cluster.scheduler_address, settings)
            client.run(lambda dask_worker: hasattr(dask_worker, "zoning_live"))  # workers ready
            jid2 = jobs.create(sites, params, {}, args.chunk)
            t0 = time.perf_counter()
            JobRunner(services, jobs, dask_client=client).run(jid2)
            dask = args.n / (time.perf_counter() - t0)
            client.close()
        same = jobs.results(jid) == jobs.results(jid2)
    print(f"{args.n:,} sites, chunks of {args.chunk}")
    print(f"{'single process':<28}{single:>10,.0f} sites/s")
    print(f"{'Dask LocalCluster, 2 workers':<28}{dask:>10,.0f} sites/s  ({dask / single:.2f}x)  identical: {same}")


if __name__ == "__main__":
    main()
