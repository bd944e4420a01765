"""Vector tiles (WebMercatorQuad), TileJSON 3.0, a MapLibre style and its legend."""

from __future__ import annotations

import gzip
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from app.auth import PrincipalDep, ensure_readable
from app.deps import ServicesDep
from app.routing import StrictRoute
from app.style import legend, style
from layers.tiles import render, render_raster
from zoning.errors import InvalidParameter
from zoning.vocabulary import DEFAULT_EDITION, Edition

router = APIRouter(route_class=StrictRoute, prefix="/tiles", tags=["tiles"])
MVT = "application/vnd.mapbox-vector-tile"
PNG = "image/png"
CACHE_CONTROL = "public, max-age=3600"


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _not_modified(request: Request, t) -> bool:
    return t.etag in request.headers.get("if-none-match", "")


def _vector(services):
    return [i for i in services.store.layers() if i.spatial]


@router.get("/{layers}/{z}/{x}/{y}.mvt", operation_id="getTile",
            responses={200: {"content": {MVT: {}}}, 304: {"description": "not modified"},
                       404: {"description": "tile outside the matrix or the layers' zoom range"}})
def tile(
    layers: Annotated[str, Path(description="a layer id, or several joined by commas")],
    z: Annotated[int, Path(ge=0, le=24)],
    x: Annotated[int, Path(ge=0, le=2**24 - 1)],
    y: Annotated[int, Path(ge=0, le=2**24 - 1)],
    request: Request,
    services: ServicesDep,
    who: PrincipalDep,
):
    ids = [i for i in layers.split(",") if i]
    if not ids or len(ids) > 32 or len(set(ids)) != len(ids):
        raise InvalidParameter(f"give 1 to 32 distinct layer ids joined by commas; got {layers!r}")
    ensure_readable(services, who, *ids)
    for i in ids:
        if services.store.is_raster(i):
            raise InvalidParameter(f"layer {i!r} is a raster: fetch /tiles/{i}/{{z}}/{{x}}/{{y}}.png")
        if not services.store.info(i).spatial:
            raise InvalidParameter(f"layer {i!r} is a table without geometry (kind "
                                   f"{services.store.info(i).kind}); it has no tiles")
    t = render(services.store, ids, z, x, y, cache=services.tiles, pyramid=services.pyramid)
    headers = {"ETag": t.etag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept-Encoding",
               "X-Tile-Features": str(t.features)}
    if _not_modified(request, t):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(t.data, media_type=MVT, headers={**headers, "Content-Encoding": "gzip"})
    return Response(gzip.decompress(t.data), media_type=MVT, headers=headers)


@router.get("/{layer}/{z}/{x}/{y}.png", operation_id="getRasterTile",
            responses={200: {"content": {PNG: {}}}, 304: {"description": "not modified"},
                       404: {"description": "tile outside the matrix, the zoom range or the raster"}})
def raster_tile(
    layer: Annotated[str, Path(description="a raster layer id")],
    z: Annotated[int, Path(ge=0, le=24)],
    x: Annotated[int, Path(ge=0, le=2**24 - 1)],
    y: Annotated[int, Path(ge=0, le=2**24 - 1)],
    request: Request,
    services: ServicesDep,
    who: PrincipalDep,
):
    """A raster layer drawn with its colour ramp (see /tiles/legend.json), transparent on nodata."""
    ensure_readable(services, who, layer)
    if not services.store.is_raster(layer):
        services.store.info(layer)  # 404 for an unknown id
        raise InvalidParameter(f"layer {layer!r} is a vector layer: fetch /tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt")
    t = render_raster(services.store, layer, z, x, y, cache=services.tiles)
    headers = {"ETag": t.etag, "Cache-Control": CACHE_CONTROL}
    if _not_modified(request, t):
        return Response(status_code=304, headers=headers)
    return Response(t.data, media_type=PNG, headers=headers)


def _tilejson(info, url: str, bounds, unit: str = "") -> dict:
    """TileJSON 3.0 fields shared by vector and raster layers."""
    e = info.entry
    return {
        "tilejson": "3.0.0",
        "name": e.title.en,
        "description": f"{e.title.zh} — {e.title.en}" + (f" ({unit})" if unit else "")
                       + (" (SYNTHETIC sample data)" if e.synthetic else ""),
        "version": info.version,
        "attribution": e.provenance,
        "scheme": "xyz",
        "tiles": [url],
        "minzoom": e.minzoom,
        "maxzoom": e.maxzoom,
        "bounds": list(bounds),
        "synthetic": e.synthetic,
    }


@router.get("/{layer}/tilejson.json", operation_id="getTileJSON")
def tilejson(layer: str, request: Request, services: ServicesDep) -> dict:
    url = f"{_base(request)}/tiles/{layer}/{{z}}/{{x}}/{{y}}"
    if services.store.is_raster(layer):
        info = services.store.raster(layer)
        return _tilejson(info, url + ".png", info.bbox, info.entry.raster.unit)
    info = services.store.info(layer)
    if not info.spatial:
        raise InvalidParameter(f"layer {layer!r} is a table without geometry (kind {info.kind}); it has no tiles")
    e = info.entry
    return {**_tilejson(info, url + ".mvt", info.bbox or (-180, -85.05, 180, 85.05)),
            "vector_layers": [{"id": layer, "fields": {f: "" for f in info.fields},
                               "minzoom": e.minzoom, "maxzoom": e.maxzoom}]}


@router.get("/style.json", operation_id="getStyle")
def style_json(request: Request, services: ServicesDep, edition: Edition = DEFAULT_EDITION) -> dict:
    return style(_vector(services), f"{_base(request)}/tiles/{{layers}}/{{z}}/{{x}}/{{y}}.mvt", edition,
                 rasters=services.store.rasters(), raster_url=f"{_base(request)}/tiles/{{layer}}/{{z}}/{{x}}/{{y}}.png")


@router.get("/legend.json", operation_id="getLegend")
def legend_json(services: ServicesDep) -> dict:
    return {"items": legend(_vector(services), services.store.rasters())}
