"""One table from exceptions to HTTP status codes; every error body is
``{"error": <kind>, "detail": <message naming the problem>}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.auth import Forbidden, NotAuthenticated
from layers.access import AccessError
from layers.ingest import IngestError, UnsupportedFormat, UploadTooLarge
from layers.jobs import JobNotFound
from layers.query import InvalidFilter
from layers.records import RecordNotFound
from layers.store import LayerError, UnknownLayer, VersionsUnavailable
from layers.versions import PublishError, VersionConflict, VersionNotFound
from layers.tiles import TileOutsideRange
from zoning.errors import InvalidParameter, InvalidSite, UnknownIndustry, ZoningError
from zoning.rules_history import RulesConflict, RulesError, RulesVersionNotFound

log = logging.getLogger(__name__)

STATUS_CODES: dict[type[Exception], int] = {
    NotAuthenticated: 401,
    Forbidden: 403,
    VersionConflict: 409,
    PublishError: 422,
    VersionNotFound: 404,
    RulesConflict: 409,
    RulesError: 422,
    RulesVersionNotFound: 404,
    AccessError: 422,
    VersionsUnavailable: 422,
    UploadTooLarge: 413,
    UnsupportedFormat: 415,
    IngestError: 422,
    RecordNotFound: 404,
    JobNotFound: 404,
    InvalidSite: 422,
    UnknownIndustry: 422,
    InvalidParameter: 422,
    UnknownLayer: 404,
    InvalidFilter: 400,
    TileOutsideRange: 404,
    ZoningError: 400,
    LayerError: 500,
}


def add_exception_handlers(app: FastAPI, codes: dict[type[Exception], int] = STATUS_CODES) -> None:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        status = next(code for cls, code in codes.items() if isinstance(exc, cls))
        if status >= 500:
            log.exception("error answering %s", request.url.path, exc_info=exc)
        content = {"error": type(exc).__name__, "detail": str(exc)}
        if getattr(exc, "report", None):
            content["report"] = exc.report  # a refused layer version: everything validation found
        headers = {"WWW-Authenticate": 'Bearer realm="zoning"'} if status == 401 else None
        return JSONResponse(status_code=status, content=content, headers=headers)

    for cls in codes:
        app.add_exception_handler(cls, handler)
