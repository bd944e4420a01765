"""POST /v1/assess: may this project be built on this site, and why?"""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import ServicesDep
from app.models import AssessRequest, AssessResponse
from zoning.judge import Project, judge
from zoning.site import parse_site

router = APIRouter(prefix="/v1", tags=["assess"])


@router.post("/assess", response_model=AssessResponse, operation_id="assess")
def assess(body: AssessRequest, services: ServicesDep) -> AssessResponse:
    """Judge a project of a GB/T 4754 industry at a site (GeoJSON, lon/lat). Every reason
    names its rule, the clause it rests on and the layer version behind it."""
    site = parse_site(
        body.site.model_dump(exclude_none=True),
        max_vertices=services.settings.max_site_vertices,
    )
    result = judge(
        services.store,
        services.rules,
        services.industries,
        site,
        Project(**body.project.model_dump()),
        edition=body.key_region_edition or services.settings.key_region_edition,
    )
    return AssessResponse.model_validate(result)
