"""Stored assessments, in the state database (embedded SQLite by default, PostgreSQL for
several instances; see ``layers.statedb``): each record a JSON document with its id, time,
kind and the sha256 of the input it judged. A write is all or nothing; readers never see
half a record."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from layers.statedb import SQLiteDB, StateDB, now, open_state_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS assessments (
    id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    kind TEXT NOT NULL,
    input_sha256 TEXT,
    filename TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS assessments_created ON assessments (created)
"""


class RecordNotFound(KeyError):
    def __str__(self) -> str:
        return f"no stored assessment {self.args[0]!r}"


class AssessmentStore:
    def __init__(self, db: StateDB | str | Path):
        """``db``: an open state database, or a SQLite file path."""
        self.db = db if isinstance(db, StateDB) else SQLiteDB(db, SCHEMA)

    @classmethod
    def open(cls, state_dir: str | Path | None, url: str | None = None) -> AssessmentStore:
        return cls(open_state_db("assessments", SCHEMA, state_dir, url))

    def close(self) -> None:
        self.db.close()

    def add(self, kind: str, body: dict, input_sha256: str | None = None, filename: str | None = None) -> str:
        rid, created = uuid.uuid4().hex, now()
        doc = {**body, "id": rid, "created": created}
        self.db.tx(lambda db: db.execute(
            "INSERT INTO assessments (id, created, kind, input_sha256, filename, body) VALUES (?,?,?,?,?,?)",
            (rid, created, kind, input_sha256, filename, json.dumps(doc, ensure_ascii=False))))
        return rid

    def get(self, rid: str, kind: str | None = None) -> dict:
        """The record ``rid``; with ``kind``, only a record of that kind (an upload assessment
        is not a siting result, and asking for one by the other's id is a 404)."""
        rows = self.db.read("SELECT kind, body FROM assessments WHERE id = ?", (rid,))
        if not rows or (kind is not None and rows[0][0] != kind):
            raise RecordNotFound(rid)
        return json.loads(rows[0][1])

    def count(self) -> int:
        return self.db.read("SELECT count(*) FROM assessments")[0][0]
