"""OGC API – Features under ``/ogc``: Part 1 Core (GeoJSON + HTML), Part 2 CRS (CRS84,
EPSG:4326, 4490, 3857) and a Part 3 filtering subset (CQL2 text/JSON, property equality).

Readable by GDAL's OAPIF driver, QGIS and owslib without custom code."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Annotated

import jinja2
import numpy as np
import orjson
import shapely
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pyproj import CRS, Transformer

from app.auth import PrincipalDep, ensure_readable
from app.deps import ServicesDep
from app.openapi30 import downgrade
from app.routing import StrictRoute
from layers.errors import BadRequest, NotFound
from layers.query import check_properties, parse_filter
from layers.store import LayerInfo, LayerStore, UnknownLayer
from layers.values import plain

router = APIRouter(route_class=StrictRoute, prefix="/ogc", tags=["ogc-features"])

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
SUPPORTED_CRS = {
    CRS84: "OGC:CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/4326": "EPSG:4326",
    "http://www.opengis.net/def/crs/EPSG/0/4490": "EPSG:4490",
    "http://www.opengis.net/def/crs/EPSG/0/3857": "EPSG:3857",
}
STORAGE_CRS_URI = "http://www.opengis.net/def/crs/EPSG/0/4490"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
]
GEOJSON = "application/geo+json"
RESERVED = {"f", "bbox", "bbox-crs", "crs", "limit", "offset", "filter", "filter-lang",
            "filter-crs", "datetime"}
MAX_LIMIT = 10_000


def _wants_html(request: Request, f: str | None) -> bool:
    if f is not None:
        if f not in ("json", "html"):
            raise BadRequest(f"f must be json or html; got {f!r}")
        return f == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _json(content, media_type: str = "application/json", headers: dict | None = None) -> Response:
    return Response(orjson.dumps(content), media_type=media_type, headers=headers)


_PAGES = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent.parent / "templates" / "ogc"),
                            autoescape=True, trim_blocks=True, lstrip_blocks=True)


def _page(template: str, title: str, synthetic: bool = False, **context) -> HTMLResponse:
    """An OGC resource as HTML, from its template in app/templates/ogc (escaped by Jinja)."""
    return HTMLResponse(_PAGES.get_template(f"{template}.html.j2").render(title=title, synthetic=synthetic, **context))


def _vector_layers(store: LayerStore) -> list[LayerInfo]:
    return [i for i in store.layers() if i.spatial]


def _collection(info: LayerInfo, base: str) -> dict:
    e = info.entry
    cid = e.id
    bbox = list(info.bbox) if info.bbox else [-180, -90, 180, 90]
    return {
        "id": cid,
        "title": e.title.en,
        "description": f"{e.title.zh} — {e.title.en}. kind={e.kind}; version={info.version}; "
                       f"vintage={e.vintage}; {'SYNTHETIC sample data. ' if e.synthetic else ''}"
                       f"{e.provenance}",
        "keywords": [e.kind] + (["synthetic"] if e.synthetic else []),
        "itemType": "feature",
        "extent": {"spatial": {"bbox": [bbox], "crs": CRS84}},
        "crs": list(SUPPORTED_CRS),
        "storageCrs": STORAGE_CRS_URI,
        "synthetic": e.synthetic,
        "version": info.version,
        "links": [
            {"href": f"{base}/collections/{cid}", "rel": "self", "type": "application/json", "title": "this collection"},
            {"href": f"{base}/collections/{cid}?f=html", "rel": "alternate", "type": "text/html", "title": "as HTML"},
            {"href": f"{base}/collections/{cid}/items", "rel": "items", "type": GEOJSON, "title": "items"},
            {"href": f"{base}/collections/{cid}/items?f=html", "rel": "items", "type": "text/html", "title": "items as HTML"},
            {"href": f"{base}/collections/{cid}/queryables", "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             "type": "application/schema+json", "title": "queryables"},
        ],
    }


@router.get("", include_in_schema=False)
@router.get("/", operation_id="ogcLanding", summary="OGC API landing page")
def landing(request: Request, f: str | None = None):
    base = _base(request)
    doc = {
        "title": "Zoning layers (OGC API – Features)",
        "description": "Zoning, key-region and renewable-land layers. Layers flagged synthetic are generated sample data.",
        "links": [
            {"href": f"{base}/", "rel": "self", "type": "application/json", "title": "this document"},
            {"href": f"{base}/?f=html", "rel": "alternate", "type": "text/html", "title": "as HTML"},
            {"href": f"{base}/api", "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0", "title": "API definition"},
            {"href": str(request.base_url).rstrip("/") + "/docs", "rel": "service-doc", "type": "text/html", "title": "API documentation"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": "application/json", "title": "conformance"},
            {"href": f"{base}/collections", "rel": "data", "type": "application/json", "title": "collections"},
        ],
    }
    if _wants_html(request, f):
        return _page("landing", doc["title"], doc=doc)
    return _json(doc)


@router.get("/conformance", operation_id="ogcConformance")
def conformance(request: Request, f: str | None = None):
    if _wants_html(request, f):
        return _page("conformance", "Conformance", classes=CONFORMANCE)
    return _json({"conformsTo": CONFORMANCE})


@router.get("/api", operation_id="ogcApi", summary="OpenAPI definition",
            responses={200: {"content": {"application/vnd.oai.openapi+json;version=3.0": {}}}})
def api(request: Request):
    doc = getattr(request.app.state, "openapi30", None)
    if doc is None:
        doc = request.app.state.openapi30 = downgrade(request.app.openapi())
    return _json(doc, media_type="application/vnd.oai.openapi+json;version=3.0")


@router.get("/collections", operation_id="ogcCollections")
def collections(request: Request, services: ServicesDep, f: str | None = None):
    base = _base(request)
    cols = [_collection(i, base) for i in _vector_layers(services.store)]
    if _wants_html(request, f):
        return _page("collections", "Collections", collections=cols, base=base)
    return _json({
        "links": [
            {"href": f"{base}/collections", "rel": "self", "type": "application/json", "title": "collections"},
            {"href": f"{base}/collections?f=html", "rel": "alternate", "type": "text/html", "title": "as HTML"},
        ],
        "collections": cols,
        "crs": list(SUPPORTED_CRS),
    })


def collection_info(collection_id: str, services: ServicesDep) -> LayerInfo:
    """The vector layer a path names (a 404 in the OGC shape otherwise)."""
    try:
        info = services.store.info(collection_id)
    except UnknownLayer:
        raise NotFound(f"no collection {collection_id!r}") from None
    if info.kind == "raster":
        raise NotFound(f"collection {collection_id!r} is a raster, not features")
    if not info.spatial:
        raise NotFound(f"{collection_id!r} is an access list, a table without geometry: "
                       "its items are at /v1/control-units/{{code}}")
    return info


CollectionDep = Annotated[LayerInfo, Depends(collection_info)]


@router.get("/collections/{collection_id}", operation_id="ogcCollection")
def collection(collection_id: str, info: CollectionDep, request: Request, f: str | None = None):
    doc = _collection(info, _base(request))
    if _wants_html(request, f):
        return _page("collection", doc["title"], info.synthetic, doc=doc, base=_base(request))
    return _json(doc)


@router.get("/collections/{collection_id}/queryables", operation_id="ogcQueryables")
def queryables(collection_id: str, info: CollectionDep, request: Request, services: ServicesDep):
    attrs = services.store.attributes(collection_id, np.arange(min(info.count, 1)))
    props = {"geometry": {"format": "geometry-any", "x-ogc-role": "primary-geometry"}}
    for name in info.fields:
        dtype = str(attrs[name].dtype) if name in attrs else "object"
        kind = "integer" if dtype.startswith("int") else "number" if dtype.startswith("float") else "string"
        props[name] = {"type": kind, "title": name}
    return _json({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{_base(request)}/collections/{collection_id}/queryables",
        "type": "object", "title": info.entry.title.en, "properties": props,
        "additionalProperties": False,
    }, media_type="application/schema+json")


def _crs(uri: str | None, param: str) -> str:
    if uri is None:
        return CRS84
    uri = uri.strip("<>")
    if uri not in SUPPORTED_CRS:
        raise BadRequest(f"{param} {uri!r} is not supported; use one of {list(SUPPORTED_CRS)}")
    return uri


def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(CRS.from_user_input(SUPPORTED_CRS[src]), CRS.from_user_input(SUPPORTED_CRS[dst]))


def _unsupported(request: Request) -> None:
    """Parameters of the standard this service does not implement are refused, not ignored."""
    q = request.query_params
    if "datetime" in q:
        raise BadRequest("datetime is not supported: the collections have no temporal extent (their versions "
                         "have dates: use /v1/layers/{id}/versions, or as_of on /v1/assess)")
    if "filter-crs" in q and _crs(q["filter-crs"], "filter-crs") != CRS84:
        raise BadRequest("filter-crs must be CRS84 (http://www.opengis.net/def/crs/OGC/1.3/CRS84): filter "
                         "geometries are taken as longitude/latitude")


def _parse_bbox(text: str, bbox_crs: str) -> tuple[float, float, float, float]:
    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        raise BadRequest(f"bbox must be 4 comma-separated numbers; got {text!r}") from None
    if len(vals) == 6:
        vals = [vals[0], vals[1], vals[3], vals[4]]
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals):
        raise BadRequest(f"bbox must be 4 finite numbers (minx,miny,maxx,maxy); got {text!r}")
    if bbox_crs != CRS84:
        tr = _transformer(bbox_crs, CRS84)
        xs, ys = tr.transform([vals[0], vals[2], vals[0], vals[2]], [vals[1], vals[3], vals[3], vals[1]])
        vals = [min(xs), min(ys), max(xs), max(ys)]
    minx, miny, maxx, maxy = vals
    if bbox_crs == CRS84 and (miny > maxy or not (-90 <= miny <= 90 and -90 <= maxy <= 90)):
        raise BadRequest(f"bbox latitudes out of order or range: {text!r}")
    if minx > maxx or miny > maxy:
        raise BadRequest(f"bbox must be minx,miny,maxx,maxy with min <= max (a box across the antimeridian "
                         f"is not supported); got {text!r}")
    return minx, miny, maxx, maxy


def _geometry_json(geoms: np.ndarray, crs: str) -> list[bytes]:
    if crs != CRS84:
        tr = _transformer(CRS84, crs)

        def fwd(xy):
            a, b = tr.transform(xy[:, 0], xy[:, 1])
            return np.column_stack([a, b])

        geoms = shapely.transform(geoms, fwd)
    return [orjson.Fragment(g) for g in shapely.to_geojson(geoms)]


def _features(store: LayerStore, collection_id: str, idx: np.ndarray, crs: str, base: str,
              geoms: np.ndarray | None = None) -> list[dict]:
    attrs = store.attributes(collection_id, idx)
    ids = store.feature_ids(collection_id, idx)
    geoms = _geometry_json(store.geometries(collection_id, idx) if geoms is None else geoms, crs)
    cols = list(attrs.columns)
    out = []
    for fid, row, g in zip(ids, attrs.itertuples(index=False, name=None), geoms):
        out.append({
            "type": "Feature", "id": fid, "geometry": g,
            "properties": {c: plain(v) for c, v in zip(cols, row)},
            "links": [{"href": f"{base}/collections/{collection_id}/items/{fid}", "rel": "self", "type": GEOJSON}],
        })
    return out


def _page_within(store: LayerStore, collection_id: str, idx: np.ndarray, max_vertices: int):
    """The first features of a page whose vertices stay within ``max_vertices`` (at least one):
    a page is cut short, as the standard allows, rather than a 60-byte GET answering 164 MB
    (``limit=10000`` of the national counties); ``next`` continues after the last one sent."""
    geoms = store.geometries(collection_id, idx)
    if len(idx) == 0:
        return idx, geoms
    total = np.cumsum(shapely.get_num_coordinates(geoms))
    n = max(1, int(np.searchsorted(total, max_vertices, side="right")))
    return idx[:n], geoms[:n]


def _html_features(title: str, feats: list[dict], synthetic: bool, links: list[dict]) -> HTMLResponse:
    cols = list(feats[0]["properties"]) if feats else []
    return _page("items", title, synthetic, features=feats, columns=cols, links=links)


@router.get("/collections/{collection_id}/items", operation_id="ogcItems")
def items(
    collection_id: str,
    info: CollectionDep,
    request: Request,
    services: ServicesDep,
    who: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
    bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy in bbox-crs")] = None,
    bbox_crs: Annotated[str | None, Query(alias="bbox-crs")] = None,
    crs: str | None = None,
    filter: Annotated[str | None, Query(description="CQL2 filter")] = None,
    filter_lang: Annotated[str, Query(alias="filter-lang")] = "cql2-text",
    f: str | None = None,
):
    """Features of a collection. Any other query parameter named like a property is an
    equality filter (``?unit_class=1``)."""
    ensure_readable(services, who, collection_id)
    _unsupported(request)
    out_crs = _crs(crs, "crs")
    box = _parse_bbox(bbox, _crs(bbox_crs, "bbox-crs")) if bbox else None
    fields = set(info.fields)
    equals = {}
    for key, value in request.query_params.items():
        if key in RESERVED:
            continue
        if key not in fields:
            raise BadRequest(f"unknown query parameter {key!r}; properties of {collection_id}: {sorted(fields)}")
        equals[key] = value
    cql = None
    if filter:
        cql = parse_filter(filter, filter_lang)
        check_properties(cql, fields)
    sel = services.store.select(collection_id, bbox=box, equals=equals, cql=cql, limit=limit, offset=offset)
    base = _base(request)
    html = _wants_html(request, f)
    idx, geoms = _page_within(services.store, collection_id, sel.idx,
                              services.settings.ogc_page_vertices // (10 if html else 1))
    feats = _features(services.store, collection_id, idx, out_crs, base, geoms)
    here = str(request.url.remove_query_params(["offset", "f"]))
    sep = "&" if "?" in here else "?"
    links = [
        {"href": str(request.url), "rel": "self", "type": GEOJSON, "title": "this document"},
        {"href": f"{here}{sep}offset={offset}&f=html", "rel": "alternate", "type": "text/html", "title": "as HTML"},
        {"href": f"{base}/collections/{collection_id}", "rel": "collection", "type": "application/json", "title": "collection"},
    ]
    if offset + len(idx) < sel.matched:
        links.append({"href": f"{here}{sep}offset={offset + len(idx)}", "rel": "next", "type": GEOJSON, "title": "next page"})
    if offset > 0:
        links.append({"href": f"{here}{sep}offset={max(0, offset - limit)}", "rel": "prev", "type": GEOJSON, "title": "previous page"})
    if html:
        return _html_features(f"{info.entry.title.en} — items", feats, info.synthetic, links)
    doc = {
        "type": "FeatureCollection",
        "features": feats,
        "numberMatched": sel.matched,
        "numberReturned": len(feats),
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
        "synthetic": info.synthetic,
        "layer_version": info.version,
    }
    return _json(doc, GEOJSON, headers={"Content-Crs": f"<{out_crs}>"})


@router.get("/collections/{collection_id}/items/{feature_id}", operation_id="ogcItem")
def item(collection_id: str, info: CollectionDep, feature_id: str, request: Request, services: ServicesDep, who: PrincipalDep,
         crs: str | None = None, f: str | None = None):
    ensure_readable(services, who, collection_id)
    out_crs = _crs(crs, "crs")
    i = services.store.index_of(collection_id, feature_id)
    if i is None:
        raise NotFound(f"no feature {feature_id!r} in collection {collection_id!r}")
    base = _base(request)
    feat = _features(services.store, collection_id, np.array([i]), out_crs, base)[0]
    feat["links"] += [
        {"href": f"{base}/collections/{collection_id}", "rel": "collection", "type": "application/json", "title": "collection"},
        {"href": f"{base}/collections/{collection_id}/items/{feature_id}?f=html", "rel": "alternate", "type": "text/html", "title": "as HTML"},
    ]
    if _wants_html(request, f):
        return _html_features(f"{collection_id} / {feature_id}", [feat], info.synthetic, [])
    return _json(feat, GEOJSON, headers={"Content-Crs": f"<{out_crs}>"})
