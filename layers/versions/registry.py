"""The version history of every layer (``layer_versions``, ``layer_events`` in the state
database) and where the version files live."""

from __future__ import annotations

import json
from pathlib import Path

from layers.statedb import StateDB, now, open_state_db
from layers.versions.errors import VersionConflict, VersionNotFound

SCHEMA = """
CREATE TABLE IF NOT EXISTS layer_versions (
    layer_id TEXT NOT NULL, version TEXT NOT NULL, created TEXT NOT NULL, actor TEXT NOT NULL,
    vintage TEXT NOT NULL, source_name TEXT, source_sha256 TEXT, feature_count INTEGER NOT NULL,
    summary TEXT NOT NULL, report TEXT NOT NULL, file TEXT NOT NULL, note TEXT,
    PRIMARY KEY (layer_id, version)
);
CREATE TABLE IF NOT EXISTS layer_events (
    layer_id TEXT NOT NULL, seq INTEGER NOT NULL, version TEXT NOT NULL, action TEXT NOT NULL,
    at TEXT NOT NULL, actor TEXT NOT NULL, note TEXT,
    PRIMARY KEY (layer_id, seq)
)
"""


class LayerRegistry:
    """The version history of every layer, in the state database, and the version files."""

    def __init__(self, db: StateDB, folder: Path):
        self.db = db
        self.folder = Path(folder).absolute()  # a relative state_dir is the start's working directory's
        self.db.add_columns("layer_versions", {"meta": "TEXT"})  # histories from before it had one

    @classmethod
    def open(cls, state_dir: Path, url: str | None = None) -> LayerRegistry:
        return cls(open_state_db("layers", SCHEMA, state_dir, url), Path(state_dir) / "layers")

    def close(self) -> None:
        self.db.close()

    def path(self, layer_id: str, version: str) -> Path:
        return self.folder / layer_id / f"{version}.gpkg"

    def resolve(self, stored: str) -> Path:
        """Where a stored version file is: the history keeps ``<layer>/<version>.gpkg`` relative to
        this registry's folder, so it is found whatever the working directory and wherever the
        state directory has moved. Rows written before kept the whole path as it was given then
        (absolute, or relative to that process's working directory): their last two parts are the
        same layer folder and file, so they resolve the same way."""
        p = Path(stored)
        return self.folder / p.parent.name / p.name

    @staticmethod
    def relative(path: Path) -> str:
        """What the history stores for a version file: ``<layer>/<version>.gpkg``."""
        return f"{path.parent.name}/{path.name}"

    # --- reading ------------------------------------------------------------------------------

    def events(self, layer_id: str) -> list[dict]:
        rows = self.db.read("SELECT seq, version, action, at, actor, note FROM layer_events WHERE layer_id = ? "
                            "ORDER BY seq", (layer_id,))
        return [dict(zip(("seq", "version", "action", "at", "actor", "note"), r)) for r in rows]

    def current(self, layer_id: str) -> dict | None:
        """The latest event of the layer (None: the catalog's data, never published over)."""
        ev = self.events(layer_id)
        return ev[-1] if ev else None

    def in_force(self, layer_id: str, at: str) -> dict | None:
        """The event in force at UTC text ``at`` (None: none yet, the catalog's data)."""
        ev = [e for e in self.events(layer_id) if e["at"] <= at]
        return ev[-1] if ev else None

    def versions_at(self, at: str) -> dict[str, str]:
        """For every published layer, the version in force at UTC text ``at`` (before its first
        event: the earliest version, its catalog data). One query for all layers."""
        out: dict[str, str] = {}
        for layer_id, version, when in self.db.read("SELECT layer_id, version, at FROM layer_events "
                                                    "ORDER BY layer_id, seq"):
            if layer_id not in out or when <= at:  # the first event, then each one in force by then
                out[layer_id] = version
        return out

    def version(self, layer_id: str, version: str) -> dict:
        rows = self.db.read("SELECT layer_id, version, created, actor, vintage, source_name, source_sha256, "
                            "feature_count, summary, report, file, note, meta FROM layer_versions "
                            "WHERE layer_id = ? AND version = ?", (layer_id, version))
        if not rows:
            raise VersionNotFound(f"layer {layer_id!r} has no version {version!r}")
        keys = ("layer_id", "version", "created", "actor", "vintage", "source_name", "source_sha256",
                "feature_count", "summary", "report", "file", "note", "meta")
        out = dict(zip(keys, rows[0]))
        out["file"] = str(self.resolve(out["file"]))
        out["summary"], out["report"] = json.loads(out["summary"]), json.loads(out["report"])
        out["meta"] = json.loads(out["meta"]) if out["meta"] else {}
        return out

    def history(self, layer_id: str) -> list[dict]:
        """Every event, newest first, with its version's record."""
        out = []
        for e in reversed(self.events(layer_id)):
            v = self.version(layer_id, e["version"])
            out.append({**e, **{k: v[k] for k in ("created", "vintage", "source_name", "source_sha256",
                                                   "feature_count", "summary")},
                        "published_by": v["actor"]})
        return out

    def generation(self) -> tuple[int, str]:
        """Changes whenever any layer's version in force changes (polled by other processes)."""
        n, last = self.db.read("SELECT count(*), max(at) FROM layer_events")[0]
        return int(n), last or ""

    def published_layers(self) -> list[str]:
        return [r[0] for r in self.db.read("SELECT DISTINCT layer_id FROM layer_events ORDER BY 1")]

    # --- writing ------------------------------------------------------------------------------

    def add(self, rec: dict, action: str, at: str | None = None, expected: str | None = None) -> dict | None:
        """Add a version (if new) and make it the one in force: one transaction, and one writer
        per layer in effect. ``expected``: the version the write was prepared against; when
        another write put a different one in force meanwhile (in this process, another worker or
        another instance sharing the history), nothing is written and a 409 says so. A
        ``baseline`` is written only while the layer has no history (None when it has one)."""
        def write(db):
            row = db.execute("SELECT version FROM layer_events WHERE layer_id = ? ORDER BY seq DESC LIMIT 1",
                             (rec["layer_id"],)).fetchone()
            in_force = row[0] if row else None
            if action == "baseline" and in_force is not None:
                return None
            if expected is not None and in_force is not None and in_force != expected:
                raise VersionConflict(f"another write put version {in_force} of {rec['layer_id']} in force while "
                                      f"this one was prepared against {expected}; nothing was changed")
            if in_force == rec["version"]:
                raise VersionConflict(f"version {rec['version']} of {rec['layer_id']} is already in force")
            exists = db.execute("SELECT 1 FROM layer_versions WHERE layer_id = ? AND version = ?",
                                (rec["layer_id"], rec["version"])).fetchone()
            if not exists:
                db.execute(
                    "INSERT INTO layer_versions (layer_id, version, created, actor, vintage, source_name, "
                    "source_sha256, feature_count, summary, report, file, note, meta) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (rec["layer_id"], rec["version"], now(), rec["actor"], rec["vintage"], rec.get("source_name"),
                     rec.get("source_sha256"), rec["feature_count"], json.dumps(rec["summary"], ensure_ascii=False),
                     json.dumps(rec["report"], ensure_ascii=False), self.relative(Path(rec["file"])), rec.get("note"),
                     json.dumps(rec.get("meta") or {}, ensure_ascii=False)))
            seq = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM layer_events WHERE layer_id = ?",
                             (rec["layer_id"],)).fetchone()[0]
            db.execute("INSERT INTO layer_events (layer_id, seq, version, action, at, actor, note) "
                       "VALUES (?,?,?,?,?,?,?)",
                       (rec["layer_id"], seq, rec["version"], action, at or now(), rec["actor"], rec.get("note")))
            return seq
        seq = self.db.tx(write)
        return None if seq is None else {"seq": seq, "version": rec["version"], "action": action}

    def stored_version(self, layer_id: str, version: str) -> dict:
        """A version of the history whose file is still there (404 / 409 otherwise)."""
        v = self.version(layer_id, version)
        if not Path(v["file"]).exists():
            raise VersionConflict(f"the file of version {version} of {layer_id} is missing from the state directory")
        return v

    def activate(self, layer_id: str, version: str, actor: str, note: str | None = None,
                 expected: str | None = None) -> dict:
        """Roll back (or forward) to a version already in the history (``expected``: see :meth:`add`)."""
        v = self.stored_version(layer_id, version)
        return self.add({**v, "actor": actor, "note": note}, "rollback", expected=expected)

    def remove_strays(self) -> list[Path]:
        """Version files no history row names (a publish that died before its commit)."""
        known = {self.resolve(r[0]) for r in self.db.read("SELECT file FROM layer_versions")}
        # a version file and its sidecars (-wal, -shm) stay while a history row names the file
        stray = [p for p in self.folder.glob("*/*.gpkg*") if p.with_name(p.name.split(".gpkg")[0] + ".gpkg") not in known]
        stray += list(self.folder.glob("*/.staging-*"))
        for p in stray:
            p.unlink(missing_ok=True)
        return stray
