"""GET /v1/industries and /v1/rules: the industry catalogue and the rule set, as data."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.deps import ServicesDep
from app.models.catalogue import IndustriesResponse, IndustryOut, ProductOut, RulesResponse, TraitOut
from app.routing import StrictRoute
from zoning.scale import UNITS

router = APIRouter(route_class=StrictRoute, prefix="/v1", tags=["catalogue"])


@router.get("/industries", response_model=IndustriesResponse, operation_id="listIndustries")
def industries(
    services: ServicesDep,
    q: Annotated[str | None, Query(min_length=1, max_length=50,
                                   description="part of a code or of a Chinese or English name, e.g. 水泥")] = None,
    level: Annotated[Literal["section", "division", "group", "class"] | None, Query()] = None,
) -> IndustriesResponse:
    """The GB/T 4754-2017 classification (every level) and the product vocabulary."""
    cat = services.industries
    found = cat.search(q) if q else cat.industries
    return IndustriesResponse(
        standard=cat.standard,
        version=cat.version,
        coverage=cat.coverage,
        counts=cat.counts,
        traits=[TraitOut(**t.model_dump()) for t in cat.traits],
        industries=[
            IndustryOut(**i.model_dump(), level=i.level, two_high=i.two_high, renewable=i.renewable,
                        energy_intensive=i.energy_intensive, products=[p.key for p in cat.products_of(i.code)])
            for i in found if level is None or i.level == level
        ],
        products=[ProductOut(**p.model_dump()) for p in cat.products],
        capacity_units=list(UNITS),
    )


@router.get("/rules", response_model=RulesResponse, operation_id="listRules")
def rules(services: ServicesDep) -> RulesResponse:
    rs = services.rules
    return RulesResponse(
        version=rs.version,
        families=[f.model_dump(mode="json", exclude_none=True) for f in rs.files],
    )
