"""Stored assessments, in the state database (embedded SQLite by default, PostgreSQL for
several instances; see ``layers.statedb``): each record a JSON document with its id, time,
kind and the sha256 of the input it judged. A write is all or nothing; readers never see
half a record."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path

from layers.errors import NotFound, TooManyRequests
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


ANONYMOUS = "anon:"  # owner prefix of records stored for callers without a key


@dataclass(frozen=True)
class Quota:
    """Bounds on the records of callers without a key (owner ``anon:<address>``): at most
    ``per_owner`` each and ``total`` together; theirs expire after ``ttl_s``."""

    per_owner: int = 100
    total: int = 10_000
    ttl_s: float = 24 * 3600.0


class QuotaExceeded(TooManyRequests):
    """An anonymous caller's stored results are at their bound (429, Retry-After)."""

    status, retry_after = 429, 60


class RecordNotFound(NotFound):
    status = 404

    def __str__(self) -> str:
        return f"no stored assessment {self.args[0]!r}"


class AssessmentStore:
    def __init__(self, db: StateDB | str | Path):
        """``db``: an open state database, or a SQLite file path."""
        self.db = db if isinstance(db, StateDB) else SQLiteDB(db, SCHEMA)
        self.db.add_columns("assessments", {"owner": "TEXT"})  # stores from before quotas
        self.db.tx(lambda c: c.execute("CREATE INDEX IF NOT EXISTS assessments_owner ON assessments (owner, created)"))

    @classmethod
    def open(cls, state_dir: str | Path | None, url: str | None = None) -> AssessmentStore:
        return cls(open_state_db("assessments", SCHEMA, state_dir, url))

    def close(self) -> None:
        self.db.close()

    def add(self, kind: str, body: dict, input_sha256: str | None = None, filename: str | None = None,
            owner: str | None = None, quota: Quota | None = None) -> str:
        """Store a record. With ``quota`` (an anonymous ``owner``), expired anonymous records
        go first, and a caller or the whole anonymous public at its bound gets
        :class:`QuotaExceeded`, in the same transaction as the write."""
        rid, created = uuid.uuid4().hex, now()
        doc = {**body, "id": rid, "created": created}

        def write(db):
            if quota is not None:
                _within_quota(db, owner, quota)
            db.execute(
                "INSERT INTO assessments (id, created, kind, input_sha256, filename, body, owner) "
                "VALUES (?,?,?,?,?,?,?)",
                (rid, created, kind, input_sha256, filename, json.dumps(doc, ensure_ascii=False), owner))

        self.db.tx(write)
        return rid

    def check_quota(self, owner: str, quota: Quota) -> None:
        """Raise :class:`QuotaExceeded` now, before the work whose result would not be kept."""
        self.db.tx(lambda db: _within_quota(db, owner, quota))

    def get(self, rid: str, kind: str | None = None) -> dict:
        """The record ``rid``; with ``kind``, only a record of that kind (an upload assessment
        is not a siting result, and asking for one by the other's id is a 404)."""
        rows = self.db.read("SELECT kind, body FROM assessments WHERE id = ?", (rid,))
        if not rows or (kind is not None and rows[0][0] != kind):
            raise RecordNotFound(rid)
        return json.loads(rows[0][1])

    def count(self) -> int:
        return self.db.read("SELECT count(*) FROM assessments")[0][0]


def _within_quota(db, owner: str, quota: Quota) -> None:
    """Drop expired anonymous records, then raise when ``owner`` or the anonymous public is at
    its bound."""
    db.execute("DELETE FROM assessments WHERE owner LIKE ? AND created < ?",
               (ANONYMOUS + "%", now(-quota.ttl_s)))
    mine = db.execute("SELECT count(*) FROM assessments WHERE owner = ?", (owner,)).fetchone()[0]
    if mine >= quota.per_owner:
        raise QuotaExceeded(f"this address has {mine} stored results, the most kept without an API "
                            f"key (anonymous_records_per_client); they expire after "
                            f"{quota.ttl_s / 3600:g} h")
    public = db.execute("SELECT count(*) FROM assessments WHERE owner LIKE ?",
                        (ANONYMOUS + "%",)).fetchone()[0]
    if public >= quota.total:
        raise QuotaExceeded(f"{public} results of callers without a key are stored, the most kept "
                            "(anonymous_records_total); send an API key or retry later")
