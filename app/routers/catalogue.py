"""GET /v1/industries and /v1/rules: the industry catalogue and the rule set, as data."""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import ServicesDep
from app.models import IndustriesResponse, IndustryOut, RulesResponse

router = APIRouter(prefix="/v1", tags=["catalogue"])


@router.get("/industries", response_model=IndustriesResponse, operation_id="listIndustries")
def industries(services: ServicesDep) -> IndustriesResponse:
    cat = services.industries
    return IndustriesResponse(
        standard=cat.standard,
        version=cat.version,
        industries=[
            IndustryOut(**i.model_dump(), energy_intensive=i.energy_intensive) for i in cat.industries
        ],
    )


@router.get("/rules", response_model=RulesResponse, operation_id="listRules")
def rules(services: ServicesDep) -> RulesResponse:
    rs = services.rules
    return RulesResponse(
        version=rs.version,
        families=[f.model_dump(mode="json", exclude_none=True) for f in rs.files],
    )
