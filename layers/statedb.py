"""The service's own state (stored assessments, batch jobs): one small SQL interface, two
databases. Embedded by default — one SQLite file per store under the state folder, WAL — or
PostgreSQL when the deployment runs several instances (``ZONING_STATE_DATABASE_URL``, which
defaults to ``ZONING_DATABASE_URL``). Stores write SQL with ``?`` placeholders and the
portable subset both speak (``ON CONFLICT DO NOTHING``, ``coalesce``); schemas name binary
columns ``BLOB``, which PostgreSQL spells ``BYTEA``. Every write is one transaction."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import threading
import time
from pathlib import Path


def now(offset_s: float = 0) -> str:
    """UTC time as ISO text (sortable as text in both databases)."""
    t = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset_s)
    return t.isoformat(timespec="milliseconds")


class StateDB:
    """``tx(fn)`` runs ``fn(cursor)`` in one transaction (rolled back on any error);
    ``read(sql, params)`` returns rows. The cursor has ``execute`` (returning the cursor, with
    ``rowcount``), ``executemany`` and ``fetchone``/``fetchall``."""

    kind: str

    def tx(self, fn):
        raise NotImplementedError

    def read(self, sql: str, params: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def columns(self, table: str) -> set[str]:
        """The column names of ``table`` (empty when it does not exist)."""
        raise NotImplementedError

    def add_columns(self, table: str, columns: dict[str, str]) -> list[str]:
        """Add the columns (name: SQL type and default) that ``table`` lacks — a store's schema
        grows by added columns only. Returns the names added."""
        missing = [c for c in columns if c not in self.columns(table)]
        if missing:
            self.tx(lambda db: [db.execute(f"ALTER TABLE {table} ADD COLUMN {c} {columns[c]}") for c in missing])
        return missing


class SQLiteDB(StateDB):
    kind = "sqlite"

    def __init__(self, path: str | Path, schema: str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout=10000")
        deadline = time.monotonic() + 10
        while True:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                # processes opening the file at once (Dask workers setting up): SQLite refuses
                # a connection's switch to WAL while another holds a lock, without waiting on
                # busy_timeout (it could deadlock), so the switch is tried again
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(schema)

    def tx(self, fn):
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                out = fn(self._db.cursor())
                self._db.execute("COMMIT")
                return out
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def columns(self, table: str) -> set[str]:
        return {r[1] for r in self.read(f"PRAGMA table_info({table})")}


_PLACEHOLDER = re.compile(r"\?")


def _pg(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (no store writes a literal ``?`` or ``%``)."""
    assert "%" not in sql, "state SQL must not contain '%'"
    return _PLACEHOLDER.sub("%s", sql)


class _PGCursor:
    def __init__(self, cur):
        self._cur = cur

    def execute(self, sql: str, params: tuple = ()):
        self._cur.execute(_pg(sql), params)
        return self

    def executemany(self, sql: str, rows) -> None:
        self._cur.executemany(_pg(sql), rows)

    def fetchone(self):
        return self._cur.fetchone()

    def fetchall(self):
        return self._cur.fetchall()

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount


class PostgresDB(StateDB):
    """The state tables in one PostgreSQL schema (``zoning_state`` by default), shared by all
    instances; created on first use under an advisory lock so that instances starting together
    do not race."""

    kind = "postgres"

    def __init__(self, url: str, schema_sql: str, schema: str = "zoning_state", pool_size: int = 4):
        import psycopg
        from psycopg_pool import ConnectionPool

        if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
            raise ValueError(f"bad schema name {schema!r}")
        psycopg.connect(url, connect_timeout=10).close()  # fail now, with the server's own words
        self.schema = schema
        self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=True,
                                   kwargs={"options": f"-c search_path={schema}"})
        ddl = schema_sql.replace("BLOB", "BYTEA")
        with self.pool.connection() as con:
            con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"zoning-state-{schema}",))
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for stmt in filter(str.strip, ddl.split(";")):
                con.execute(stmt)

    def tx(self, fn):
        with self.pool.connection() as con, con.transaction(), con.cursor() as cur:
            return fn(_PGCursor(cur))

    def read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.pool.connection() as con:
            rows = con.execute(_pg(sql), params).fetchall()
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]

    def close(self) -> None:
        self.pool.close()

    def columns(self, table: str) -> set[str]:
        return {r[0] for r in self.read("SELECT column_name FROM information_schema.columns "
                                        "WHERE table_schema = ? AND table_name = ?", (self.schema, table))}


def open_state_db(name: str, schema_sql: str, state_dir: str | Path | None = None,
                  url: str | None = None) -> StateDB:
    """PostgreSQL at ``url`` when given, else ``state_dir/name.sqlite``."""
    if url:
        return PostgresDB(url, schema_sql)
    if state_dir is None:
        raise ValueError("either a state folder or a database URL is needed")
    return SQLiteDB(Path(state_dir) / f"{name}.sqlite", schema_sql)
