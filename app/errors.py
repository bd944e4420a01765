"""One table from exceptions to HTTP status codes; every error body is
``{"error": <kind>, "detail": <message naming the problem>}``."""

from __future__ import annotations

import logging

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.auth import Forbidden, NotAuthenticated
from layers.access import AccessError, KeyNotFound
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


class ErrorOut(BaseModel):
    """Every error answer: ``{"error": kind, "detail": message}`` (a list of problems for a
    request that does not match its schema; ``report`` for a refused layer version). OGC API
    routes answer ``{"code", "description"}`` as that standard asks."""

    model_config = ConfigDict(extra="allow")
    error: str | None = None
    detail: str | list[Any] | None = None
    report: dict[str, Any] | None = None
    code: str | None = None
    description: str | None = None


ERROR_RESPONSES: dict[int | str, dict] = {
    400: {"model": ErrorOut, "description": "a parameter or filter is malformed"},
    401: {"model": ErrorOut, "description": "an API key is needed, or the one sent is unknown or revoked"},
    403: {"model": ErrorOut, "description": "the API key's role is below what this needs"},
    404: {"model": ErrorOut, "description": "no such layer, feature, tile, record or job"},
    409: {"model": ErrorOut, "description": "the state does not allow it (e.g. a job not finished, a version "
                                            "already in force)"},
    413: {"model": ErrorOut, "description": "the request or upload is larger than allowed"},
    415: {"model": ErrorOut, "description": "the file format is not one that is accepted"},
    422: {"model": ErrorOut, "description": "the request, site or file cannot be used; the detail says why"},
}

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
    KeyNotFound: 404,
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


def _allowed_methods(request: Request) -> set[str]:
    """The methods the OpenAPI document gives for the request's path (Starlette's own 405 names
    only those of the first route matching the path)."""
    import re

    patterns = getattr(request.app.state, "path_patterns", None)
    if patterns is None:
        patterns = [(re.compile("^" + re.sub(r"\\{[^}/]+\\}", "[^/]+", re.escape(path)) + "$"), path.count("{"),
                     {m.upper() for m in ops if m in ("get", "post", "put", "delete", "patch")})
                    for path, ops in request.app.openapi()["paths"].items()]
        request.app.state.path_patterns = patterns
    hits = [(params, methods) for pattern, params, methods in patterns if pattern.match(request.url.path)]
    fewest = min((params for params, _ in hits), default=0)  # /v1/jobs/assess is not /v1/jobs/{job_id}
    out: set[str] = set()
    for params, methods in hits:
        if params == fewest:
            out |= methods
    if "GET" in out:
        out.add("HEAD")
    return out


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

    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the first route matching the path; a resource
            # served by several routes (GET and POST /v1/admin/keys) allows all of theirs
            allowed = _allowed_methods(request)
            if allowed:
                headers["Allow"] = ", ".join(sorted(allowed))
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        return JSONResponse(status_code=exc.status_code, content={"error": kind, "detail": exc.detail},
                            headers=headers or None)

    app.add_exception_handler(StarletteHTTPException, http_error)
