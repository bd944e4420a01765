"""The SQLite state files (jobs, records, rules, layer versions) opened by several processes at
once, as the Dask workers of one machine do when they set up."""

from __future__ import annotations

import time


def test_opening_waits_while_another_process_writes_the_new_file(tmp_path):
    """The race seen in CI ("database is locked" in a Dask worker's setup): a connection
    writing a new file holds a lock while this one asks for WAL, which SQLite refuses at once."""
    import sqlite3
    import threading

    from layers.statedb import SQLiteDB
    from zoning.rules_history import SCHEMA

    path = tmp_path / "rules.sqlite"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    threading.Timer(0.5, lambda: holder.execute("COMMIT")).start()
    t0 = time.monotonic()
    db = SQLiteDB(path, SCHEMA)
    assert db._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal" and time.monotonic() - t0 >= 0.4
    holder.close()
