"""Sites: a GeoJSON geometry, Feature or FeatureCollection (lon/lat, EPSG:4490/WGS84) turned
into one checked shapely geometry. Every way a site can be wrong gets an :class:`InvalidSite`
whose message names the problem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import shapely
from shapely.geometry import shape

from layers.crs import area_m2, gk3_epsg
from zoning.errors import InvalidSite

SITE_TYPES = ("Point", "Polygon", "MultiPolygon")
MAX_DEPTH = 16  # a MultiPolygon inside a FeatureCollection is 7 levels deep
MAX_FEATURES = 1_000
# China (73.5–135.1 °E, 3.8–53.6 °N) and a margin: farther out no layer speaks, and a local
# Gauss-Krüger zone for areas does not exist
SERVICE_AREA = (70.0, 0.0, 140.0, 57.0)


@dataclass(frozen=True)
class SiteLimits:
    """What one site may cost, checked before any overlay. The cost of judging a polygon grows
    with its vertices, its parts and its holes (each hole is a ring every predicate walks), so
    each has its own limit; defaults sit far above a planner's real parcels (docs/security.md)."""

    max_vertices: int = 100_000
    max_parts: int = 1_000
    max_holes: int = 5_000
    area: tuple[float, float, float, float] = SERVICE_AREA  # lon/lat box sites must lie in

    def times(self, n: int) -> SiteLimits:
        """The limits for ``n`` such sites taken as one (an upload's union)."""
        return replace(self, max_vertices=self.max_vertices * n, max_parts=self.max_parts * n,
                       max_holes=self.max_holes * n)


@dataclass(frozen=True)
class Site:
    geometry: shapely.Geometry
    area_m2: float
    centroid: tuple[float, float]
    gk_epsg: int
    vertices: int
    filled: shapely.Geometry | None = None  # the polygon(s) without holes, when it has holes

    @property
    def is_point(self) -> bool:
        return self.geometry.geom_type == "Point"

    @property
    def outline(self) -> shapely.Geometry:
        """The site with its holes filled: what a feature must touch to be a candidate hit, a
        few vertices where the site may have thousands of hole rings."""
        return self.geometry if self.filled is None else self.filled


def _depth(obj, limit: int) -> int:
    """Nesting depth of lists/dicts, iteratively (a hostile input must not blow the stack)."""
    stack, deepest = [(obj, 1)], 0
    while stack:
        node, d = stack.pop()
        if d > limit:
            return d
        deepest = max(deepest, d)
        if isinstance(node, Mapping):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list | tuple):
            stack.extend((v, d + 1) for v in node)
    return deepest


def _geometries(obj: Mapping) -> list[Mapping]:
    kind = obj.get("type")
    if kind == "FeatureCollection":
        feats = obj.get("features")
        if not isinstance(feats, list) or not feats:
            raise InvalidSite("FeatureCollection has no features")
        if len(feats) > MAX_FEATURES:
            raise InvalidSite(f"FeatureCollection has {len(feats)} features; at most {MAX_FEATURES}")
        out = []
        for i, f in enumerate(feats):
            if not isinstance(f, Mapping) or f.get("type") != "Feature":
                raise InvalidSite(f"features[{i}] is not a GeoJSON Feature")
            out.extend(_geometries(f))
        return out
    if kind == "Feature":
        geom = obj.get("geometry")
        if not isinstance(geom, Mapping):
            raise InvalidSite("Feature has no geometry")
        return [geom]
    if kind in SITE_TYPES:
        return [obj]
    if kind in ("LineString", "MultiLineString", "MultiPoint", "GeometryCollection"):
        raise InvalidSite(f"a site must be one of {', '.join(SITE_TYPES)}; got {kind}")
    raise InvalidSite(
        f"not a GeoJSON site: type {kind!r}; expected a {', '.join(SITE_TYPES)} geometry, "
        "a Feature or a FeatureCollection"
    )


def parse_site(obj: object, *, limits: SiteLimits = SiteLimits()) -> Site:
    """Check and convert a GeoJSON mapping (lon/lat in EPSG:4490 or WGS84) to a :class:`Site`."""
    if not isinstance(obj, Mapping):
        raise InvalidSite("site must be a GeoJSON object")
    if _depth(obj, MAX_DEPTH) > MAX_DEPTH:
        raise InvalidSite(f"site GeoJSON is nested deeper than {MAX_DEPTH} levels")
    parts = []
    for g in _geometries(obj):
        kind = g.get("type")
        if kind not in SITE_TYPES:
            raise InvalidSite(f"a site must be one of {', '.join(SITE_TYPES)}; got {kind!r}")
        coords = g.get("coordinates")
        if not isinstance(coords, list | tuple):
            raise InvalidSite(f"{kind} has no coordinates array")
        try:
            geom = shape(g)
        except Exception as exc:  # shapely raises ValueError/TypeError/IndexError on bad arrays
            raise InvalidSite(f"malformed {kind} coordinates: {exc}") from None
        parts.append(geom)
    return site_from_geometries(np.asarray(parts, dtype=object), limits=limits)


def site_from_geometry(geom: shapely.Geometry, *, limits: SiteLimits = SiteLimits()) -> Site:
    """The same checks for a shapely geometry already in EPSG:4490 (e.g. a parsed upload)."""
    return site_from_geometries(np.asarray([geom], dtype=object), limits=limits)


def _polygons(geoms: np.ndarray) -> np.ndarray:
    """The polygons of polygonal geometries (the parts of multipolygons)."""
    return shapely.get_parts(geoms[np.isin(shapely.get_type_id(geoms), [3, 6])])


def site_from_geometries(geoms: np.ndarray, *, limits: SiteLimits = SiteLimits()) -> Site:
    nverts = int(shapely.get_num_coordinates(geoms).sum())
    if nverts > limits.max_vertices:
        raise InvalidSite(f"site has {nverts:,} vertices; at most {limits.max_vertices:,} (setting max_site_vertices)")
    polygons = _polygons(geoms)
    if len(polygons) > limits.max_parts:
        raise InvalidSite(f"site has {len(polygons):,} polygons; at most {limits.max_parts:,} (setting max_site_parts)")
    holes = int(shapely.get_num_interior_rings(polygons).sum()) if len(polygons) else 0
    if holes > limits.max_holes:
        raise InvalidSite(f"site has {holes:,} holes (interior rings); at most {limits.max_holes:,} "
                          "(setting max_site_holes)")
    xy = shapely.get_coordinates(geoms, include_z=False)
    if not np.isfinite(xy).all():
        raise InvalidSite("site coordinates contain NaN or infinity")
    if shapely.is_empty(geoms).any() or len(xy) == 0:
        raise InvalidSite("site geometry is empty")
    if (np.abs(xy[:, 0]) > 180).any() or (np.abs(xy[:, 1]) > 90).any():
        raise InvalidSite(
            "site coordinates are out of range for longitude/latitude (|lon| <= 180, |lat| <= 90); "
            "projected metres (e.g. Gauss-Krüger) must be converted to EPSG:4490 first"
        )
    w, s, e, n = limits.area
    if ((xy[:, 0] < w) | (xy[:, 0] > e) | (xy[:, 1] < s) | (xy[:, 1] > n)).any():
        raise InvalidSite(
            f"the site lies (partly) outside the service area, longitude {w:g}..{e:g} and latitude "
            f"{s:g}..{n:g} (China and a margin): no layer speaks there and areas would be wrong")
    for i, g in enumerate(geoms):
        if not g.is_valid:
            where = f" (part {i})" if len(geoms) > 1 else ""
            raise InvalidSite(f"site geometry is invalid{where}: {shapely.is_valid_reason(g)}")
    kinds = {g.geom_type for g in geoms}
    if "Point" in kinds and len(geoms) > 1:
        raise InvalidSite("a site is one point or one or more polygons, not a mix or several points")
    geom = geoms[0] if len(geoms) == 1 else shapely.union_all(geoms)
    if geom.geom_type == "Point":
        lon, lat = geom.x, geom.y
        area = 0.0
    else:
        c = shapely.centroid(geom)
        lon, lat = c.x, c.y
        area = float(area_m2([geom], lon_hint=lon)[0])
        if area <= 0:
            raise InvalidSite("site polygon has zero area")
    shapely.prepare(geom)
    filled = None
    if holes:
        filled = shapely.union_all(shapely.polygons(shapely.get_exterior_ring(polygons)))
        shapely.prepare(filled)
    return Site(
        geometry=geom,
        area_m2=area,
        centroid=(lon, lat),
        gk_epsg=gk3_epsg(lon),
        vertices=nverts,
        filled=filled,
    )
