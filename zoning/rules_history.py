"""Versioned rules files, kept like layer versions: a rules file (one family) uploaded by an
editor is validated together with the other families in force (schema, duplicate ids), stored
whole in the state database with who, when and its checksum, and put in force in one
transaction; earlier versions can be put back (rollback), and the rule set in force on any
date can be rebuilt for ``as_of`` judgments.

The files in the rules folder are the baseline: a family never uploaded is read from there,
and before a family's first upload its folder file is stored too (action ``baseline``, in
force from the beginning), so rollback can always reach it.
"""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

from layers.errors import NotFound, Unprocessable
from layers.statedb import StateDB, now, open_state_db
from zoning.rules import RULES_DIR, RuleSet, parse_rule_file, rule_files, rules_from

SCHEMA = """
CREATE TABLE IF NOT EXISTS rules_versions (
    file TEXT NOT NULL, sha256 TEXT NOT NULL, declared_version TEXT NOT NULL, family TEXT NOT NULL,
    created TEXT NOT NULL, actor TEXT NOT NULL, content BLOB NOT NULL, note TEXT,
    PRIMARY KEY (file, sha256)
);
CREATE TABLE IF NOT EXISTS rules_events (
    seq INTEGER PRIMARY KEY, file TEXT NOT NULL, sha256 TEXT NOT NULL, action TEXT NOT NULL,
    at TEXT NOT NULL, actor TEXT NOT NULL, note TEXT
)
"""
BEGINNING = "0000-01-01T00:00:00.000+00:00"
FILE_NAME = re.compile(r"^[a-z0-9_]{1,60}\.yaml$")


class RulesError(Unprocessable):
    """A rules upload that cannot be put in force."""

    status = 422


class RulesConflict(RulesError):
    """Nothing to change."""

    status = 409


class RulesVersionNotFound(NotFound):
    status = 404


class RulesRegistry:
    def __init__(self, db: StateDB, folder: Path = RULES_DIR):
        self.db = db
        self.folder = Path(folder)
        self._baseline = rule_files(self.folder)  # the deployed files; a deploy restarts the service
        self._sets: dict[tuple, RuleSet] = {}  # rule sets by the (file, sha256) pairs in force
        self._lock = threading.Lock()

    @classmethod
    def open(cls, state_dir, url: str | None = None, folder: Path = RULES_DIR) -> RulesRegistry:
        return cls(open_state_db("rules", SCHEMA, state_dir, url), folder)

    def close(self) -> None:
        self.db.close()

    def _events(self, at: str | None = None) -> list[tuple]:
        sql = "SELECT seq, file, sha256, action, at, actor, note FROM rules_events"
        if at is None:
            return self.db.read(sql + " ORDER BY seq")
        return self.db.read(sql + " WHERE at <= ? ORDER BY seq", (at,))

    def _content(self, file: str, sha: str) -> bytes:
        rows = self.db.read("SELECT content FROM rules_versions WHERE file = ? AND sha256 = ?", (file, sha))
        if not rows:
            raise RulesVersionNotFound(f"rules file {file} has no version {sha}")
        return bytes(rows[0][0])

    def _in_force(self, at: str | None) -> dict[str, str]:
        """file -> sha256 of the uploaded versions in force (files never uploaded are absent)."""
        return {file: sha for _, file, sha, *_ in self._events(at)}  # the latest event wins

    def files(self, at: str | None = None) -> dict[str, bytes]:
        """The rules files in force (now, or at UTC text ``at``)."""
        return self._files(self._in_force(at))

    def _files(self, in_force: dict[str, str]) -> dict[str, bytes]:
        return {**self._baseline, **{file: self._content(file, sha) for file, sha in in_force.items()}}

    def ruleset(self, at: str | None = None) -> RuleSet:
        """The rule set in force, parsed once per combination of files (``as_of`` asks often)."""
        in_force = self._in_force(at)
        key = tuple(sorted(in_force.items()))
        with self._lock:
            hit = self._sets.get(key)
        if hit is None:
            hit = rules_from(self._files(in_force))
            with self._lock:
                self._sets[key] = hit
        return hit

    def generation(self) -> int:
        return int(self.db.read("SELECT count(*) FROM rules_events")[0][0])

    def history(self, file: str | None = None) -> list[dict]:
        rows = self.db.read(
            "SELECT e.seq, e.file, e.sha256, e.action, e.at, e.actor, e.note, v.declared_version, v.family "
            "FROM rules_events e JOIN rules_versions v ON v.file = e.file AND v.sha256 = e.sha256 "
            + ("WHERE e.file = ? " if file else "") + "ORDER BY e.seq DESC", (file,) if file else ())
        keys = ("seq", "file", "sha256", "action", "at", "actor", "note", "declared_version", "family")
        return [dict(zip(keys, r)) for r in rows]

    def _add(self, db, file: str, raw: bytes, family: str, declared: str, action: str, actor: str,
             note: str | None, at: str | None = None) -> int:
        sha = hashlib.sha256(raw).hexdigest()
        if not db.execute("SELECT 1 FROM rules_versions WHERE file = ? AND sha256 = ?", (file, sha)).fetchone():
            db.execute("INSERT INTO rules_versions (file, sha256, declared_version, family, created, actor, content, "
                       "note) VALUES (?,?,?,?,?,?,?,?)", (file, sha, declared, family, now(), actor, raw, note))
        seq = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM rules_events").fetchone()[0]
        db.execute("INSERT INTO rules_events (seq, file, sha256, action, at, actor, note) VALUES (?,?,?,?,?,?,?)",
                   (seq, file, sha, action, at or now(), actor, note))
        return seq

    def publish(self, file: str, raw: bytes, actor: str, note: str | None = None, dry_run: bool = False) -> dict:
        """Validate ``raw`` as rules file ``file`` together with the families in force; unless
        ``dry_run``, put it in force. Returns what changed."""
        if not FILE_NAME.match(file):
            raise RulesError(f"rules file name {file!r}: lower-case letters, digits, _ and .yaml")
        if len(raw) > 1_000_000:
            raise RulesError("a rules file is at most 1 MB")
        try:
            parsed = parse_rule_file(file, raw)
            files = self.files()
            old = files.get(file)
            files[file] = raw
            new_set = rules_from(files)
        except ValueError as exc:
            raise RulesError(str(exc)) from None
        if old == raw:
            raise RulesConflict(f"{file} is identical to the version in force")
        before = {r.id: r for r in parse_rule_file(file, old).rules} if old else {}
        after = {r.id: r for r in parsed.rules}
        summary = {"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)),
                   "changed": sorted(i for i in set(after) & set(before) if after[i] != before[i])}
        out = {"file": file, "family": parsed.family, "declared_version": parsed.version,
               "sha256": hashlib.sha256(raw).hexdigest(), "rules_version": new_set.version, "summary": summary}
        if dry_run:
            return {**out, "dry_run": True}

        def write(db):
            known = db.execute("SELECT 1 FROM rules_events WHERE file = ?", (file,)).fetchone()
            if old is not None and not known:  # the folder's file first, in force from the start
                base = parse_rule_file(file, old)
                self._add(db, file, old, base.family, base.version, "baseline", "rules folder", None, BEGINNING)
            return self._add(db, file, raw, parsed.family, parsed.version, "publish", actor, note)
        out["seq"] = self.db.tx(write)
        return out

    def rollback(self, file: str, sha256: str, actor: str, note: str | None = None) -> dict:
        raw = self._content(file, sha256)
        files = self.files()
        if files.get(file) == raw:
            raise RulesConflict(f"that version of {file} is already in force")
        files[file] = raw
        try:  # the old file against the families in force now (e.g. a rule id taken since)
            new_set = rules_from(files)
        except ValueError as exc:
            raise RulesError(f"{file} version {sha256[:12]} cannot go back in force: {exc}") from None
        parsed = parse_rule_file(file, raw)
        seq = self.db.tx(lambda db: self._add(db, file, raw, parsed.family, parsed.version, "rollback", actor, note))
        return {"file": file, "sha256": sha256, "rules_version": new_set.version, "seq": seq}
