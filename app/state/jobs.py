"""Persisted batch jobs: the job, its sites (WKB + attributes) and its results by chunk, in
the state database (embedded SQLite by default, PostgreSQL for several instances; see
``layers.statedb``). A chunk's results are written in one transaction, so after a crash or a
restart a job resumes at the first chunk without results: nothing finished is redone and
nothing is lost.

Sites are stored in input order (``idx``) and chunked in spatial order (``pos``, the rank of
each site's Hilbert distance, from dask-geopandas), so that a chunk's sites are neighbours:
each chunk touches few layer features, and on a Dask cluster each task gets a compact
partition. Results come back in input order.

Several instances may share one PostgreSQL job store: an instance runs a job only while it
holds the job's lease (``claim``), renewed with every chunk; a job whose holder died is taken
over when its lease runs out, and an instance that restarts (same ``owner``) resumes its own
jobs at once."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import shapely

from layers.errors import Conflict, NotFound
from layers.export import export_features
from layers.statedb import SQLiteDB, StateDB, now, open_state_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, state TEXT NOT NULL, total INTEGER NOT NULL,
    chunk_size INTEGER NOT NULL, params TEXT NOT NULL, upload TEXT NOT NULL, error TEXT,
    started TEXT, finished TEXT, owner TEXT, lease_until TEXT
);
CREATE TABLE IF NOT EXISTS job_sites (
    job_id TEXT NOT NULL, idx INTEGER NOT NULL, pos INTEGER NOT NULL, wkb BLOB NOT NULL,
    props TEXT NOT NULL, PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS job_chunks (
    job_id TEXT NOT NULL, chunk INTEGER NOT NULL, results TEXT NOT NULL, seconds REAL NOT NULL,
    finished TEXT NOT NULL, owner TEXT, PRIMARY KEY (job_id, chunk)
)
"""
STATES = ("queued", "running", "done", "failed", "cancelled")
JOB_COLUMNS = ("id", "created", "state", "total", "chunk_size", "params", "upload", "error", "started",
               "finished", "owner", "lease_until")


class JobNotFound(NotFound):
    status = 404

    def __str__(self) -> str:
        return f"no job {self.args[0]!r}"


class JobNotDone(Conflict):
    """The job's results are asked for before it finished."""

    status = 409


def spatial_order(wkbs: list[bytes]) -> np.ndarray:
    """Each site's position in Hilbert-curve order over the sites' extent (dask-geopandas'
    Hilbert distance of the bounding-box centres); ties keep input order."""
    if len(wkbs) < 2:
        return np.arange(len(wkbs))
    import dask_geopandas
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(geometry=shapely.from_wkb(wkbs))
    dist = dask_geopandas.from_geopandas(gdf, npartitions=1).hilbert_distance().compute().to_numpy()
    order = np.argsort(dist, kind="stable")
    pos = np.empty(len(wkbs), dtype=np.int64)
    pos[order] = np.arange(len(wkbs))
    return pos


class JobStore:
    def __init__(self, db: StateDB | str | Path, lease_s: float = 30.0):
        """``db``: an open state database, or a SQLite file path."""
        self.db = db if isinstance(db, StateDB) else SQLiteDB(db, SCHEMA)
        self.lease_s = lease_s
        # job stores written before leases and spatial chunks: add the columns, chunk as before
        self.db.add_columns("jobs", {"owner": "TEXT", "lease_until": "TEXT"})
        self.db.add_columns("job_chunks", {"owner": "TEXT"})
        if self.db.add_columns("job_sites", {"pos": "INTEGER"}):
            self.db.tx(lambda db: db.execute("UPDATE job_sites SET pos = idx WHERE pos IS NULL"))
        self.db.tx(lambda db: db.execute("CREATE INDEX IF NOT EXISTS job_sites_pos ON job_sites (job_id, pos)"))

    @classmethod
    def open(cls, state_dir: str | Path | None, url: str | None = None, lease_s: float = 30.0) -> JobStore:
        return cls(open_state_db("jobs", SCHEMA, state_dir, url), lease_s)

    def close(self) -> None:
        self.db.close()

    def create(self, sites: list[tuple[bytes, dict]], params: dict, upload: dict, chunk_size: int) -> str:
        jid = uuid.uuid4().hex
        pos = spatial_order([w for w, _ in sites])

        def write(db):
            db.execute("INSERT INTO jobs (id, created, state, total, chunk_size, params, upload) VALUES (?,?,?,?,?,?,?)",
                       (jid, now(), "queued", len(sites), chunk_size, json.dumps(params, ensure_ascii=False),
                        json.dumps(upload, ensure_ascii=False)))
            db.executemany("INSERT INTO job_sites (job_id, idx, pos, wkb, props) VALUES (?,?,?,?,?)",
                           [(jid, i, int(pos[i]), w, json.dumps(p, ensure_ascii=False))
                            for i, (w, p) in enumerate(sites)])
        self.db.tx(write)
        return jid

    def get(self, jid: str) -> dict:
        def read(db):
            row = db.execute(f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs WHERE id = ?", (jid,)).fetchone()
            if row is None:
                return None, None
            job = dict(zip(JOB_COLUMNS, row))
            last = -(-job["total"] // job["chunk_size"]) - 1  # the last chunk: the only one that may be short
            chunks = db.execute("SELECT count(*), coalesce(sum(seconds), 0), "
                                "coalesce(sum(CASE WHEN chunk = ? THEN 1 ELSE 0 END), 0) "
                                "FROM job_chunks WHERE job_id = ?", (last, jid)).fetchone()
            return job, chunks
        job, chunks = self.db.tx(read)
        if job is None:
            raise JobNotFound(jid)
        job["params"], job["upload"] = json.loads(job["params"]), json.loads(job["upload"])
        job["chunks_done"], job["seconds"] = chunks[0], float(chunks[1])
        job["chunks_total"] = -(-job["total"] // job["chunk_size"]) if job["total"] else 0
        has_last, short = int(chunks[2]), job["total"] - (job["chunks_total"] - 1) * job["chunk_size"]
        job["done"] = (chunks[0] - has_last) * job["chunk_size"] + has_last * short  # sites in finished chunks
        return job

    def pending(self) -> list[str]:
        """Jobs to (re)start: queued, or running when the service stopped."""
        return [r[0] for r in self.db.read("SELECT id FROM jobs WHERE state IN ('queued', 'running') ORDER BY created")]

    def claim(self, jid: str, owner: str) -> bool:
        """Take (or keep) the job for ``owner``: a queued job, one ``owner`` already holds, or
        one whose holder's lease ran out. True when ``owner`` now holds it."""
        t = now()

        def write(db):
            return db.execute(
                "UPDATE jobs SET state = 'running', owner = ?, lease_until = ?, started = coalesce(started, ?) "
                "WHERE id = ? AND (state = 'queued' OR (state = 'running' AND "
                "(owner IS NULL OR owner = ? OR lease_until IS NULL OR lease_until < ?)))",
                (owner, now(self.lease_s), t, jid, owner, t)).rowcount
        return self.db.tx(write) == 1

    def set_state(self, jid: str, state: str, error: str | None = None) -> None:
        assert state in STATES
        col = {"running": "started", "done": "finished", "failed": "finished", "cancelled": "finished"}.get(state)

        def write(db):
            if col == "started":
                db.execute("UPDATE jobs SET state = ?, started = coalesce(started, ?) WHERE id = ?", (state, now(), jid))
            elif col:  # a cancelled job stays cancelled
                db.execute("UPDATE jobs SET state = ?, finished = ?, error = ?, lease_until = NULL "
                           "WHERE id = ? AND state IN ('queued', 'running')", (state, now(), error, jid))
            else:
                db.execute("UPDATE jobs SET state = ? WHERE id = ?", (state, jid))
        self.db.tx(write)

    def cancel(self, jid: str) -> dict:
        def write(db):
            return db.execute("UPDATE jobs SET state = 'cancelled', finished = ?, lease_until = NULL "
                              "WHERE id = ? AND state IN ('queued', 'running')", (now(), jid)).rowcount
        self.db.tx(write)
        return self.get(jid)

    def state(self, jid: str) -> str:
        rows = self.db.read("SELECT state FROM jobs WHERE id = ?", (jid,))
        if not rows:
            raise JobNotFound(jid)
        return rows[0][0]

    def next_chunk(self, jid: str, taken: list[int] = ()) -> int | None:
        """The first chunk without results (and not in ``taken``)."""
        job = self.get(jid)
        done = {r[0] for r in self.db.read("SELECT chunk FROM job_chunks WHERE job_id = ?", (jid,))}
        skip = done | set(taken)
        return next((c for c in range(job["chunks_total"]) if c not in skip), None)

    def chunk_sites(self, jid: str, chunk: int, size: int) -> list[tuple[int, bytes, dict]]:
        """The sites of ``chunk`` (by spatial position) as (input index, WKB, attributes)."""
        rows = self.db.read("SELECT idx, wkb, props FROM job_sites WHERE job_id = ? AND pos >= ? AND pos < ? "
                            "ORDER BY pos", (jid, chunk * size, (chunk + 1) * size))
        return [(i, bytes(w), json.loads(p)) for i, w, p in rows]

    def save_chunk(self, jid: str, chunk: int, results: list[dict], seconds: float, owner: str | None = None) -> None:
        """Store a chunk's results (a chunk already stored is kept, not replaced) and renew
        ``owner``'s lease."""
        def write(db):
            db.execute("INSERT INTO job_chunks (job_id, chunk, results, seconds, finished, owner) "
                       "VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                       (jid, chunk, json.dumps(results, ensure_ascii=False), seconds, now(), owner))
            if owner is not None:
                db.execute("UPDATE jobs SET lease_until = ? WHERE id = ? AND owner = ? AND state = 'running'",
                           (now(self.lease_s), jid, owner))
        self.db.tx(write)

    def results(self, jid: str) -> list[dict]:
        """All results, in input order."""
        self.get(jid)
        rows = self.db.read("SELECT results FROM job_chunks WHERE job_id = ? ORDER BY chunk", (jid,))
        return sorted((r for (blob,) in rows for r in json.loads(blob)), key=lambda r: r["index"])

    def chunk_count(self, jid: str) -> int:
        return self.db.read("SELECT count(*) FROM job_chunks WHERE job_id = ?", (jid,))[0][0]


RESULT_COLUMNS = ["index", "verdict", "area_m2", "reasons", "prohibited_by", "zones", "synthetic", "error"]


def export_results(rows: list[dict], fmt: str) -> tuple[bytes, str]:
    """Result rows (index, geometry, properties, RESULT_COLUMNS) as GeoJSON, GeoPackage
    (EPSG:4490) or CSV; the sites' own attributes come along (prefixed ``attr_`` in tables)."""
    features = [{"type": "Feature", "id": r["index"], "geometry": r["geometry"],
                 "properties": {**{c: r[c] for c in RESULT_COLUMNS}, "attributes": r["properties"]}} for r in rows]
    attr_keys = sorted({k for r in rows for k in r["properties"]})
    return export_features(features, fmt, RESULT_COLUMNS + [f"attr_{k}" for k in attr_keys], "results",
                           flatten=lambda p: {**p, **{f"attr_{k}": v for k, v in p["attributes"].items()}})
