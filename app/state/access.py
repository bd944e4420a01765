"""API keys and the audit log, in the state database.

Keys: ``zk_`` + 32 random bytes (URL-safe base64), shown once when made; only their SHA-256
is stored (a key is as strong as a random 256-bit secret, so a slow password hash adds
nothing). Each key has a name and a role: ``reader`` < ``editor`` < ``admin``.

Audit: one row per write and per assessment — when, who (key name, or ``anonymous``), what,
on which target, the input's SHA-256 and the result — chained by hash (each row's hash covers
the previous row's), so that an edited or deleted row breaks the chain (:meth:`AuditLog.verify`).
Rows are only ever inserted: the SQLite table has triggers that refuse UPDATE and DELETE, and
the PostgreSQL table has triggers that do the same (TRUNCATE included).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets

from layers.errors import NotFound, Unprocessable
from layers.statedb import StateDB, now, open_state_db

ROLES = ("reader", "editor", "admin")
RANK = {r: i for i, r in enumerate(ROLES)}
NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

KEYS_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, key_sha256 TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL,
    created TEXT NOT NULL, created_by TEXT NOT NULL, revoked TEXT
)
"""
AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, role TEXT, action TEXT NOT NULL,
    target TEXT, input_sha256 TEXT, result TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
)
"""
SQLITE_GUARDS = """
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END
"""
PG_GUARDS = """
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE OR REPLACE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()
"""


class AccessError(Unprocessable):
    """A key name or role that cannot be used."""

    status = 422


class KeyNotFound(NotFound):
    """No unrevoked key of that name."""

    status = 404

    def __str__(self) -> str:
        return f"no unrevoked key named {self.args[0]!r}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def open_access(state_dir, url: str | None = None) -> tuple[KeyStore, AuditLog]:
    """The key store and the audit log, in one state database (``access``)."""
    db = open_state_db("access", KEYS_SCHEMA + ";" + AUDIT_SCHEMA, state_dir, url)
    return KeyStore(db), AuditLog(db)


class KeyStore:
    def __init__(self, db: StateDB):
        self.db = db

    def create(self, name: str, role: str, created_by: str) -> str:
        """A new key (returned once, never stored)."""
        if not NAME.match(name):
            raise AccessError(f"key name {name!r}: 1-64 letters, digits and _.@-")
        if role not in ROLES:
            raise AccessError(f"role {role!r}: one of {', '.join(ROLES)}")
        key = "zk_" + secrets.token_urlsafe(32)

        def write(db):
            if db.execute("SELECT 1 FROM api_keys WHERE name = ?", (name,)).fetchone():
                raise AccessError(f"a key named {name!r} exists; revoke it or choose another name")
            db.execute("INSERT INTO api_keys (name, role, key_sha256, prefix, created, created_by) "
                       "VALUES (?,?,?,?,?,?)", (name, role, _digest(key), key[:7], now(), created_by))
        self.db.tx(write)
        return key

    def check(self, key: str) -> tuple[str, str] | None:
        """(name, role) of a valid, unrevoked key; None otherwise."""
        if not key or len(key) > 200:
            return None
        digest = _digest(key)
        rows = self.db.read("SELECT name, role, key_sha256 FROM api_keys WHERE key_sha256 = ? AND revoked IS NULL",
                            (digest,))
        if rows and hmac.compare_digest(rows[0][2], digest):
            return rows[0][0], rows[0][1]
        return None

    def list(self) -> list[dict]:
        rows = self.db.read("SELECT name, role, prefix, created, created_by, revoked FROM api_keys ORDER BY created")
        return [dict(zip(("name", "role", "prefix", "created", "created_by", "revoked"), r)) for r in rows]

    def revoke(self, name: str) -> None:
        if self.db.tx(lambda db: db.execute(
                "UPDATE api_keys SET revoked = ? WHERE name = ? AND revoked IS NULL", (now(), name)).rowcount) != 1:
            raise KeyNotFound(name)

    def count(self) -> int:
        return self.db.read("SELECT count(*) FROM api_keys WHERE revoked IS NULL")[0][0]


class AuditLog:
    def __init__(self, db: StateDB):
        self.db = db
        guards = PG_GUARDS if db.kind == "postgres" else SQLITE_GUARDS
        self.db.tx(lambda c: [c.execute(stmt) for stmt in filter(str.strip, guards.split(";\n"))])

    @staticmethod
    def _hash(prev: str, row: tuple) -> str:
        return hashlib.sha256((prev + json.dumps(row, ensure_ascii=False, sort_keys=True)).encode()).hexdigest()

    def append(self, actor: str, role: str | None, action: str, target: str | None = None,
               input_sha256: str | None = None, result: dict | None = None) -> int:
        body = json.dumps(result or {}, ensure_ascii=False, sort_keys=True, default=str)

        def write(db):
            last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, "")
            at = now()
            row = (seq, at, actor, role, action, target, input_sha256, body)
            db.execute("INSERT INTO audit (seq, at, actor, role, action, target, input_sha256, result, prev_hash, hash) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?)", (*row, prev, self._hash(prev, row)))
            return seq
        if self.db.kind == "postgres":  # one writer at a time keeps the chain a chain
            def locked(db):
                db.execute("LOCK TABLE audit IN EXCLUSIVE MODE")
                return write(db)
            return self.db.tx(locked)
        return self.db.tx(write)

    def entries(self, limit: int = 100, after: int = 0, action: str | None = None) -> list[dict]:
        sql = "SELECT seq, at, actor, role, action, target, input_sha256, result, hash FROM audit WHERE seq > ?"
        params: tuple = (after,)
        if action:
            sql += " AND action = ?"
            params += (action,)
        rows = self.db.read(sql + " ORDER BY seq LIMIT ?", (*params, limit))
        keys = ("seq", "at", "actor", "role", "action", "target", "input_sha256", "result", "hash")
        return [{**dict(zip(keys, r)), "result": json.loads(r[7])} for r in rows]

    def verify(self) -> tuple[bool, int | None]:
        """(intact, first broken seq): recompute the chain."""
        prev, expect = "", 1
        for r in self.db.read("SELECT seq, at, actor, role, action, target, input_sha256, result, prev_hash, hash "
                              "FROM audit ORDER BY seq"):
            row = tuple(r[:8])
            if r[0] != expect or r[8] != prev or r[9] != self._hash(prev, row):
                return False, r[0]
            prev, expect = r[9], expect + 1
        return True, None
