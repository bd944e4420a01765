"""Feature selection for serving layers: bounding box, property equality and CQL2 filters.

CQL2 (text or JSON) is parsed by pygeofilter into an AST; every property name in it is
checked against the layer's schema before anything is evaluated, and evaluation maps the AST
to pandas/shapely operations (pygeofilter's geopandas backend) — user text is never run as
code nor pasted into SQL. A database backend translates the same AST to bound SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from pygeofilter import ast
from pygeofilter.backends.geopandas.evaluate import to_filter
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text

from layers.errors import BadRequest


class InvalidFilter(BadRequest):
    """A filter that does not parse, names unknown properties or uses unsupported operators."""

    status = 400


def parse_filter(text: str, lang: str = "cql2-text") -> ast.Node:
    """Parse CQL2 text or JSON into an AST; raise :class:`InvalidFilter` naming the problem."""
    if len(text) > 20_000:
        raise InvalidFilter("filter longer than 20,000 characters")
    try:
        if lang == "cql2-text":
            node = parse_cql2_text(text)
        elif lang == "cql2-json":
            node = parse_cql2_json(text)
        else:
            raise InvalidFilter(f"filter-lang must be cql2-text or cql2-json; got {lang!r}")
    except InvalidFilter:
        raise
    except Exception as exc:  # the parsers raise lark / json / value errors
        raise InvalidFilter(f"cannot parse {lang} filter: {str(exc).splitlines()[0][:300]}") from None
    if not isinstance(node, ast.Node):
        raise InvalidFilter("filter is not a predicate")
    _cql2_like(node)
    return node


def _cql2_like(node: ast.Node) -> None:
    """CQL2's LIKE: ``%`` any run of characters, ``_`` one character, ``\\`` the escape
    (pygeofilter's parsers hand over ``.`` as the single-character wildcard, so ``_`` matched
    itself and ``.`` any character)."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Like):
            n.wildcard, n.singlechar, n.escapechar = "%", "_", "\\"
        if isinstance(n, ast.Node):
            stack.extend(c for c in n.get_sub_nodes() if c is not None)
        elif isinstance(n, list | tuple):
            stack.extend(n)


def check_properties(node: ast.Node, fields: set[str], geometry_name: str = "geometry") -> None:
    """Every attribute the filter names must be a field of the layer (or its geometry)."""
    unknown: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Attribute):
            if n.name not in fields and n.name != geometry_name:
                unknown.add(n.name)
        elif isinstance(n, ast.Function):
            raise InvalidFilter(f"filter functions are not supported ({n.name})")
        elif isinstance(n, ast.Node):
            stack.extend(c for c in n.get_sub_nodes() if c is not None)
        elif isinstance(n, list | tuple):
            stack.extend(n)
    if unknown:
        raise InvalidFilter(
            f"filter names unknown properties {sorted(unknown)}; known: {sorted(fields)}"
        )


def check_equals(equals: dict | None, fields: set[str]) -> None:
    unknown = sorted(set(equals or {}) - fields)
    if unknown:
        raise InvalidFilter(f"unknown properties {unknown}; known: {sorted(fields)}")


@dataclass
class Selection:
    matched: int
    idx: np.ndarray  # indices into the layer, after offset/limit


def select(frame: pd.DataFrame, geoms: np.ndarray, tree: shapely.STRtree, *,
           bbox: tuple[float, float, float, float] | None = None,
           equals: dict[str, str] | None = None,
           cql: ast.Node | None = None,
           limit: int = 10, offset: int = 0) -> Selection:
    """Indices of the features passing every test, in layer order, paged."""
    check_equals(equals, set(frame.columns))
    mask = np.ones(len(frame), dtype=bool)
    if bbox is not None:
        hit = np.zeros(len(frame), dtype=bool)
        hit[tree.query(shapely.box(*bbox), predicate="intersects")] = True
        mask &= hit
    for name, value in (equals or {}).items():
        col = frame[name]
        mask &= col.astype(str).to_numpy() == str(value)
    if cql is not None and mask.any():
        sub = np.flatnonzero(mask)
        import geopandas as gpd

        gdf = gpd.GeoDataFrame(frame.iloc[sub].reset_index(drop=True), geometry=list(geoms[sub]))
        try:
            keep = np.asarray(to_filter(gdf, cql, {}, {}), dtype=bool)
        except Exception as exc:
            raise InvalidFilter(f"filter cannot be applied: {str(exc)[:300]}") from None
        mask[sub[~keep]] = False
    idx = np.flatnonzero(mask)
    return Selection(matched=len(idx), idx=idx[offset: offset + limit])
