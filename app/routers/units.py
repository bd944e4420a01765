"""GET /v1/control-units/{code}: a control unit (class, subtype, area, admin) with every item of
the access lists in force (or ``as_of`` a day) that covers it, structured."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.auth import PrincipalDep, ensure_readable
from app.deps import ServicesDep, services_as_of
from app.models.units import ControlUnitOut
from app.routing import StrictRoute
from layers.errors import NotFound
from zoning.access_lists import unit_list

router = APIRouter(route_class=StrictRoute, prefix="/v1", tags=["layers"])


@router.get("/control-units/{code}", response_model=ControlUnitOut, operation_id="controlUnit",
            responses={404: {"description": "no control unit with this code in the layers in force"}})
def control_unit(
    services: ServicesDep,
    who: PrincipalDep,
    code: Annotated[str, Path(max_length=32, description="the unit code, e.g. ZH14010530001")],
    as_of: Annotated[dt.date | None, Query(description="the versions in force at the end of this day (CST)")] = None,
) -> ControlUnitOut:
    s = services_as_of(services, as_of)
    # checked before the lookup: whether a unit exists is itself what a non-public layer holds
    ensure_readable(services, who, *(i.id for i in s.store.layers() if i.kind in ("control_unit", "access_list")))
    found = unit_list(s.store, code.strip())
    if found is None:
        raise NotFound(f"no control unit {code!r} in the control-unit layers in force")
    synthetic = found["layer"]["synthetic"] or any(lst["layer"]["synthetic"] for lst in found["lists"])
    return ControlUnitOut(**found, as_of=as_of.isoformat() if as_of else None, synthetic=synthetic)
