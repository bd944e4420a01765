"""Layer and rules versions, API keys, the audit log.

- ``POST /v1/layers/{id}/versions`` (editor): a provincial file becomes the next version —
  validated, staged, switched atomically; ``dry_run`` validates only. 422 with the whole
  validation report when it cannot.
- ``GET /v1/layers/{id}/versions``: the history (who, when, checksum, counts, changes).
- ``POST /v1/layers/{id}/rollback`` (editor): put a version from the history back in force.
- ``POST /v1/rules/{file}/versions``, ``GET /v1/rules/versions``, ``POST /v1/rules/{file}/rollback``:
  the same for rules files.
- ``/v1/admin/keys`` (admin): make, list and revoke API keys; ``GET /v1/admin/audit`` (admin).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from app.auth import Admin, Editor, PrincipalDep, audit, ensure_readable
from app.deps import ServicesDep
from app.models.access import AuditOut, KeyIn, KeyOut, NewKeyOut
from app.models.versions import (
    LayerHistoryOut,
    LayerVersionOut,
    RollbackIn,
    RollbackOut,
    RulesHistoryOut,
    RulesRollbackIn,
    RulesVersionOut,
)
from app.routers.uploads import read_limited
from app.routing import StrictRoute
from layers.versions import PublishError

router = APIRouter(route_class=StrictRoute, tags=["versions and access"])
IF_MATCH_HELP = "the version you believe in force (the ETag of your last read or write); 409 when another is"


def expected_version(if_match: str | None) -> str | None:
    """The version an ``If-Match`` header names: ``"v"``, ``W/"v"`` or ``v``."""
    if if_match is None or not if_match.strip():
        return None
    return if_match.strip().removeprefix("W/").strip('"')


@router.post("/v1/layers/{layer_id}/versions", response_model=LayerVersionOut, status_code=201,
             operation_id="publishLayerVersion",
             responses={200: {"description": "dry run: the report and the changes, nothing stored"},
                        422: {"description": "the file fails validation; the body has the report"},
                        409: {"description": "identical to the version in force"}})
def publish_version(
    layer_id: str,
    request: Request,
    services: ServicesDep,
    who: Editor,
    file: Annotated[UploadFile, File(description="GeoPackage, zipped Shapefile, GeoJSON or KML/KMZ with the "
                                                 "source's own field names (mapped by the catalog)")],
    crs: Annotated[str | None, Form(max_length=64, description="CRS when the file does not say")] = None,
    vintage: Annotated[dt.date | None, Form(description="the data's date (default today)")] = None,
    note: Annotated[str | None, Form(max_length=500)] = None,
    dry_run: Annotated[bool, Form()] = False,
    if_match: Annotated[str | None, Header(max_length=100, description=IF_MATCH_HELP)] = None,
):
    """Validate a file as the next version of a layer and put it in force. One write wins:
    a publish prepared against a version another write replaced meanwhile is a 409."""
    data = read_limited(file, services.settings.layer_max_bytes)
    try:
        out = services.live.publish_layer(layer_id, data, file.filename or "upload", actor=who.name,
                                          limits=services.settings.layer_limits(), crs=crs, vintage=vintage,
                                          note=note, dry_run=dry_run, expected=expected_version(if_match))
    except PublishError as exc:
        audit(services, who, "layer.publish.refused", layer_id, None, {"error": str(exc)[:500]})
        raise
    audit(services, who, "layer.publish" + (".dry_run" if dry_run else ""), layer_id, out["source_sha256"],
          {"version": out["version"], "previous": out["previous"], "summary": {
              k: out["summary"][k] for k in ("added", "removed", "changed")}})
    body = LayerVersionOut(**{k: v for k, v in out.items() if k != "file"})
    if dry_run:
        return JSONResponse(status_code=200, content=body.model_dump(mode="json"))
    return JSONResponse(status_code=201, content=body.model_dump(mode="json"), headers={"ETag": f'"{out["version"]}"'})


@router.get("/v1/layers/{layer_id}/versions", response_model=LayerHistoryOut, operation_id="layerHistory")
def layer_history(layer_id: str, services: ServicesDep, who: PrincipalDep) -> LayerHistoryOut:
    """Every version of a layer put in force, newest first (empty: the catalog's data only)."""
    info = services.store.info(layer_id)
    ensure_readable(services, who, layer_id)
    registry = services.store.registry
    history = registry.history(layer_id) if registry is not None else []
    return LayerHistoryOut(layer_id=layer_id, version_in_force=info.version, history=history)


@router.post("/v1/layers/{layer_id}/rollback", response_model=RollbackOut, operation_id="rollbackLayer")
def rollback_layer(layer_id: str, body: RollbackIn, request: Request, services: ServicesDep, who: Editor,
                   if_match: Annotated[str | None, Header(max_length=100, description=IF_MATCH_HELP)] = None,
                   ) -> RollbackOut:
    """Put a version from the layer's history back in force (one write wins, as for a publish)."""
    out = services.live.rollback_layer(layer_id, body.version, actor=who.name, note=body.note,
                                       expected=expected_version(if_match))
    audit(services, who, "layer.rollback", layer_id, None, {"version": body.version, "previous": out["previous"]})
    return RollbackOut(**out)


@router.post("/v1/rules/{file}/versions", response_model=RulesVersionOut, status_code=201,
             operation_id="publishRulesVersion",
             responses={200: {"description": "dry run"}, 409: {"description": "identical to the file in force"},
                        422: {"description": "the rules do not validate"}})
def publish_rules(
    file: str,
    request: Request,
    services: ServicesDep,
    who: Editor,
    upload: Annotated[UploadFile, File(description="the rules family as YAML (see zoning/rules/)")],
    note: Annotated[str | None, Form(max_length=500)] = None,
    dry_run: Annotated[bool, Form()] = False,
):
    """Validate a rules file with the families in force and put it in force."""
    raw = read_limited(upload, 1_000_000)
    out = services.live.publish_rules(file, raw, who.name, note=note, dry_run=dry_run)
    audit(services, who, "rules.publish" + (".dry_run" if dry_run else ""), file, out["sha256"],
          {"rules_version": out["rules_version"], "summary": out["summary"]})
    if dry_run:
        return JSONResponse(status_code=200, content=RulesVersionOut(**out).model_dump(mode="json"))
    return RulesVersionOut(**out)


@router.get("/v1/rules/versions", response_model=RulesHistoryOut, operation_id="rulesHistory")
def rules_history(services: ServicesDep, file: Annotated[str | None, Query(max_length=64)] = None) -> RulesHistoryOut:
    registry = services.rules_registry
    return RulesHistoryOut(rules_version=services.rules.version,
                           history=registry.history(file) if registry is not None else [])


@router.post("/v1/rules/{file}/rollback", response_model=RulesVersionOut, operation_id="rollbackRules")
def rollback_rules(file: str, body: RulesRollbackIn, request: Request, services: ServicesDep,
                   who: Editor) -> RulesVersionOut:
    out = services.live.rollback_rules(file, body.sha256, who.name, body.note)
    audit(services, who, "rules.rollback", file, body.sha256, {"rules_version": out["rules_version"]})
    return RulesVersionOut(**out)


@router.post("/v1/admin/keys", response_model=NewKeyOut, status_code=201, operation_id="createKey")
def create_key(body: KeyIn, services: ServicesDep, who: Admin) -> NewKeyOut:
    """A new API key; the key is in this answer only."""
    key = services.keys.create(body.name, body.role, who.name)
    audit(services, who, "key.create", body.name, None, {"role": body.role})
    return NewKeyOut(name=body.name, role=body.role, key=key)


@router.get("/v1/admin/keys", response_model=list[KeyOut], operation_id="listKeys")
def list_keys(services: ServicesDep, who: Admin) -> list[KeyOut]:
    return [KeyOut(**k) for k in services.keys.list()]


@router.delete("/v1/admin/keys/{name}", status_code=204, operation_id="revokeKey",
               responses={404: {"description": "no such key, or already revoked"}})
def revoke_key(name: str, services: ServicesDep, who: Admin):
    services.keys.revoke(name)
    audit(services, who, "key.revoke", name)
    return Response(status_code=204)


@router.get("/v1/admin/audit", response_model=AuditOut, operation_id="auditLog")
def audit_log(services: ServicesDep, who: Admin,
              after: Annotated[int, Query(ge=0, le=2**62)] = 0,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              action: Annotated[str | None, Query(max_length=64)] = None) -> AuditOut:
    """Audit entries after ``after`` (oldest first) and whether the hash chain is intact."""
    intact, broken = services.audit.verify()
    return AuditOut(intact=intact, broken_at=broken, entries=services.audit.entries(limit, after, action))
