"""Persisted batch jobs (embedded SQLite, WAL): the job, its sites (WKB + attributes) and its
results by chunk. A chunk's results are written in one transaction, so after a crash or a
restart a job resumes at the first chunk without results: nothing finished is redone and
nothing is lost."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, state TEXT NOT NULL, total INTEGER NOT NULL,
    chunk_size INTEGER NOT NULL, params TEXT NOT NULL, upload TEXT NOT NULL, error TEXT,
    started TEXT, finished TEXT
);
CREATE TABLE IF NOT EXISTS job_sites (
    job_id TEXT NOT NULL, idx INTEGER NOT NULL, wkb BLOB NOT NULL, props TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
);
CREATE TABLE IF NOT EXISTS job_chunks (
    job_id TEXT NOT NULL, chunk INTEGER NOT NULL, results TEXT NOT NULL, seconds REAL NOT NULL,
    finished TEXT NOT NULL, PRIMARY KEY (job_id, chunk)
);
"""
STATES = ("queued", "running", "done", "failed", "cancelled")


class JobNotFound(KeyError):
    def __str__(self) -> str:
        return f"no job {self.args[0]!r}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class JobStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def _tx(self, fn):
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = fn(self._db)
                self._db.execute("COMMIT")
                return out
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def create(self, sites: list[tuple[bytes, dict]], params: dict, upload: dict, chunk_size: int) -> str:
        jid = uuid.uuid4().hex

        def write(db):
            db.execute("INSERT INTO jobs (id, created, state, total, chunk_size, params, upload) VALUES (?,?,?,?,?,?,?)",
                       (jid, _now(), "queued", len(sites), chunk_size, json.dumps(params, ensure_ascii=False),
                        json.dumps(upload, ensure_ascii=False)))
            db.executemany("INSERT INTO job_sites (job_id, idx, wkb, props) VALUES (?,?,?,?)",
                           [(jid, i, w, json.dumps(p, ensure_ascii=False)) for i, (w, p) in enumerate(sites)])
        self._tx(write)
        return jid

    def get(self, jid: str) -> dict:
        with self._lock:
            row = self._db.execute("SELECT id, created, state, total, chunk_size, params, upload, error, started, "
                                   "finished FROM jobs WHERE id = ?", (jid,)).fetchone()
            if row is None:
                raise JobNotFound(jid)
            chunks = self._db.execute("SELECT count(*), coalesce(sum(seconds), 0) FROM job_chunks WHERE job_id = ?",
                                      (jid,)).fetchone()
        keys = ("id", "created", "state", "total", "chunk_size", "params", "upload", "error", "started", "finished")
        job = dict(zip(keys, row))
        job["params"], job["upload"] = json.loads(job["params"]), json.loads(job["upload"])
        job["chunks_done"], job["seconds"] = chunks[0], chunks[1]
        job["chunks_total"] = -(-job["total"] // job["chunk_size"]) if job["total"] else 0
        job["done"] = min(job["total"], chunks[0] * job["chunk_size"])
        return job

    def pending(self) -> list[str]:
        """Jobs to (re)start: queued, or running when the service stopped."""
        with self._lock:
            return [r[0] for r in self._db.execute(
                "SELECT id FROM jobs WHERE state IN ('queued', 'running') ORDER BY created").fetchall()]

    def set_state(self, jid: str, state: str, error: str | None = None) -> None:
        assert state in STATES
        col = {"running": "started", "done": "finished", "failed": "finished", "cancelled": "finished"}.get(state)

        def write(db):
            if col == "started":
                db.execute("UPDATE jobs SET state = ?, started = coalesce(started, ?) WHERE id = ?", (state, _now(), jid))
            elif col:
                db.execute("UPDATE jobs SET state = ?, finished = ?, error = ? WHERE id = ?", (state, _now(), error, jid))
            else:
                db.execute("UPDATE jobs SET state = ? WHERE id = ?", (state, jid))
        self._tx(write)

    def cancel(self, jid: str) -> dict:
        job = self.get(jid)
        if job["state"] in ("queued", "running"):
            self.set_state(jid, "cancelled")
        return self.get(jid)

    def state(self, jid: str) -> str:
        with self._lock:
            row = self._db.execute("SELECT state FROM jobs WHERE id = ?", (jid,)).fetchone()
        if row is None:
            raise JobNotFound(jid)
        return row[0]

    def next_chunk(self, jid: str) -> int | None:
        job = self.get(jid)
        with self._lock:
            done = {r[0] for r in self._db.execute("SELECT chunk FROM job_chunks WHERE job_id = ?", (jid,))}
        return next((c for c in range(job["chunks_total"]) if c not in done), None)

    def next_chunk_after(self, jid: str, taken: list[int]) -> int | None:
        """The first chunk without results that is not in ``taken``."""
        job = self.get(jid)
        with self._lock:
            done = {r[0] for r in self._db.execute("SELECT chunk FROM job_chunks WHERE job_id = ?", (jid,))}
        skip = done | set(taken)
        return next((c for c in range(job["chunks_total"]) if c not in skip), None)

    def chunk_sites(self, jid: str, chunk: int, size: int) -> list[tuple[int, bytes, dict]]:
        with self._lock:
            rows = self._db.execute("SELECT idx, wkb, props FROM job_sites WHERE job_id = ? AND idx >= ? AND idx < ? "
                                    "ORDER BY idx", (jid, chunk * size, (chunk + 1) * size)).fetchall()
        return [(i, bytes(w), json.loads(p)) for i, w, p in rows]

    def save_chunk(self, jid: str, chunk: int, results: list[dict], seconds: float) -> None:
        self._tx(lambda db: db.execute(
            "INSERT OR IGNORE INTO job_chunks (job_id, chunk, results, seconds, finished) VALUES (?,?,?,?,?)",
            (jid, chunk, json.dumps(results, ensure_ascii=False), seconds, _now())))

    def results(self, jid: str) -> list[dict]:
        self.get(jid)
        with self._lock:
            rows = self._db.execute("SELECT results FROM job_chunks WHERE job_id = ? ORDER BY chunk", (jid,)).fetchall()
        return [r for (blob,) in rows for r in json.loads(blob)]

    def chunk_count(self, jid: str) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM job_chunks WHERE job_id = ?", (jid,)).fetchone()[0]


RESULT_COLUMNS = ["index", "verdict", "area_m2", "reasons", "prohibited_by", "zones", "synthetic", "error"]
MEDIA = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3", "csv": "text/csv"}


def export_results(rows: list[dict], fmt: str) -> tuple[bytes, str]:
    """Result rows (index, geometry, properties, RESULT_COLUMNS) as GeoJSON, GeoPackage
    (EPSG:4490) or CSV; the sites' own attributes come along (prefixed ``attr_`` in tables)."""
    import csv
    import io
    import tempfile

    attr_keys = sorted({k for r in rows for k in r["properties"]})
    if fmt == "geojson":
        fc = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": r["index"], "geometry": r["geometry"],
             "properties": {**{c: r[c] for c in RESULT_COLUMNS}, "attributes": r["properties"]}} for r in rows]}
        return json.dumps(fc, ensure_ascii=False).encode(), MEDIA[fmt]
    flat = [{**{c: r[c] for c in RESULT_COLUMNS}, **{f"attr_{k}": r["properties"].get(k) for k in attr_keys}}
            for r in rows]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=RESULT_COLUMNS + [f"attr_{k}" for k in attr_keys])
        w.writeheader()
        w.writerows(flat)
        return buf.getvalue().encode("utf-8-sig"), MEDIA[fmt]
    if fmt != "gpkg":
        raise ValueError(f"format must be geojson, gpkg or csv; got {fmt!r}")
    import geopandas as gpd
    import shapely.geometry

    gdf = gpd.GeoDataFrame(flat, geometry=[shapely.geometry.shape(r["geometry"]) for r in rows], crs="EPSG:4490")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "results.gpkg"
        gdf.to_file(path, layer="results", driver="GPKG")
        return path.read_bytes(), MEDIA[fmt]
