"""POST /v1/assess: may this project be built on this site, and why?"""

from __future__ import annotations

import hashlib

import orjson
from fastapi import APIRouter

from app.auth import PrincipalDep, audit, ensure_may_assess
from app.deps import ServicesDep, services_as_of
from app.models.assess import AssessRequest, AssessResponse
from app.routing import StrictRoute
from zoning.judge import judge
from zoning.site import parse_site

router = APIRouter(route_class=StrictRoute, prefix="/v1", tags=["assess"])


@router.post("/assess", response_model=AssessResponse, operation_id="assess")
def assess(body: AssessRequest, services: ServicesDep, who: PrincipalDep) -> AssessResponse:
    """Judge a project of a GB/T 4754 industry at a site (GeoJSON, lon/lat). Every reason
    names its rule, the clause it rests on and the layer version behind it. With ``as_of``,
    the layers and rules in force at the end of that day are used."""
    ensure_may_assess(services, who)
    site = parse_site(
        body.site.model_dump(exclude_none=True),
        limits=services.settings.site_limits(),
    )
    s = services_as_of(services, body.as_of)
    result = judge(
        s.judging,
        site,
        body.project.to_project(),
        edition=body.key_region_edition or services.settings.key_region_edition,
    )
    out = AssessResponse.model_validate(result)
    out.as_of = body.as_of.isoformat() if body.as_of else None
    digest = hashlib.sha256(orjson.dumps(body.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)).hexdigest()
    audit(services, who, "assess", body.project.industry, digest,
          {"verdict": out.verdict, "reasons": [r.rule_id for r in out.reasons], "rules_version": out.rules_version,
           "layers": {ref.id: ref.version for ref in out.layers}, "as_of": out.as_of})
    return out
