"""Persisted batch jobs (embedded SQLite, WAL): the job, its sites (WKB + attributes) and its
results by chunk. A chunk's results are written in one transaction, so after a crash or a
restart a job resumes at the first chunk without results: nothing finished is redone and
nothing is lost."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from layers.export import export_features
from layers.sqlite import SQLiteStore, now

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


class JobStore(SQLiteStore):
    def __init__(self, path: str | Path):
        super().__init__(path, SCHEMA)

    def create(self, sites: list[tuple[bytes, dict]], params: dict, upload: dict, chunk_size: int) -> str:
        jid = uuid.uuid4().hex

        def write(db):
            db.execute("INSERT INTO jobs (id, created, state, total, chunk_size, params, upload) VALUES (?,?,?,?,?,?,?)",
                       (jid, now(), "queued", len(sites), chunk_size, json.dumps(params, ensure_ascii=False),
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
        return [r[0] for r in self._read("SELECT id FROM jobs WHERE state IN ('queued', 'running') ORDER BY created")]

    def set_state(self, jid: str, state: str, error: str | None = None) -> None:
        assert state in STATES
        col = {"running": "started", "done": "finished", "failed": "finished", "cancelled": "finished"}.get(state)

        def write(db):
            if col == "started":
                db.execute("UPDATE jobs SET state = ?, started = coalesce(started, ?) WHERE id = ?", (state, now(), jid))
            elif col:
                db.execute("UPDATE jobs SET state = ?, finished = ?, error = ? WHERE id = ?", (state, now(), error, jid))
            else:
                db.execute("UPDATE jobs SET state = ? WHERE id = ?", (state, jid))
        self._tx(write)

    def cancel(self, jid: str) -> dict:
        job = self.get(jid)
        if job["state"] in ("queued", "running"):
            self.set_state(jid, "cancelled")
        return self.get(jid)

    def state(self, jid: str) -> str:
        rows = self._read("SELECT state FROM jobs WHERE id = ?", (jid,))
        if not rows:
            raise JobNotFound(jid)
        return rows[0][0]

    def next_chunk(self, jid: str, taken: list[int] = ()) -> int | None:
        """The first chunk without results (and not in ``taken``)."""
        job = self.get(jid)
        done = {r[0] for r in self._read("SELECT chunk FROM job_chunks WHERE job_id = ?", (jid,))}
        skip = done | set(taken)
        return next((c for c in range(job["chunks_total"]) if c not in skip), None)

    def chunk_sites(self, jid: str, chunk: int, size: int) -> list[tuple[int, bytes, dict]]:
        rows = self._read("SELECT idx, wkb, props FROM job_sites WHERE job_id = ? AND idx >= ? AND idx < ? "
                          "ORDER BY idx", (jid, chunk * size, (chunk + 1) * size))
        return [(i, bytes(w), json.loads(p)) for i, w, p in rows]

    def save_chunk(self, jid: str, chunk: int, results: list[dict], seconds: float) -> None:
        self._tx(lambda db: db.execute(
            "INSERT OR IGNORE INTO job_chunks (job_id, chunk, results, seconds, finished) VALUES (?,?,?,?,?)",
            (jid, chunk, json.dumps(results, ensure_ascii=False), seconds, now())))

    def results(self, jid: str) -> list[dict]:
        self.get(jid)
        rows = self._read("SELECT results FROM job_chunks WHERE job_id = ? ORDER BY chunk", (jid,))
        return [r for (blob,) in rows for r in json.loads(blob)]

    def chunk_count(self, jid: str) -> int:
        return self._read("SELECT count(*) FROM job_chunks WHERE job_id = ?", (jid,))[0][0]


RESULT_COLUMNS = ["index", "verdict", "area_m2", "reasons", "prohibited_by", "zones", "synthetic", "error"]


def export_results(rows: list[dict], fmt: str) -> tuple[bytes, str]:
    """Result rows (index, geometry, properties, RESULT_COLUMNS) as GeoJSON, GeoPackage
    (EPSG:4490) or CSV; the sites' own attributes come along (prefixed ``attr_`` in tables)."""
    features = [{"type": "Feature", "id": r["index"], "geometry": r["geometry"],
                 "properties": {**{c: r[c] for c in RESULT_COLUMNS}, "attributes": r["properties"]}} for r in rows]
    attr_keys = sorted({k for r in rows for k in r["properties"]})
    return export_features(features, fmt, RESULT_COLUMNS + [f"attr_{k}" for k in attr_keys], "results",
                           flatten=lambda p: {**p, **{f"attr_{k}": v for k, v in p["attributes"].items()}})
