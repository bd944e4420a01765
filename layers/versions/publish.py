"""Publish, roll back and sync: the steps that put a version in force, in the crash-safe order
the package describes."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from layers.catalog import REQUIRED_FIELDS, LayerEntry
from layers.crs import STORAGE_CRS
from layers.dates import CST, start_of_day
from layers.lists import canonical_items, missing_fields
from layers.store import LayerStore
from layers.versions.diff import change_summary
from layers.versions.errors import PublishError, VersionConflict, VersionNotFound
from layers.versions.registry import LayerRegistry
from layers.versions.validate import validate, validate_list


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


def read_list_file(data: bytes, filename: str, entry: LayerEntry, limits) -> pd.DataFrame:
    """An access-list upload (CSV or XLSX, the province's own column names mapped by the
    catalog) parsed in the hardened subprocess, as canonical items with their source rows."""
    from layers.ingest.read import parse_file

    _, answer = parse_file(data, filename, limits, formats=("csv", "xlsx"), table=True)
    frame = pd.DataFrame(answer["rows"], columns=answer["columns"]).rename(columns=entry.fields)
    missing = missing_fields(frame, REQUIRED_FIELDS[entry.kind])
    if missing:
        source = {v: k for k, v in entry.fields.items()}
        raise PublishError(f"{filename or 'the table'} lacks the columns {[source.get(f, f) for f in missing]} "
                           f"(canonical {missing}) and is not a one-row-per-unit table either",
                           {"ok": False, "errors": [{"check": "schema", "message": f"required fields missing: "
                                                     f"{missing}", "columns": answer["columns"][:50]}]})
    return canonical_items(frame)


def known_places(store: LayerStore) -> tuple[set[str], set[str]]:
    """The unit codes and adcodes of the layers in force: what an access list's scopes may name."""
    units = {str(c) for i in store.layers_of_kind("control_unit")
             for c in store.feature_ids(i.id, np.arange(i.count))}
    adcodes = {str(c) for i in store.layers_of_kind("admin")
               for c in store.attribute_columns(i.id, np.arange(i.count)).get("adcode", [])}
    return units, adcodes


def _publishable(store: LayerStore, layer_id: str) -> LayerEntry:
    if store.registry is None:
        raise PublishError("this service keeps no layer version history (no state folder or database)")
    entry = store.entry(layer_id)
    if entry.kind in ("admin", "raster"):
        raise PublishError(f"layer {layer_id!r} is of kind {entry.kind}: admin boundaries define the other "
                           "layers' coverage and rasters are files; change them in the catalog")
    gtype = store.info(layer_id).geometry_type
    if entry.spatial and "POLYGON" not in gtype:  # the upload reader keeps polygons only
        raise PublishError(f"layer {layer_id!r} holds {gtype} features; versions are published for polygon "
                           "layers — load point and line layers through the catalog")
    return entry


def layer_meta(info, relation: str | None) -> dict:
    """What a backend needs to serve a version without reading its file: the field order,
    extent, geometry type, count — and, in PostGIS, the table holding it."""
    return {"fields": list(info.fields), "bbox": list(info.bbox) if info.bbox else None,
            "geometry_type": info.geometry_type, "count": info.count, "relation": relation}


def publish(store: LayerStore, layer_id: str, data: bytes, filename: str, *, actor: str, limits, crs: str | None = None,
            vintage: dt.date | None = None, note: str | None = None, dry_run: bool = False,
            pause=None, unknown_industries=None, bad_scale=None, expected: str | None = None) -> dict:
    """Validate an upload as the next version of ``layer_id`` and (unless ``dry_run``) put it
    in force. Returns the version record with the validation report and change summary.
    ``pause(step)`` is called between the steps (crash tests stop the process there). An
    access list is a CSV/XLSX table, its industry codes checked by ``unknown_industries`` and its
    size conditions by ``bad_scale``. ``expected``: the version the caller believes in force
    (``If-Match``); a 409 when it is not, or when another write wins while this one is prepared."""
    registry: LayerRegistry = store.registry
    entry = _publishable(store, layer_id)
    _check_expected(store, layer_id, expected)
    pause = pause or (lambda step: None)
    if entry.spatial:
        gdf, parse_warnings = read_layer_file(data, filename, crs, limits)
        frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).rename(columns=entry.fields)
        geoms = np.asarray(gdf.geometry.to_numpy(), dtype=object)
        report = validate(entry, frame, geoms, store.coverage(layer_id))
    else:
        items, parse_warnings = read_list_file(data, filename, entry, limits), []
        report = validate_list(items, *known_places(store), unknown_industries, bad_scale)
        frame, geoms = items.drop(columns=["row"]), np.full(len(items), None, dtype=object)
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
    try:
        event = registry.add({**rec, "file": str(final)}, "publish", expected=current)  # the commit point
    except VersionConflict:
        _drop_unrecorded(registry, layer_id, version, final)
        raise
    pause("committed")
    store.replace_layer(layer_id, new_layer)
    return {**rec, "file": final.name, "event": event, "previous": current}


def _check_expected(store: LayerStore, layer_id: str, expected: str | None) -> None:
    if expected is not None and expected != store.info(layer_id).version:
        raise VersionConflict(f"version {store.info(layer_id).version} of {layer_id} is in force, not {expected} "
                              "(If-Match); nothing was changed")


def _drop_unrecorded(registry: LayerRegistry, layer_id: str, version: str, path) -> None:
    """The file of a write that lost, unless the history names it (the same file, published by the winner)."""
    try:
        registry.version(layer_id, version)
    except VersionNotFound:
        path.unlink(missing_ok=True)


def rollback(store: LayerStore, layer_id: str, version: str, *, actor: str, note: str | None = None,
             expected: str | None = None) -> dict:
    """Put an earlier (or later) version from the history back in force (``expected``: see :func:`publish`)."""
    registry: LayerRegistry = store.registry
    _publishable(store, layer_id)
    _check_expected(store, layer_id, expected)
    registry.stored_version(layer_id, version)  # an unknown version or a lost file: a clear 404 / 409
    layer = store.load_version(layer_id, version)  # read before switching: a bad file changes nothing
    previous = store.info(layer_id).version
    event = registry.activate(layer_id, version, actor, note, expected=previous)
    store.replace_layer(layer_id, layer)
    return {"layer_id": layer_id, "version": version, "previous": previous, "event": event}


def sync(store: LayerStore) -> list[str]:
    """Load the versions in force that another process published (or rolled back to)."""
    registry = store.registry
    if registry is None:
        return []
    changed = []
    for layer_id in registry.published_layers():
        cur = registry.current(layer_id)
        try:
            info = store.info(layer_id)
        except KeyError:
            continue
        if cur is not None and cur["version"] != info.version:
            if store.refresh_layer(layer_id) == cur["version"]:  # another instance switched shared data
                changed.append(layer_id)
                continue
        if cur is not None and cur["version"] != store.info(layer_id).version:
            store.replace_layer(layer_id, store.load_version(layer_id, cur["version"]))
            changed.append(layer_id)
    return changed
