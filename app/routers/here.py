"""GET /v1/here: every feature of every vector layer at a point."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.auth import PrincipalDep, may_read
from app.deps import ServicesDep
from app.models.common import FeatureRefOut
from app.models.here import HereLayerOut, HereResponse, RasterValueOut
from app.routing import StrictRoute
from layers.raster import sample
from zoning.judge import SYNTHETIC_NOTICE, feature_refs
from zoning.overlay import features_at

router = APIRouter(route_class=StrictRoute, prefix="/v1", tags=["here"])


@router.get("/here", response_model=HereResponse, operation_id="here")
def here(
    services: ServicesDep,
    who: PrincipalDep,
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="longitude, EPSG:4490")],
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="latitude, EPSG:4490")],
) -> HereResponse:
    hits = features_at(services.store, lon, lat)
    layers = [
        HereLayerOut(
            id=h.info.id,
            kind=h.info.kind,
            version=h.info.version,
            synthetic=h.info.synthetic,
            covers_point=h.covered,
            features=[FeatureRefOut.model_validate(f) for f in feature_refs(h)],
        )
        for h in hits.values()
        if may_read(services, who, h.info.id)  # non-public layers need a key
    ]
    values = []
    for r in services.store.rasters():
        if not may_read(services, who, r.id):
            continue
        v = float(sample(r, lon, lat)[0])
        values.append(RasterValueOut(id=r.id, quantity=r.spec.quantity, unit=r.spec.unit,
                                     value=round(v, 3) if v == v else None, version=r.version,
                                     synthetic=r.synthetic))
    synthetic = any(lyr.synthetic and (lyr.covers_point or lyr.features) for lyr in layers) or any(
        v.synthetic and v.value is not None for v in values)
    return HereResponse(
        lon=lon, lat=lat, layers=layers, values=values, synthetic=synthetic,
        notice=SYNTHETIC_NOTICE if synthetic else None,
    )
