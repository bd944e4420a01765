"""Stored assessments: an embedded SQLite database (WAL, one transaction per write), each
record a JSON document with its id, time, kind and the sha256 of the input it judged. A
write is all or nothing; readers never see half a record."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS assessments (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    kind TEXT NOT NULL,
    input_sha256 TEXT,
    filename TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS assessments_created ON assessments (created);
"""


class RecordNotFound(KeyError):
    def __str__(self) -> str:
        return f"no stored assessment {self.args[0]!r}"


class AssessmentStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def add(self, kind: str, body: dict, input_sha256: str | None = None, filename: str | None = None) -> str:
        rid = uuid.uuid4().hex
        created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        doc = {**body, "id": rid, "created": created}
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT INTO assessments (id, created, kind, input_sha256, filename, body) VALUES (?,?,?,?,?,?)",
                    (rid, created, kind, input_sha256, filename, json.dumps(doc, ensure_ascii=False)),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return rid

    def get(self, rid: str) -> dict:
        with self._lock:
            row = self._db.execute("SELECT body FROM assessments WHERE id = ?", (rid,)).fetchone()
        if row is None:
            raise RecordNotFound(rid)
        return json.loads(row[0])

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM assessments").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
