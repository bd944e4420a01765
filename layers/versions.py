"""Versioned layer updates: validate a provincial file, stage it, switch atomically, keep the
history, roll back, and answer which version was in force on a date.

A published version is the layer's canonical data (catalog field mapping applied, EPSG:4490)
written to ``<state>/layers/<layer>/<version>.gpkg``; the history lives in the state database
(``layer_versions``: who, when, source checksum, feature count, change summary, validation
report; ``layer_events``: publish / rollback / baseline, in order). The order of a publish is
what makes it crash-safe:

1. parse the upload in the hardened subprocess (``layers.ingest``), map fields, validate;
2. write the version file under a temporary name, fsync, rename it into place;
3. one transaction adds the version and its ``publish`` event — the commit point;
4. the running store swaps the layer (one reference assignment; see ``EmbeddedStore``).

A crash before 3 leaves the old version in force (the stray file is removed at the next
start); after 3 the new version is in force and a restart loads it. Readers never see a mix:
each request works on one snapshot of the store.

The catalog's own data is the first version of a layer. Before a layer's first publish it is
written to the versions folder too (event ``baseline``, in force from the layer's vintage),
so that rollback and ``as_of`` can always reach it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from layers.catalog import REQUIRED_FIELDS, LayerEntry
from layers.crs import STORAGE_CRS
from layers.statedb import StateDB, now, open_state_db

log = logging.getLogger(__name__)

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
CST = dt.timezone(dt.timedelta(hours=8), "CST")  # China Standard Time: what a date means here
UNIT_CODE = re.compile(r"^ZH\d{6}[123]\d{4}$")
UNIT_CLASS_DIGIT = {"1": "1", "2": "2", "3": "3", "优先保护": "1", "重点管控": "2", "一般管控": "3",
                    "优先保护单元": "1", "重点管控单元": "2", "一般管控单元": "3"}
MAX_LISTED = 50  # problems listed one by one in a report; the rest are counted
MIN_REPORTED_M2 = 1.0  # gaps and overlaps smaller than this are rounding, not findings


class PublishError(ValueError):
    """The upload cannot become a version (HTTP 422); ``report`` says everything found."""

    def __init__(self, message: str, report: dict | None = None):
        super().__init__(message)
        self.report = report or {}


class VersionConflict(PublishError):
    """Nothing to do, or the history moved meanwhile (HTTP 409)."""


class VersionNotFound(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def end_of_day(date: dt.date) -> str:
    """A date's last instant in China Standard Time, as the UTC text the history uses."""
    t = dt.datetime.combine(date, dt.time(23, 59, 59, 999000), CST).astimezone(dt.UTC)
    return t.isoformat(timespec="milliseconds")


def start_of_day(date: dt.date) -> str:
    return dt.datetime.combine(date, dt.time(0, 0), CST).astimezone(dt.UTC).isoformat(timespec="milliseconds")


class LayerRegistry:
    """The version history of every layer, in the state database, and the version files."""

    def __init__(self, db: StateDB, folder: Path):
        self.db = db
        self.folder = Path(folder)
        self.db.add_columns("layer_versions", {"meta": "TEXT"})  # histories from before it had one

    @classmethod
    def open(cls, state_dir: Path, url: str | None = None) -> LayerRegistry:
        return cls(open_state_db("layers", SCHEMA, state_dir, url), Path(state_dir) / "layers")

    def close(self) -> None:
        self.db.close()

    def path(self, layer_id: str, version: str) -> Path:
        return self.folder / layer_id / f"{version}.gpkg"

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

    def add(self, rec: dict, action: str, at: str | None = None) -> dict:
        """Add a version (if new) and make it the one in force: one transaction."""
        def write(db):
            exists = db.execute("SELECT 1 FROM layer_versions WHERE layer_id = ? AND version = ?",
                                (rec["layer_id"], rec["version"])).fetchone()
            if not exists:
                db.execute(
                    "INSERT INTO layer_versions (layer_id, version, created, actor, vintage, source_name, "
                    "source_sha256, feature_count, summary, report, file, note, meta) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (rec["layer_id"], rec["version"], now(), rec["actor"], rec["vintage"], rec.get("source_name"),
                     rec.get("source_sha256"), rec["feature_count"], json.dumps(rec["summary"], ensure_ascii=False),
                     json.dumps(rec["report"], ensure_ascii=False), rec["file"], rec.get("note"),
                     json.dumps(rec.get("meta") or {}, ensure_ascii=False)))
            seq = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM layer_events WHERE layer_id = ?",
                             (rec["layer_id"],)).fetchone()[0]
            db.execute("INSERT INTO layer_events (layer_id, seq, version, action, at, actor, note) "
                       "VALUES (?,?,?,?,?,?,?)",
                       (rec["layer_id"], seq, rec["version"], action, at or now(), rec["actor"], rec.get("note")))
            return seq
        seq = self.db.tx(write)
        return {"seq": seq, "version": rec["version"], "action": action}

    def stored_version(self, layer_id: str, version: str) -> dict:
        """A version of the history whose file is still there (404 / 409 otherwise)."""
        v = self.version(layer_id, version)
        if not Path(v["file"]).exists():
            raise VersionConflict(f"the file of version {version} is missing: {v['file']}")
        return v

    def activate(self, layer_id: str, version: str, actor: str, note: str | None = None) -> dict:
        """Roll back (or forward) to a version already in the history."""
        v = self.stored_version(layer_id, version)
        cur = self.current(layer_id)
        if cur is not None and cur["version"] == version:
            raise VersionConflict(f"version {version} of {layer_id} is already in force")
        return self.add({**v, "actor": actor, "note": note}, "rollback")

    def remove_strays(self) -> list[Path]:
        """Version files no history row names (a publish that died before its commit)."""
        known = {r[0] for r in self.db.read("SELECT file FROM layer_versions")}
        stray = [p for p in self.folder.glob("*/*.gpkg*") if str(p) not in known]
        stray += list(self.folder.glob("*/.staging-*"))
        for p in stray:
            p.unlink(missing_ok=True)
        return stray


# --- validation ---------------------------------------------------------------------------------

@dataclass
class Report:
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    def error(self, check: str, message: str, **detail) -> None:
        self.errors.append({"check": check, "message": message, **detail})

    def warn(self, check: str, message: str, **detail) -> None:
        self.warnings.append({"check": check, "message": message, **detail})

    def as_dict(self) -> dict:
        return {"ok": not self.errors, "errors": self.errors, "warnings": self.warnings, "counts": self.counts}


def _gk_areas(geoms: np.ndarray) -> np.ndarray:
    """m² in each geometry's own 3° Gauss-Krüger zone."""
    from layers.crs import gk3_epsg, to_gk3

    out = np.zeros(len(geoms))
    ok = ~shapely.is_empty(geoms) & (shapely.area(geoms) > 0)
    if not ok.any():
        return out
    zones = np.zeros(len(geoms), dtype=int)
    zones[ok] = [gk3_epsg(x) for x in shapely.get_x(shapely.centroid(geoms[ok]))]
    for z in np.unique(zones[ok]):
        sel = ok & (zones == z)
        out[sel] = shapely.area(to_gk3(geoms[sel], int(z)))
    return out


def check_units(frame: pd.DataFrame, report: Report) -> None:
    """Environmental control units: the code pattern, the class digit against the class field."""
    codes = frame["code"].astype(str).to_numpy()
    bad = [c for c in codes if not UNIT_CODE.match(c)]
    if bad:
        report.error("unit_code", f"{len(bad)} unit codes do not match ^ZH\\d{{6}}[123]\\d{{4}}$",
                     examples=bad[:MAX_LISTED])
    classes = frame["unit_class"].astype(str).str.strip().to_numpy()
    digits = np.array([UNIT_CLASS_DIGIT.get(c, "?") for c in classes])
    unknown = sorted({c for c, d in zip(classes, digits) if d == "?"})
    if unknown:
        report.error("unit_class", f"unknown unit classes {unknown[:10]}; use 1/2/3 or 优先保护/重点管控/一般管控")
    mismatch = [{"code": c, "class": k} for c, k, d in zip(codes, classes, digits)
                if UNIT_CODE.match(c) and d != "?" and c[8] != d]
    if mismatch:
        report.error("unit_class_digit", f"{len(mismatch)} units whose code's class digit (9th character) "
                     "does not match the class field", examples=mismatch[:MAX_LISTED])


def check_coverage(geoms: np.ndarray, ids: np.ndarray, coverage: shapely.Geometry | None, report: Report) -> None:
    """Overlaps between features and gaps in the declared coverage, with their areas (m² in
    the local Gauss-Krüger zone)."""
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    overlaps = []
    if len(a):
        inter = shapely.intersection(geoms[a], geoms[b])
        poly = np.isin(shapely.get_type_id(inter), [3, 6, 7]) & ~shapely.is_empty(inter)
        area = np.zeros(len(a))
        if poly.any():
            area[poly] = _gk_areas(shapely.make_valid(inter[poly]))
        big = np.flatnonzero(area >= MIN_REPORTED_M2)
        big = big[np.argsort(-area[big])]
        overlaps = [{"a": str(ids[a[i]]), "b": str(ids[b[i]]), "area_m2": round(float(area[i]), 1)} for i in big]
    report.counts["overlaps"] = len(overlaps)
    report.counts["overlap_m2"] = round(sum(o["area_m2"] for o in overlaps), 1)
    if overlaps:
        report.warn("overlaps", f"{len(overlaps)} overlapping pairs, {report.counts['overlap_m2']:,.0f} m² in all",
                    items=overlaps[:MAX_LISTED])
    if coverage is None:
        return
    union = shapely.union_all(geoms)
    gaps = shapely.get_parts(shapely.difference(coverage, union))
    gaps = gaps[np.isin(shapely.get_type_id(gaps), [3])]
    area = _gk_areas(gaps) if len(gaps) else np.zeros(0)
    big = np.flatnonzero(area >= MIN_REPORTED_M2)
    big = big[np.argsort(-area[big])]
    items = [{"area_m2": round(float(area[i]), 1),
              "at": [round(c, 6) for c in shapely.get_coordinates(shapely.point_on_surface(gaps[i]))[0]]}
             for i in big]
    report.counts["gaps"] = len(items)
    report.counts["gap_m2"] = round(sum(g["area_m2"] for g in items), 1)
    if items:
        report.warn("gaps", f"{len(items)} gaps inside the layer's coverage, {report.counts['gap_m2']:,.0f} m² in all",
                    items=items[:MAX_LISTED])
    outside = shapely.difference(union, shapely.buffer(coverage, 1e-6))
    out_m2 = float(_gk_areas(np.array([outside]))[0]) if not outside.is_empty else 0.0
    if out_m2 >= MIN_REPORTED_M2:
        report.warn("outside_coverage", f"{out_m2:,.0f} m² of features lie outside the declared coverage")


def validate(entry: LayerEntry, frame: pd.DataFrame, geoms: np.ndarray, coverage: shapely.Geometry | None) -> Report:
    """Every check on a canonical frame (fields already mapped): schema, geometry, ids, unit
    codes and classes, overlaps and gaps. Errors refuse the upload; warnings are reported."""
    report = Report(counts={"features": len(frame)})
    needed = [*REQUIRED_FIELDS[entry.kind], *([entry.id_field] if entry.id_field else [])]
    missing = [f for f in dict.fromkeys(needed) if f not in frame.columns]  # the id field too
    if missing:
        source = {v: k for k, v in entry.fields.items()}
        report.error("schema", f"required fields missing: {missing}",
                     expected_source_columns=[source.get(f, f) for f in missing])
        return report
    if len(frame) == 0:
        report.error("empty", "the file has no features")
        return report
    invalid = np.flatnonzero(~shapely.is_valid(geoms))
    if len(invalid):
        report.error("geometry", f"{len(invalid)} invalid geometries",
                     examples=[{"feature": int(i) + 1, "reason": shapely.is_valid_reason(geoms[i])}
                               for i in invalid[:MAX_LISTED]])
    if entry.id_field:
        ids = frame[entry.id_field].astype(str).to_numpy()
        vals, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            report.error("unique_id", f"{int((counts > 1).sum())} duplicate values of {entry.id_field}",
                         examples=vals[counts > 1][:MAX_LISTED].tolist())
    else:
        ids = np.array([str(i + 1) for i in range(len(frame))], dtype=object)
    if entry.kind == "control_unit":
        check_units(frame, report)
    if not len(invalid):
        check_coverage(geoms, ids, coverage, report)
    return report


# --- change summary -----------------------------------------------------------------------------

def change_summary(old_ids: np.ndarray, old_frame: pd.DataFrame, old_geoms: np.ndarray,
                   new_ids: np.ndarray, new_frame: pd.DataFrame, new_geoms: np.ndarray) -> dict:
    """Added, removed and changed features by id (changed: geometry or any attribute)."""
    old = {str(i): k for k, i in enumerate(old_ids)}
    new = {str(i): k for k, i in enumerate(new_ids)}
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    both = sorted(set(old) & set(new))
    cols = [c for c in new_frame.columns if c in old_frame.columns]
    changed, geometry_changed = [], []
    if both:
        oi = np.array([old[i] for i in both])
        ni = np.array([new[i] for i in both])
        og = shapely.normalize(old_geoms[oi])
        ng = shapely.normalize(new_geoms[ni])
        geo = ~shapely.equals_exact(og, ng, tolerance=1e-9)
        a = old_frame.iloc[oi][cols].astype(str).to_numpy()
        b = new_frame.iloc[ni][cols].astype(str).to_numpy()
        attr = (a != b).any(axis=1) if len(cols) else np.zeros(len(both), bool)
        changed = [both[k] for k in np.flatnonzero(geo | attr)]
        geometry_changed = [both[k] for k in np.flatnonzero(geo)]
    fields_added = sorted(set(new_frame.columns) - set(old_frame.columns))
    fields_removed = sorted(set(old_frame.columns) - set(new_frame.columns))
    return {"added": len(added), "removed": len(removed), "changed": len(changed),
            "geometry_changed": len(geometry_changed), "unchanged": len(both) - len(changed),
            "added_ids": added[:MAX_LISTED], "removed_ids": removed[:MAX_LISTED],
            "changed_ids": changed[:MAX_LISTED], "fields_added": fields_added, "fields_removed": fields_removed}


# --- files --------------------------------------------------------------------------------------

def write_version_file(frame: pd.DataFrame, geoms: np.ndarray, folder: Path) -> Path:
    """The canonical data as a GeoPackage under a temporary name in ``folder`` (fsynced)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".staging-{uuid.uuid4().hex}.gpkg"
    gdf = gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=list(geoms), crs=STORAGE_CRS)
    pyogrio.write_dataframe(gdf, tmp, layer="layer", driver="GPKG", promote_to_multi=False)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    return tmp


def move_into_place(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)
    fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_layer_file(data: bytes, filename: str, crs: str | None, limits) -> tuple[gpd.GeoDataFrame, list[str]]:
    """A layer upload (GeoPackage, zipped Shapefile, GeoJSON, KML/KMZ) parsed in the hardened
    subprocess, in EPSG:4490, with its own column names and types; warnings from the parser."""
    from layers.ingest import coords
    from layers.ingest.read import parse_file

    _, answer = parse_file(data, filename, limits, formats=("gpkg", "shapefile_zip", "geojson", "kml", "kmz"))
    geoms = np.array([shapely.from_wkb(p["wkb"]) for p in answer["parcels"]], dtype=object)
    chosen, _ = coords.choose(answer["crs"], crs)
    if not chosen:
        raise PublishError("the file does not say its CRS (no .prj / SRS): pass crs=…; "
                           + coords.looks_like(shapely.get_coordinates(geoms)),
                           {"ok": False, "errors": [{"check": "crs", "message": "no CRS in the file"}]})
    geoms = coords.to_storage(geoms, chosen)
    frame = pd.DataFrame([p["properties"] for p in answer["parcels"]])
    return gpd.GeoDataFrame(frame, geometry=list(geoms), crs=STORAGE_CRS), list(answer["warnings"])


# --- the operations -----------------------------------------------------------------------------

def _publishable(store, layer_id: str) -> LayerEntry:
    if not hasattr(store, "replace_layer") or getattr(store, "registry", None) is None:
        raise PublishError("this service keeps no layer version history (no state folder or database)")
    entry = store.entry(layer_id)
    if entry.kind in ("admin", "raster"):
        raise PublishError(f"layer {layer_id!r} is of kind {entry.kind}: admin boundaries define the other "
                           "layers' coverage and rasters are files; change them in the catalog")
    gtype = store.info(layer_id).geometry_type
    if "POLYGON" not in gtype:  # the upload reader keeps polygons only
        raise PublishError(f"layer {layer_id!r} holds {gtype} features; versions are published for polygon "
                           "layers — load point and line layers through the catalog")
    return entry


def layer_meta(info, relation: str | None) -> dict:
    """What a backend needs to serve a version without reading its file: the field order,
    extent, geometry type, count — and, in PostGIS, the table holding it."""
    return {"fields": list(info.fields), "bbox": list(info.bbox) if info.bbox else None,
            "geometry_type": info.geometry_type, "count": info.count, "relation": relation}


def publish(store, layer_id: str, data: bytes, filename: str, *, actor: str, limits, crs: str | None = None,
            vintage: dt.date | None = None, note: str | None = None, dry_run: bool = False,
            pause=None) -> dict:
    """Validate an upload as the next version of ``layer_id`` and (unless ``dry_run``) put it
    in force. Returns the version record with the validation report and change summary.
    ``pause(step)`` is called between the steps (crash tests stop the process there)."""
    registry: LayerRegistry = store.registry
    entry = _publishable(store, layer_id)
    pause = pause or (lambda step: None)
    gdf, parse_warnings = read_layer_file(data, filename, crs, limits)
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).rename(columns=entry.fields)
    geoms = np.asarray(gdf.geometry.to_numpy(), dtype=object)
    report = validate(entry, frame, geoms, store.coverage(layer_id))
    for w in parse_warnings:
        report.warn("parse", w)
    if report.errors:
        raise PublishError(f"{filename or 'the file'} cannot become a version of {layer_id}: "
                           + "; ".join(e["message"] for e in report.errors), report.as_dict())
    vintage = vintage or dt.datetime.now(CST).date()
    new_layer = store.layer_from_frame(layer_id, frame, geoms, vintage)
    version = new_layer.info.version
    old_ids, old_frame, old_geoms = store.layer_data(layer_id)
    current = store.info(layer_id).version
    if version == current:
        raise VersionConflict(f"the file is identical to {layer_id} version {current}, already in force")
    summary = change_summary(old_ids, old_frame, old_geoms, new_layer.ids, new_layer.frame, new_layer.geoms)
    rec = {"layer_id": layer_id, "version": version, "actor": actor, "vintage": vintage.isoformat(),
           "source_name": filename, "source_sha256": sha256(data), "feature_count": len(frame),
           "summary": summary, "report": report.as_dict(), "note": note,
           "meta": layer_meta(new_layer.info, store.relation_of(layer_id, version))}
    if dry_run:
        return {**rec, "dry_run": True, "previous": current}
    folder = registry.folder / layer_id
    if registry.current(layer_id) is None:  # keep the catalog's data reachable first
        base = store.info(layer_id)
        tmp = write_version_file(old_frame, old_geoms, folder)
        move_into_place(tmp, registry.path(layer_id, base.version))
        registry.add({"layer_id": layer_id, "version": base.version, "actor": "catalog",
                      "vintage": base.entry.vintage.isoformat(), "source_name": base.entry.source,
                      "feature_count": base.count, "summary": {}, "report": {},
                      "file": str(registry.path(layer_id, base.version)), "note": "the catalog's data",
                      "meta": layer_meta(base, store.relation_of(layer_id))},
                     "baseline", at=start_of_day(base.entry.vintage))
    pause("staging")
    tmp = write_version_file(frame, geoms, folder)
    pause("staged")
    final = registry.path(layer_id, version)
    move_into_place(tmp, final)
    pause("moved")
    event = registry.add({**rec, "file": str(final)}, "publish")  # the commit point
    pause("committed")
    store.replace_layer(layer_id, new_layer)
    return {**rec, "file": final.name, "event": event, "previous": current}


def rollback(store, layer_id: str, version: str, *, actor: str, note: str | None = None) -> dict:
    """Put an earlier (or later) version from the history back in force."""
    registry: LayerRegistry = store.registry
    _publishable(store, layer_id)
    registry.stored_version(layer_id, version)  # an unknown version or a lost file: a clear 404 / 409
    layer = store.load_version(layer_id, version)  # read before switching: a bad file changes nothing
    previous = store.info(layer_id).version
    event = registry.activate(layer_id, version, actor, note)
    store.replace_layer(layer_id, layer)
    return {"layer_id": layer_id, "version": version, "previous": previous, "event": event}


def sync(store) -> list[str]:
    """Load the versions in force that another process published (or rolled back to)."""
    registry = getattr(store, "registry", None)
    if registry is None:
        return []
    changed = []
    for layer_id in registry.published_layers():
        cur = registry.current(layer_id)
        try:
            info = store.info(layer_id)
        except KeyError:
            continue
        if cur is not None and cur["version"] != info.version and hasattr(store, "refresh_layer"):
            if store.refresh_layer(layer_id) == cur["version"]:  # another instance switched the database
                changed.append(layer_id)
                continue
        if cur is not None and cur["version"] != store.info(layer_id).version:
            store.replace_layer(layer_id, store.load_version(layer_id, cur["version"]))
            changed.append(layer_id)
    return changed
