"""The checks a layer upload passes before it can become a version: schema, geometry, unique
ids, control-unit codes and classes, overlaps and gaps (areas in the local Gauss-Krüger zone)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from layers.catalog import REQUIRED_FIELDS, LayerEntry

UNIT_CODE = re.compile(r"^ZH\d{6}[123]\d{4}$")
UNIT_CLASS_DIGIT = {"1": "1", "2": "2", "3": "3", "优先保护": "1", "重点管控": "2", "一般管控": "3",
                    "优先保护单元": "1", "重点管控单元": "2", "一般管控单元": "3"}
MAX_LISTED = 50  # problems listed one by one in a report; the rest are counted
MIN_REPORTED_M2 = 1.0  # gaps and overlaps smaller than this are rounding, not findings


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


def _rows_where(items: pd.DataFrame, mask) -> list[int]:
    return [int(r) for r in items.loc[mask, "row"].tolist()[:MAX_LISTED]]


def validate_list(items: pd.DataFrame, unit_codes: set[str], adcodes: set[str],
                  unknown_industries=None, bad_scale=None) -> Report:
    """Every check on an access list's canonical table (:func:`layers.lists.canonical_items`),
    naming source rows (2 = the first row under the header): empty texts, duplicate item ids,
    unknown levels, dimensions, verdicts and statuses, scopes naming no unit or adcode of the
    layers in force, and (``unknown_industries(codes) -> codes``) industry codes the catalogue
    does not know, and (``bad_scale(text) -> problem or None``) size conditions that do not parse.
    Items still marked ``suggested`` are a warning."""
    from layers.lists import DIMENSIONS, ITEM_VERDICTS, LEVELS, STATUSES, scope_problems, split_cell

    report = Report(counts={"items": len(items)})
    if len(items) == 0:
        report.error("empty", "the table has no list items")
        return report
    for col, allowed in (("level", LEVELS), ("dimension", DIMENSIONS), ("verdict", ITEM_VERDICTS),
                         ("status", STATUSES)):
        bad = ~items[col].isin(allowed)
        if bad.any():
            report.error(col, f"{int(bad.sum())} items with an unknown {col} "
                         f"{sorted(set(items.loc[bad, col]))[:10]}; use one of {list(allowed)}",
                         rows=_rows_where(items, bad))
    for col in ("item_id", "text", "scope"):
        empty = items[col] == ""
        if empty.any():
            report.error(f"empty_{col}", f"{int(empty.sum())} items without {col}", rows=_rows_where(items, empty))
    dup = items["item_id"].duplicated(keep=False) & (items["item_id"] != "")
    if dup.any():
        report.error("unique_id", f"{int(dup.sum())} rows share an item_id",
                     examples=sorted(set(items.loc[dup, "item_id"]))[:MAX_LISTED], rows=_rows_where(items, dup))
    scope_issues = [{"row": int(r), "problem": p} for r, scope in zip(items["row"], items["scope"])
                    for t in split_cell(scope) if (p := scope_problems(t, unit_codes, adcodes))]
    if scope_issues:
        report.error("scope", f"{len(scope_issues)} scope entries name no unit or area of the layers in force",
                     examples=scope_issues[:MAX_LISTED])
    if unknown_industries is not None:
        issues = [{"row": int(r), "codes": bad} for r, codes in zip(items["row"], items["industries"])
                  if (bad := unknown_industries(split_cell(codes)))]
        if issues:
            report.error("industries", f"{len(issues)} items name industry codes the GB/T 4754-2017 catalogue "
                         "does not know", examples=issues[:MAX_LISTED])
    if bad_scale is not None:
        issues = [{"row": int(r), "problem": p} for r, text in zip(items["row"], items["scale"])
                  if text and (p := bad_scale(text))]
        if issues:
            report.error("scale", f"{len(issues)} items have a size condition that does not parse",
                         examples=issues[:MAX_LISTED])
    suggested = items["status"] == "suggested"
    report.counts["suggested"] = int(suggested.sum())
    report.counts["uncoded"] = int((items["industries"] == "").sum())
    if suggested.any():
        report.warn("suggested", f"{int(suggested.sum())} items are still marked suggested: they are not applied "
                    "until an editor reviews them (status reviewed)", rows=_rows_where(items, suggested))
    return report
