"""The embedded database under the service's state folder: one SQLite file per store, WAL,
a lock per connection, and writes as single transactions (all or nothing)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class SQLiteStore:
    def __init__(self, path: str | Path, schema: str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(schema)

    def _tx(self, fn):
        """Run ``fn(db)`` in one IMMEDIATE transaction; roll back on any error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = fn(self._db)
                self._db.execute("COMMIT")
                return out
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()
