"""GET /healthz: answers once the layers are loaded (start-up loads them before serving)."""

from __future__ import annotations

import os

from fastapi import APIRouter

from app.deps import ServicesDep
from app.models.catalogue import HealthResponse
from app.routing import StrictRoute

router = APIRouter(route_class=StrictRoute, tags=["health"])


@router.get("/healthz", response_model=HealthResponse, operation_id="health")
def healthz(services: ServicesDep) -> HealthResponse:
    store = services.store
    loaded = store.loaded_at
    return HealthResponse(
        status="ok",
        layers=len(store.layers()),
        rules_version=services.rules.version,
        loaded_at=loaded.isoformat(timespec="seconds") if loaded else None,
        pid=os.getpid(),
        runs_jobs=services.runner is not None,
    )
