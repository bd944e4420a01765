"""GET /v1/layers and /v1/layers/{id}: the catalog with versions, extents and counts."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import ServicesDep
from app.models.catalogue import LayerOut, LayersResponse, RasterOut
from app.routing import StrictRoute
from layers.crs import STORAGE_CRS
from layers.raster import RasterInfo
from layers.store import LayerInfo

router = APIRouter(route_class=StrictRoute, prefix="/v1", tags=["layers"])


def layer_out(info: LayerInfo) -> LayerOut:
    e = info.entry
    return LayerOut(
        id=e.id,
        title=e.title.model_dump(),
        kind=e.kind,
        synthetic=e.synthetic,
        version=info.version,
        vintage=e.vintage.isoformat(),
        licence=e.licence,
        provenance=e.provenance,
        description=e.description,
        crs=STORAGE_CRS,
        source_crs=e.crs,
        count=info.count,
        bbox=list(info.bbox) if info.bbox else None,
        geometry_type=info.geometry_type,
        fields=list(info.fields),
        coverage=e.coverage.model_dump() if e.coverage else None,
        warnings=list(info.warnings),
    )


def raster_out(info: RasterInfo) -> RasterOut:
    e, spec = info.entry, info.spec
    return RasterOut(
        id=e.id, title=e.title.model_dump(), kind="raster", synthetic=e.synthetic,
        version=info.version, vintage=e.vintage.isoformat(), licence=e.licence,
        provenance=e.provenance, description=e.description, quantity=spec.quantity,
        unit=spec.unit, crs=info.crs, bbox=list(info.bbox), width=info.width,
        height=info.height, resolution=list(info.resolution), nodata=info.nodata,
        colormap=spec.colormap, range=list(spec.range), minzoom=e.minzoom, maxzoom=e.maxzoom,
    )


@router.get("/layers", response_model=LayersResponse, operation_id="listLayers")
def list_layers(services: ServicesDep) -> LayersResponse:
    return LayersResponse(
        storage_crs=STORAGE_CRS,
        layers=[layer_out(i) for i in services.store.layers()],
        rasters=[raster_out(i) for i in services.store.rasters()],
    )


@router.get("/layers/{layer_id}", response_model=LayerOut | RasterOut, operation_id="getLayer")
def get_layer(layer_id: str, services: ServicesDep) -> LayerOut | RasterOut:
    if services.store.is_raster(layer_id):
        return raster_out(services.store.raster(layer_id))
    return layer_out(services.store.info(layer_id))
