"""Access lists (生态环境准入清单) as a table: one row per list item.

An access list is a catalog entry of kind ``access_list``: a layer without geometry, so it is
published, validated, kept in history, rolled back and read ``as_of`` exactly as the spatial
layers are (``layers.versions``). This module says what its canonical table is and brings a
provincial table to it; what the items mean for a project is the judge's (``zoning.access_lists``).

Canonical columns (after the catalog's field mapping):

- ``item_id``: unique; ``level``: national / province / region / city / unit (国家 / 省 / 区域 /
  市 / 单元 accepted);
- ``scope``: whom the item covers, tokens separated by ``;`` — a unit code (``ZH140105…``), an
  adcode (``140000`` a province, ``140100`` a city, ``140105`` a county: the units inside), a
  unit class (``1``/``2``/``3`` or 优先保护 / 重点管控 / 一般管控), ``adcode/class`` (both), or
  ``*`` (everywhere);
- ``dimension``: 空间布局约束 / 污染物排放管控 / 环境风险防控 / 资源开发效率要求;
- ``industries``: GB/T 4754-2017 codes or prefixes (``C31;C3011``), empty: none coded;
  ``actions`` (new / expand / rebuild / relocate / operate, empty: all); ``products`` (the
  product keys of the industry catalogue, empty: all); ``scale``: a size condition on the
  project's capacity (``<=35 蒸吨/h``, ``>=300 万t/a``; empty: any size; ``zoning.scale``);
- ``verdict``: prohibited / conditional / permitted; ``text``: the item's own words;
  ``source``: document and article; ``status``: reviewed (default) or suggested (proposed by
  ``zoning lists suggest``; never applied until an editor reviews it).

A province's own table, one row per unit with a whole dimension's text in each of four cells
(the MEE delivery form), is accepted too: ``scope`` and the four dimensions (columns named
空间布局约束 … or mapped to ``spatial_layout``, ``emission_control``, ``risk_control``,
``resource_efficiency``); each non-empty cell becomes one uncoded item (a requirement).
"""

from __future__ import annotations

import re

import pandas as pd

COLUMNS = ("item_id", "level", "scope", "dimension", "industries", "actions", "products", "scale", "verdict",
           "text", "source", "status")
LEVELS = ("national", "province", "region", "city", "unit")
LEVEL_ALIASES = {"国家": "national", "全国": "national", "省": "province", "省级": "province", "区域": "region",
                 "片区": "region", "市": "city", "市级": "city", "地市": "city", "单元": "unit",
                 "管控单元": "unit"}
DIMENSIONS = ("空间布局约束", "污染物排放管控", "环境风险防控", "资源开发效率要求")
DIMENSION_FIELDS = {"spatial_layout": "空间布局约束", "emission_control": "污染物排放管控",
                    "risk_control": "环境风险防控", "resource_efficiency": "资源开发效率要求"}
DIMENSION_ALIASES = {**DIMENSION_FIELDS, "资源利用效率要求": "资源开发效率要求", "资源利用效率": "资源开发效率要求",
                     "空间布局": "空间布局约束", "污染物排放": "污染物排放管控", "环境风险": "环境风险防控"}
ITEM_VERDICTS = ("prohibited", "conditional", "permitted")
VERDICT_ALIASES = {"禁止": "prohibited", "限制": "conditional", "允许": "permitted", "鼓励": "permitted"}
STATUSES = ("reviewed", "suggested")
CLASS_TOKENS = {"1": "1", "2": "2", "3": "3", "优先保护": "1", "重点管控": "2", "一般管控": "3",
                "优先保护单元": "1", "重点管控单元": "2", "一般管控单元": "3"}
UNIT_CODE = re.compile(r"^ZH\d{6}[123]\d{4}$")
ADCODE = re.compile(r"^\d{6}$")
_SPLIT = re.compile(r"[;；,，、\s]+")


def split_cell(value) -> list[str]:
    """A multi-valued cell (``a;b``, ``a，b``, ``a、b``) as its values."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [v for v in _SPLIT.split(str(value).strip()) if v]


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()


def adcode_prefix(adcode: str) -> str:
    """The prefix of the county adcodes an adcode covers: 140000 → 14, 140100 → 1401."""
    if adcode.endswith("0000"):
        return adcode[:2]
    if adcode.endswith("00"):
        return adcode[:4]
    return adcode


# the columns of a one-row-per-unit table: the canonical field or the dimension's own name
WIDE_COLUMNS = {**DIMENSION_FIELDS, **{d: d for d in DIMENSIONS}}


def is_wide(frame: pd.DataFrame) -> bool:
    """A one-row-per-unit table with a dimension's whole text per cell (no ``text`` column)."""
    return "text" not in frame.columns and any(f in frame.columns for f in WIDE_COLUMNS)


def missing_fields(frame: pd.DataFrame, required) -> list[str]:
    """The required canonical fields a mapped table lacks (none for a one-row-per-unit table)."""
    return [] if is_wide(frame) else [f for f in required if f not in frame.columns]


def melt_wide(frame: pd.DataFrame) -> pd.DataFrame:
    """One uncoded item per non-empty dimension cell of a one-row-per-unit table; the item
    remembers its source row (``row``, 2 = the first row under the header)."""
    rows = []
    for i, rec in enumerate(frame.to_dict(orient="records")):
        scope = _text(rec.get("scope"))
        for n, dimension in enumerate(DIMENSIONS, start=1):
            text = "".join(_text(rec.get(c)) for c, d in WIDE_COLUMNS.items() if d == dimension)
            if not text:
                continue
            rows.append({"item_id": f"{scope or i + 2}-{n}", "level": _text(rec.get("level")) or "unit",
                         "scope": scope, "dimension": dimension, "verdict": "conditional", "text": text,
                         "source": _text(rec.get("source")), "row": i + 2})
    return pd.DataFrame(rows, columns=[*COLUMNS, "row"])


def canonical_items(frame: pd.DataFrame) -> pd.DataFrame:
    """The canonical table from a mapped one (either form): every column a string, aliases
    (Chinese levels, dimensions and verdicts) normalised, multi-valued cells joined by ``;``,
    empty status = reviewed. Values that cannot be normalised are kept for the validator."""
    if is_wide(frame):
        frame = melt_wide(frame)
    else:
        frame = frame.copy()
        frame["row"] = range(2, len(frame) + 2)
    out = pd.DataFrame(index=frame.index)
    for col in COLUMNS:
        values = frame[col] if col in frame.columns else pd.Series([""] * len(frame), index=frame.index)
        out[col] = [_text(v) for v in values]
    out["level"] = [LEVEL_ALIASES.get(v, v.lower()) for v in out["level"]]
    out["dimension"] = [DIMENSION_ALIASES.get(v, v) for v in out["dimension"]]
    out["verdict"] = [VERDICT_ALIASES.get(v, v.lower()) for v in out["verdict"]]
    out["status"] = [v.lower() or "reviewed" for v in out["status"]]
    for col in ("scope", "industries", "actions", "products"):
        out[col] = [";".join(split_cell(v)) for v in out[col]]
    out["industries"] = [v.upper() for v in out["industries"]]
    out["row"] = frame["row"].astype(int).to_numpy()
    return out.reset_index(drop=True)


def scope_problems(token: str, unit_codes: set[str], adcodes: set[str]) -> str | None:
    """Why a scope token names nothing (None: it is fine)."""
    if token == "*":
        return None
    place, _, cls = token.partition("/")
    if cls and cls not in CLASS_TOKENS:
        return f"unknown unit class {cls!r} in {token!r}"
    if place in CLASS_TOKENS and not cls:
        return None
    if UNIT_CODE.match(place):
        return None if place in unit_codes else f"unknown unit code {place}"
    if ADCODE.match(place):
        return None if place in adcodes else f"unknown adcode {place}"
    return f"scope {token!r} is neither a unit code, an adcode, a unit class nor *"
