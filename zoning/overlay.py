"""Overlay of one site on the store's layers: which features it touches, by how much (m² in
the site's local Gauss-Krüger zone) and what share of the site that is; and whether each
layer speaks for the site at all (coverage)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from layers.crs import to_gk3
from layers.store import LayerInfo, LayerStore
from layers.tiles import clip
from zoning.budget import check
from zoning.site import Site

# A polygon overlap smaller than this is a shared edge or a rounding sliver, not occupation.
MIN_OVERLAP_M2 = 0.01
# A site counts as covered by a layer if less than this share of it lies outside coverage
# (absorbs sub-metre differences between the boundary data sets).
COVERAGE_TOLERANCE = 1e-4
# Near-hit distance for point and line features in /here (degrees ≈ 50 m).
NEAR_DEG = 0.0005

POLYGONAL = ("Polygon", "MultiPolygon")


class Rows(Mapping):
    """Attribute columns (object arrays) seen through a row index, sliced when a column is
    read: a batch of 100,000 sites shares one set of columns instead of copying every column
    for every site."""

    __slots__ = ("_columns", "_rows")

    def __init__(self, columns: dict[str, np.ndarray], rows: np.ndarray):
        self._columns, self._rows = columns, rows

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name][self._rows]

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __iter__(self):
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


@dataclass
class LayerHits:
    """The features of one layer that a site touches, row-aligned arrays."""

    info: LayerInfo
    idx: np.ndarray
    ids: np.ndarray
    geoms: np.ndarray  # the features' own geometries
    attrs: Mapping[str, np.ndarray]  # canonical attribute columns (object arrays), row-aligned
    overlap_m2: np.ndarray  # NaN where the notion does not apply (point site, line layer)
    share: np.ndarray  # of the site's area; 1.0 for a point site inside; NaN for lines/points
    covered: bool  # does the layer speak for the whole site?
    absent: str | None = None  # why the layer says nothing here at all (it did not exist yet at as_of)

    def __len__(self) -> int:
        return len(self.idx)

    def without_features(self, covered: bool, absent: str | None = None) -> LayerHits:
        """The same layer with none of its features at the site."""
        none = np.zeros(len(self), bool)
        return LayerHits(self.info, self.idx[none], self.ids[none], self.geoms[none],
                         {k: np.asarray(v)[none] for k, v in self.attrs.items()}, self.overlap_m2[none],
                         self.share[none], covered=covered, absent=absent)

    def matching(self, where: dict) -> np.ndarray:
        """Boolean mask of hits whose attributes pass every test in ``where`` (values already
        resolved): a scalar means equality, a list means membership; compared as text so an
        integer class 1 matches '1'. A field the layer lacks reads as empty everywhere, so a
        test that lists "" (an unknown value) still takes its features."""
        mask = np.ones(len(self.idx), dtype=bool)
        if not len(self.idx):
            return mask
        for field, expected in where.items():
            col = self.attrs.get(field)
            if col is None:
                values = np.full(len(self.idx), "", dtype=object)
            else:
                values = np.array(["" if pd.isna(v) else _as_text(v) for v in col], dtype=object)
            allowed = {_as_text(v) for v in (expected if isinstance(expected, list) else [expected])}
            mask &= np.isin(values, list(allowed))
        return mask

    def row(self, i: int) -> dict:
        return {k: col[i] for k, col in self.attrs.items()}


def _as_text(v) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v)


def covered(store: LayerStore, layer_id: str, geom: shapely.Geometry,
            outline: shapely.Geometry | None = None) -> bool:
    """Does the layer speak for the whole geometry (up to :data:`COVERAGE_TOLERANCE`)?
    ``outline``, the geometry with its holes filled, answers the common case at the cost of
    its few vertices: what covers the outline covers the geometry."""
    cov = store.coverage(layer_id)
    if cov is None:
        return False
    outline = geom if outline is None else outline
    with store.predicates():
        if cov.covers(outline):
            return True
        if geom.geom_type == "Point" or not cov.intersects(outline):
            return False
    outside = shapely.difference(geom, clip(np.array([cov], dtype=object), *geom.bounds)[0])
    return shapely.area(outside) <= COVERAGE_TOLERANCE * shapely.area(geom)


def _hits(store: LayerStore, info: LayerInfo, idx: np.ndarray, overlap: np.ndarray,
          share: np.ndarray, is_covered: bool) -> LayerHits:
    return LayerHits(
        info=info,
        idx=idx,
        ids=store.feature_ids(info.id, idx),
        geoms=store.geometries(info.id, idx),
        attrs=store.attribute_columns(info.id, idx),
        overlap_m2=overlap,
        share=share,
        covered=is_covered,
    )


def overlay_layer(store: LayerStore, info: LayerInfo, site: Site) -> LayerHits:
    geom = site.geometry
    # candidates from the outline (holes filled): a site's hole rings cost every predicate, and
    # the polygons that fall into a hole are dropped below by their zero overlap
    _, idx = store.query(info.id, np.array([site.outline], dtype=object), predicate="intersects")
    idx = np.sort(idx)
    feats = store.geometries(info.id, idx)
    if site.filled is not None and len(idx):
        lines_points = ~np.isin(shapely.get_type_id(feats), [3, 6])
        if lines_points.any():  # no overlap area to tell them by: test them against the site
            keep = ~lines_points
            keep[lines_points] = shapely.intersects(feats[lines_points], geom)
            idx, feats = idx[keep], feats[keep]
    n = len(idx)
    overlap = np.full(n, np.nan)
    share = np.full(n, np.nan)
    polygonal = np.isin(shapely.get_type_id(feats), [3, 6]) if n else np.zeros(0, bool)
    if site.is_point:
        share[polygonal] = 1.0
    elif polygonal.any():
        pf = feats[polygonal]
        # a feature that contains the whole site (a province, a big unit) needs no overlay:
        # the prepared containment test is cheap, intersecting 100k-vertex polygons is not
        with store.predicates():
            inside = shapely.contains_properly(pf, site.outline)
        area = np.full(len(pf), site.area_m2)
        if (~inside).any():
            inter = shapely.intersection(pf[~inside], geom)
            area[~inside] = shapely.area(to_gk3(inter, site.gk_epsg))
        overlap[polygonal] = area
        share[polygonal] = area / site.area_m2
        # polygons that only touch the site along an edge do not count as hits
        keep = ~polygonal
        keep[polygonal] = area >= MIN_OVERLAP_M2
        idx, overlap, share = idx[keep], overlap[keep], share[keep]
    return _hits(store, info, idx, overlap, share, covered(store, info.id, geom, site.outline))


def overlay(store: LayerStore, site: Site, kinds: set[str] | None = None) -> dict[str, LayerHits]:
    """Overlay ``site`` on every vector layer (or those of the given kinds)."""
    out = {}
    for info in store.layers():
        if not info.spatial or (kinds is not None and info.kind not in kinds):
            continue
        check(f"overlaying layer {info.id}")
        out[info.id] = overlay_layer(store, info, site)
    return out


def features_at(store: LayerStore, lon: float, lat: float) -> dict[str, LayerHits]:
    """Every feature of every vector layer at a point: polygons containing it, points and
    lines within :data:`NEAR_DEG`."""
    pt = np.array([shapely.Point(lon, lat)], dtype=object)
    out = {}
    for info in store.layers():
        if not info.spatial:
            continue
        polygonal = all(t.upper() in ("POLYGON", "MULTIPOLYGON") for t in info.geometry_type.split("/"))
        if polygonal:
            _, idx = store.query(info.id, pt, predicate="intersects")
        else:
            _, idx = store.query(info.id, pt, predicate="dwithin", distance=NEAR_DEG)
        idx = np.sort(idx)
        out[info.id] = _hits(store, info, idx, np.full(len(idx), np.nan),
                             np.full(len(idx), 1.0 if polygonal else np.nan),
                             covered(store, info.id, pt[0]))
    return out


def overlay_many(store: LayerStore, sites: list[Site], kinds: set[str] | None = None,
                 layer_ids: set[str] | None = None) -> list[dict[str, LayerHits]]:
    """:func:`overlay` for many sites at once, with the same answers: one bulk spatial query
    per layer, intersections, Gauss-Krüger areas (grouped by zone) and coverage tests as array
    operations; Python only assembles the per-site results."""
    n = len(sites)
    geoms = np.array([s.geometry for s in sites], dtype=object)
    outlines = np.array([s.outline for s in sites], dtype=object)  # holes filled (see overlay_layer)
    holed = np.fromiter((s.filled is not None for s in sites), dtype=bool, count=n)
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT  # Site.is_point, at once
    site_area = np.fromiter((s.area_m2 for s in sites), dtype=float, count=n)
    epsg = np.fromiter((s.gk_epsg for s in sites), dtype=np.int64, count=n)
    out: list[dict[str, LayerHits]] = [{} for _ in range(n)]
    for info in store.layers():
        if not info.spatial or (kinds is not None and info.kind not in kinds):
            continue
        if layer_ids is not None and info.id not in layer_ids:
            continue
        check(f"overlaying layer {info.id}")
        si, fi = store.query(info.id, outlines, predicate="intersects")
        order = np.lexsort((fi, si))
        si, fi = si[order], fi[order]
        feats = store.geometries(info.id, fi) if len(fi) else np.empty(0, dtype=object)
        polygonal = np.isin(shapely.get_type_id(feats), [3, 6]) if len(fi) else np.zeros(0, bool)
        exact = ~polygonal & holed[si]  # lines and points inside a hole are no hits
        if exact.any():
            keep = np.ones(len(si), dtype=bool)
            keep[exact] = shapely.intersects(feats[exact], geoms[si[exact]])
            si, fi, feats, polygonal = si[keep], fi[keep], feats[keep], polygonal[keep]
        m = len(si)
        overlap, share = np.full(m, np.nan), np.full(m, np.nan)
        share[polygonal & is_point[si]] = 1.0
        pairs = polygonal & ~is_point[si]
        keep = np.ones(m, dtype=bool)
        if pairs.any():
            pf, sg, owner = feats[pairs], geoms[si[pairs]], si[pairs]
            area = site_area[owner].copy()
            with store.predicates():
                rest = ~shapely.contains_properly(pf, outlines[owner])
            if rest.any():
                inter = shapely.intersection(pf[rest], sg[rest])
                zones = epsg[owner][rest]
                a = np.empty(int(rest.sum()))
                for code in np.unique(zones):
                    sel = zones == code
                    a[sel] = shapely.area(to_gk3(inter[sel], int(code)))
                area[rest] = a
            overlap[pairs] = area
            share[pairs] = area / site_area[owner]
            keep[pairs] = area >= MIN_OVERLAP_M2
        si, fi, feats, overlap, share = si[keep], fi[keep], feats[keep], overlap[keep], share[keep]
        cov = store.coverage(info.id)
        if cov is None:
            is_covered = np.zeros(n, dtype=bool)
        else:
            with store.predicates():
                is_covered = shapely.covers(cov, outlines)
                edge = ~is_covered & ~is_point & shapely.intersects(cov, outlines)
            for i in np.flatnonzero(edge):
                is_covered[i] = covered(store, info.id, geoms[i], outlines[i])  # sites on the coverage edge
        uniq, inv = np.unique(fi, return_inverse=True)
        attrs = store.attribute_columns(info.id, uniq)
        ids = store.feature_ids(info.id, uniq)[inv] if len(uniq) else np.empty(0, dtype=object)
        bounds = np.searchsorted(si, np.arange(n + 1)).tolist()
        # per site only views: slices of the hit arrays, attributes read through Rows
        for i, (a, b, cov_i) in enumerate(zip(bounds[:-1], bounds[1:], is_covered.tolist())):
            out[i][info.id] = LayerHits(info, fi[a:b], ids[a:b], feats[a:b], Rows(attrs, inv[a:b]),
                                        overlap[a:b], share[a:b], cov_i)
    return out
