"""Batch jobs: submit → 202, progress, results in three formats equal to single judgments,
cancel, and resume after a crash (kill -9) without redoing or losing chunks."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
import yaml

from app.service import Live
from app.state.jobs import JobStore
from tests.conftest import ADMIN
from zoning.judge import Project, judge
from zoning.site import site_from_geometry


def sites_geojson(n: int, seed: int = 5) -> bytes:
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(104.5, 114.3, n), rng.uniform(35.0, 40.5, n)
    geoms = [shapely.box(a - 0.004, b - 0.003, a + 0.004, b + 0.003) for a, b in zip(x, y)]
    return gpd.GeoDataFrame({"name": [f"site{i}" for i in range(n)]}, geometry=geoms, crs=4326).to_json().encode()


def wait_done(client, jid: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/jobs/{jid}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_job_results_equal_single_judgments(client, judging):
    data = sites_geojson(240)
    r = client.post("/v1/jobs/assess", files={"file": ("sites.geojson", data)},
                    data={"industry": "C3120", "chunk_size": "50"})
    assert r.status_code == 202, r.text
    job = wait_done(client, r.json()["id"])
    assert job["state"] == "done" and job["done"] == job["total"] == 240 and job["chunks_done"] == 5
    assert job["rate"] and job["eta_s"] is None
    fc = client.get(f"/v1/jobs/{job['id']}/results.geojson").json()
    assert [f["id"] for f in fc["features"]] == list(range(240))
    for f in fc["features"][::7]:
        site = site_from_geometry(shapely.geometry.shape(f["geometry"]))
        single = judge(judging, site, Project("C3120"))
        p = f["properties"]
        assert p["verdict"] == single.verdict
        assert p["reasons"] == ";".join(x.rule_id for x in single.reasons)
        assert p["area_m2"] == pytest.approx(single.site["area_m2"], abs=0.01)
        assert f["properties"]["attributes"]["name"] == f"site{f['id']}"
    gpkg = pyogrio.read_dataframe(io.BytesIO(client.get(f"/v1/jobs/{job['id']}/results.gpkg").content))
    assert len(gpkg) == 240 and list(gpkg["verdict"]) == [f["properties"]["verdict"] for f in fc["features"]]
    text = client.get(f"/v1/jobs/{job['id']}/results.csv").content.decode("utf-8-sig")
    assert len(text.splitlines()) == 241 and text.startswith("index,verdict,area_m2")


def test_bad_jobs(client):
    r = client.post("/v1/jobs/assess", files={"file": ("s.geojson", sites_geojson(3))}, data={"industry": "Q0000"})
    assert r.status_code == 422
    r = client.post("/v1/jobs/assess", files={"file": ("s.geojson", sites_geojson(3))},
                    data={"industry": "C3120", "chunk_size": "1"})
    assert r.status_code == 422
    assert client.get("/v1/jobs/nope").status_code == 404
    assert client.post("/v1/jobs/nope/cancel").status_code == 404


def test_resume_does_not_redo_or_lose_chunks(tmp_path, store, rules, industries):
    from app.deps import Services
    from app.jobs import JobRunner
    from app.service import Live
    from app.settings import Settings

    jobs = JobStore(tmp_path / "jobs.sqlite")
    gdf = gpd.read_file(io.BytesIO(sites_geojson(100)))
    sites = [(shapely.to_wkb(g), {"name": n}) for g, n in zip(gdf.geometry, gdf.name)]
    jid = jobs.create(sites, {"industry": "D4416", "action": "new", "edition": "2023"}, {"filename": "x"}, 20)
    services = Services(Settings(state_dir=tmp_path), Live(store, rules, industries))
    JobRunner(services, jobs).run(jid, max_chunks=2)  # then the process "dies"
    assert jobs.state(jid) == "running" and jobs.chunk_count(jid) == 2
    first = jobs.results(jid)
    JobStore(tmp_path / "jobs.sqlite")  # a new process opens the same database
    assert jobs.pending() == [jid]
    JobRunner(services, jobs).run(jid)
    assert jobs.state(jid) == "done" and jobs.chunk_count(jid) == 5
    rows = jobs.results(jid)
    assert [r["index"] for r in rows] == list(range(100))
    by_index = {r["index"]: r for r in rows}
    assert all(by_index[r["index"]] == r for r in first)  # the finished chunks were kept, not redone


def test_cancel(client):
    from app.jobs import JobRunner

    runner = client.app.state.services.runner
    client.app.state.services.runner = None  # submit without waking the runner
    try:
        r = client.post("/v1/jobs/assess", files={"file": ("s.geojson", sites_geojson(30))},
                        data={"industry": "C3120", "chunk_size": "10"}).json()
        jid = r["id"]
        assert client.post(f"/v1/jobs/{jid}/cancel").status_code == 401  # a write: not anonymous
        assert client.post(f"/v1/jobs/{jid}/cancel", headers=ADMIN).json()["state"] in ("cancelled", "done")
        JobRunner(client.app.state.services, client.app.state.services.jobs).run(jid)
        job = client.get(f"/v1/jobs/{jid}").json()
        if job["state"] == "cancelled":
            assert client.get(f"/v1/jobs/{jid}/results.csv").status_code == 409
    finally:
        client.app.state.services.runner = runner


def test_kill_9_and_restart_finishes_the_job(tmp_path):
    """A real server killed with SIGKILL mid-job; a new server resumes and finishes it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PORT": str(port), "ZONING_STATE_DIR": str(tmp_path)}
    url = f"http://127.0.0.1:{port}"

    def start():
        p = subprocess.Popen([sys.executable, "-m", "app"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1)
                return p
            except OSError:
                time.sleep(0.1)
        raise AssertionError("server did not start")

    import httpx

    proc = start()
    try:
        r = httpx.post(f"{url}/v1/jobs/assess", files={"file": ("s.geojson", sites_geojson(3000))},
                       data={"industry": "C3120", "chunk_size": "10"}, timeout=120)
        assert r.status_code == 202, r.text
        jid = r.json()["id"]
        while httpx.get(f"{url}/v1/jobs/{jid}").json()["chunks_done"] < 3:
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        before = JobStore(tmp_path / "jobs.sqlite").get(jid)
        assert before["state"] == "running" and 0 < before["chunks_done"] < before["chunks_total"]
        proc = start()
        deadline = time.monotonic() + 180
        while (job := httpx.get(f"{url}/v1/jobs/{jid}").json())["state"] != "done":
            assert time.monotonic() < deadline and job["state"] == "running", job
            time.sleep(0.2)
        rows = json.loads(httpx.get(f"{url}/v1/jobs/{jid}/results.geojson", timeout=60).text)["features"]
        assert [f["id"] for f in rows] == list(range(3000))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)


def test_cli_batch_with_progress(tmp_path):
    sites = tmp_path / "sites.geojson"
    sites.write_bytes(sites_geojson(120))
    out = tmp_path / "results.gpkg"
    env = {**os.environ, "ZONING_STATE_DIR": str(tmp_path / "state")}
    r = subprocess.run([sys.executable, "-m", "app.cli", "batch", str(sites), "--industry", "C3120",
                        "--chunk-size", "40", "--out", str(out)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "120/120 sites" in r.stderr and "results written" in r.stderr
    df = pyogrio.read_dataframe(out)
    assert len(df) == 120 and set(df["verdict"]) <= {"prohibited", "conditional", "permitted", "undetermined"}
    bad = subprocess.run([sys.executable, "-m", "app.cli", "batch", str(sites), "--industry", "Q0000",
                          "--out", str(out)], capture_output=True, text=True, env=env)
    assert bad.returncode == 2


def test_dask_local_cluster_gives_identical_results(tmp_path, store, rules, industries):
    """A LocalCluster of 2 worker processes, layers loaded once per worker by the plugin:
    the same rows as the single-process runner."""
    from distributed import LocalCluster

    from app.deps import Services
    from app.distributed import connect
    from app.jobs import JobRunner
    from app.settings import Settings

    gdf = gpd.read_file(io.BytesIO(sites_geojson(400, seed=11)))
    sites = [(shapely.to_wkb(g), {"name": n}) for g, n in zip(gdf.geometry, gdf.name)]
    params = {"industry": "D4416", "action": "new", "edition": "2023"}
    settings = Settings(state_dir=tmp_path)
    services = Services(settings, Live(store, rules, industries))
    local = JobStore(tmp_path / "local.sqlite")
    a = local.create(sites, params, {"filename": "x"}, 50)
    JobRunner(services, local).run(a)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        client = connect(cluster.scheduler_address, settings)
        try:
            remote = JobStore(tmp_path / "remote.sqlite")
            b = remote.create(sites, params, {"filename": "x"}, 50)
            JobRunner(services, remote, dask_client=client).run(b)
            workers = client.run(lambda dask_worker: hasattr(dask_worker, "zoning_live"))
            assert len(workers) == 2 and all(workers.values())
        finally:
            client.close()
    assert remote.state(b) == "done"
    assert remote.results(b) == local.results(a)


def test_cli_batch_on_a_dask_scheduler(tmp_path):
    from distributed import LocalCluster

    sites = tmp_path / "sites.geojson"
    sites.write_bytes(sites_geojson(90))
    out = tmp_path / "r.csv"
    env = {**os.environ, "ZONING_STATE_DIR": str(tmp_path / "state")}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        r = subprocess.run([sys.executable, "-m", "app.cli", "batch", str(sites), "--industry", "C3120",
                            "--chunk-size", "20", "--dask", cluster.scheduler_address, "--out", str(out)],
                           capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "on Dask" in r.stderr and len(out.read_text(encoding="utf-8-sig").splitlines()) == 91


def test_chunks_are_spatially_compact(tmp_path):
    """Sites are chunked in Hilbert order: a chunk's sites are neighbours, whatever the input
    order; results still come back in input order."""
    jobs = JobStore(tmp_path / "jobs.sqlite")
    gdf = gpd.read_file(io.BytesIO(sites_geojson(400, seed=3)))
    sites = [(shapely.to_wkb(g), {}) for g in gdf.geometry]
    jid = jobs.create(sites, {"industry": "C3120", "action": "new", "edition": "2023"}, {"filename": "x"}, 50)

    def mean_extent(chunks):
        areas = [shapely.union_all(shapely.from_wkb([w for _, w, _ in c])).envelope.area for c in chunks]
        return float(np.mean(areas))

    spatial = [jobs.chunk_sites(jid, c, 50) for c in range(8)]
    assert sorted(i for c in spatial for i, _, _ in c) == list(range(400))  # every site once
    by_input = [[(i, sites[i][0], {}) for i in range(k * 50, (k + 1) * 50)] for k in range(8)]
    assert mean_extent(spatial) < 0.25 * mean_extent(by_input)


def _pg_jobs(url, lease_s=30.0):
    return JobStore.open(None, url, lease_s=lease_s)


def test_jobs_and_records_in_postgresql(pg_database, store, rules, industries, tmp_path):
    """The same job store in PostgreSQL: resume after a "crash" without redoing chunks, and
    stored assessments in the same database."""
    from app.deps import Services
    from app.jobs import JobRunner
    from app.settings import Settings
    from app.state.records import AssessmentStore, RecordNotFound

    url = pg_database()
    jobs = _pg_jobs(url)
    gdf = gpd.read_file(io.BytesIO(sites_geojson(100)))
    sites = [(shapely.to_wkb(g), {"name": n}) for g, n in zip(gdf.geometry, gdf.name)]
    params = {"industry": "D4416", "action": "new", "edition": "2023"}
    jid = jobs.create(sites, params, {"filename": "x"}, 20)
    services = Services(Settings(state_dir=tmp_path, instance_id="a"), Live(store, rules, industries))
    JobRunner(services, jobs).run(jid, max_chunks=2)
    jobs.close()
    jobs = _pg_jobs(url)  # a new process
    assert jobs.pending() == [jid] and jobs.chunk_count(jid) == 2
    JobRunner(services, jobs).run(jid)
    assert jobs.state(jid) == "done" and jobs.get(jid)["done"] == 100
    local = JobStore(tmp_path / "jobs.sqlite")
    b = local.create(sites, params, {"filename": "x"}, 20)
    JobRunner(services, local).run(b)
    assert jobs.results(jid) == local.results(b)

    records = AssessmentStore.open(None, url)
    rid = records.add("upload", {"verdict": "permitted", "名称": "某项目"}, input_sha256="ab", filename="x.kml")
    again = AssessmentStore.open(None, url)
    assert again.get(rid)["名称"] == "某项目" and again.count() == 1
    with pytest.raises(RecordNotFound):
        again.get(rid, kind="siting")
    records.close(), again.close(), jobs.close()


def test_two_instances_share_a_job_by_lease(pg_database, store, rules, industries, tmp_path):
    """Two instances on one PostgreSQL job store: only the lease holder runs the job; when it
    dies, the other takes over after the lease runs out and finishes without redoing chunks."""
    from app.deps import Services
    from app.jobs import JobRunner
    from app.settings import Settings

    url = pg_database()
    a_jobs, b_jobs = _pg_jobs(url, lease_s=1.0), _pg_jobs(url, lease_s=1.0)
    gdf = gpd.read_file(io.BytesIO(sites_geojson(90)))
    sites = [(shapely.to_wkb(g), {}) for g in gdf.geometry]
    jid = a_jobs.create(sites, {"industry": "C3120", "action": "new", "edition": "2023"}, {"filename": "x"}, 15)
    a = JobRunner(Services(Settings(state_dir=tmp_path, instance_id="a"), Live(store, rules, industries)), a_jobs)
    b = JobRunner(Services(Settings(state_dir=tmp_path, instance_id="b"), Live(store, rules, industries)), b_jobs)
    a.run(jid, max_chunks=2)  # a holds the lease, then "dies"
    b.run(jid)
    assert b_jobs.chunk_count(jid) == 2 and b_jobs.get(jid)["owner"] == "a"  # b waited
    time.sleep(1.2)
    b.run(jid)
    job = b_jobs.get(jid)
    assert job["state"] == "done" and job["owner"] == "b" and job["chunks_done"] == 6
    owners = [r[0] for r in b_jobs.db.read("SELECT owner FROM job_chunks WHERE job_id = ? ORDER BY chunk", (jid,))]
    assert owners.count("a") == 2 and owners.count("b") == 4
    assert [r["index"] for r in b_jobs.results(jid)] == list(range(90))
    a_jobs.close(), b_jobs.close()


def test_service_keeps_state_in_postgresql(pg_database, store, rules, industries, tmp_path):
    """ZONING_STATE_DATABASE_URL: uploads' stored assessments and jobs go to PostgreSQL and are
    seen by a second app instance with another state folder."""
    from fastapi.testclient import TestClient

    from app.deps import Services
    from app.main import create_app
    from app.settings import Settings

    url = pg_database()

    def app(folder):
        settings = Settings(state_dir=tmp_path / folder, state_database_url=url, instance_id=folder)
        return create_app(settings, Services(settings, Live(store, rules, industries)))

    with TestClient(app("one")) as one:
        up = one.post("/v1/assess/upload", files={"file": ("s.geojson", sites_geojson(2))},
                      data={"industry": "C3120"})
        assert up.status_code == 200, up.text
        rid = up.json()["id"]
        r = one.post("/v1/jobs/assess", files={"file": ("s.geojson", sites_geojson(30))},
                     data={"industry": "C3120", "chunk_size": "10"})
        assert r.status_code == 202, r.text
        jid = r.json()["id"]
        job = wait_done(one, jid)
        assert job["state"] == "done"
    with TestClient(app("two")) as two:
        assert two.get(f"/v1/jobs/{jid}").json()["done"] == 30
        assert two.get(f"/v1/assessments/{rid}").status_code == 200
        assert len(two.get(f"/v1/jobs/{jid}/results.geojson").json()["features"]) == 30
    assert not any((tmp_path / d / f).exists() for d in ("one", "two") for f in ("jobs.sqlite", "assessments.sqlite"))


def test_a_job_store_from_before_leases_is_upgraded(tmp_path, store, rules, industries):
    """A jobs.sqlite written before leases and spatial chunks opens, gains the columns, and
    its unfinished job resumes in the old (input) chunk order."""
    import sqlite3

    from app.deps import Services
    from app.jobs import JobRunner
    from app.settings import Settings

    db = sqlite3.connect(tmp_path / "jobs.sqlite")
    db.executescript("""
        CREATE TABLE jobs (id TEXT PRIMARY KEY, created TEXT NOT NULL, state TEXT NOT NULL, total INTEGER NOT NULL,
            chunk_size INTEGER NOT NULL, params TEXT NOT NULL, upload TEXT NOT NULL, error TEXT, started TEXT, finished TEXT);
        CREATE TABLE job_sites (job_id TEXT NOT NULL, idx INTEGER NOT NULL, wkb BLOB NOT NULL, props TEXT NOT NULL,
            PRIMARY KEY (job_id, idx));
        CREATE TABLE job_chunks (job_id TEXT NOT NULL, chunk INTEGER NOT NULL, results TEXT NOT NULL,
            seconds REAL NOT NULL, finished TEXT NOT NULL, PRIMARY KEY (job_id, chunk));""")
    gdf = gpd.read_file(io.BytesIO(sites_geojson(30)))
    db.execute("INSERT INTO jobs VALUES ('old', '2026-01-01T00:00:00', 'running', 30, 10, ?, '{}', NULL, NULL, NULL)",
               (json.dumps({"industry": "C3120", "action": "new", "edition": "2023"}),))
    db.executemany("INSERT INTO job_sites VALUES ('old', ?, ?, '{}')",
                   [(i, shapely.to_wkb(g)) for i, g in enumerate(gdf.geometry)])
    db.commit()
    db.close()
    jobs = JobStore(tmp_path / "jobs.sqlite")
    assert [i for i, _, _ in jobs.chunk_sites("old", 1, 10)] == list(range(10, 20))
    JobRunner(Services(Settings(state_dir=tmp_path), Live(store, rules, industries)), jobs).run("old")
    assert jobs.state("old") == "done" and [r["index"] for r in jobs.results("old")] == list(range(30))


def test_dask_job_judges_with_the_versions_in_force(tmp_path):
    """A layer version and a rules version published after the workers started: a job on the
    cluster gets the published answers (the workers load them), the same rows as one process."""
    from distributed import LocalCluster

    from app.distributed import connect
    from app.jobs import JobRunner
    from app.service import assemble
    from app.settings import Settings
    from layers.ingest import Limits
    from layers.versions import publish
    from tests.test_versions import gpkg_bytes
    from zoning.rules import RULES_DIR

    settings = Settings(state_dir=tmp_path / "state")
    reds = gpd.read_file("data/sample/red_lines.gpkg")
    inside = [reds.geometry.iloc[i].representative_point() for i in range(12)]
    sites = [(shapely.to_wkb(shapely.Point(p.x, p.y).buffer(0.001)), {"n": i}) for i, p in enumerate(inside)]
    params = {"industry": "C3120", "action": "new", "edition": "2023"}
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        client = connect(cluster.scheduler_address, settings)
        try:
            services = assemble(settings)
            before = services.judging.versions()

            def held(dask_worker):
                live = getattr(dask_worker, "zoning_live", None)
                return live and live.judging().versions()

            deadline = time.monotonic() + 60
            while not all(client.run(held).values()):  # the plugin sets the worker up
                assert time.monotonic() < deadline
                time.sleep(0.2)
            assert list(client.run(held).values()) == [before]  # the original versions
            publish(services.live.store, "red_lines", gpkg_bytes(reds.iloc[12:]), "r.gpkg", actor="t",
                    limits=Limits(max_features=100_000, max_vertices=50_000_000,
                                  max_vertices_per_feature=50_000_000, max_bytes=500 * 2**20))
            two_high = yaml.safe_load((RULES_DIR / "two_high.yaml").read_text(encoding="utf-8"))
            two_high["rules"] = [r for r in two_high["rules"] if r["id"] != "two_high.approval_requirements"]
            services.rules_registry.publish("two_high.yaml", yaml.safe_dump(two_high, allow_unicode=True).encode(), "t")
            services = assemble(settings)  # what a process started now judges with
            jobs = JobStore(tmp_path / "jobs.sqlite")
            remote = jobs.create(sites, params, {"filename": "x"}, 4)
            JobRunner(services, jobs, dask_client=client).run(remote)
            assert list(client.run(held).values()) == [services.judging.versions()] != [before]
        finally:
            client.close()
    local = jobs.create(sites, params, {"filename": "x"}, 4)
    JobRunner(services, jobs).run(local)
    assert jobs.state(remote) == "done"
    rows = jobs.results(remote)
    assert rows == jobs.results(local)
    reasons = ";".join(r["reasons"] for r in rows)
    assert "two_high.approval_requirements" not in reasons and "capacity.steel_ban" in reasons
