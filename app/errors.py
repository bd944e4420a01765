"""Every error body the service writes, from one place: ``{"error": <kind>, "detail": <message
naming the problem>}`` (``{"code", "description"}`` on the OGC API routes). The status of a
service error is its class's own (:mod:`layers.errors`)."""

from __future__ import annotations

import logging
import math
import reprlib
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from layers.errors import ServiceError

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
    429: {"model": ErrorOut, "description": "too many requests or stored results for this caller; retry "
                                            "after the Retry-After seconds"},
    503: {"model": ErrorOut, "description": "busy (every file parser taken, or a request budget): retry "
                                            "after the Retry-After seconds"},
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


ECHO_CHARS = 120  # how much of a refused value a 422 shows
_ECHO = reprlib.Repr()
_ECHO.maxstring = _ECHO.maxother = ECHO_CHARS
_ECHO.maxlist = _ECHO.maxtuple = _ECHO.maxdict = 4
_ECHO.maxlevel, _ECHO.maxlong = 2, 40


def _printable(text: str) -> str:
    """Text any JSON encoder can write: lone surrogates become U+FFFD."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _echo(value: Any) -> Any:
    """A refused value as a 422 may show it: short, and serialisable whatever it was (NaN,
    infinity, lone surrogates, bytes that are not UTF-8, a 900 KB object)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) < 2**53:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, bytes | bytearray):
        value = bytes(value[: ECHO_CHARS * 4]).decode("utf-8", "replace")
    text = value if isinstance(value, str) else _ECHO.repr(value)
    text = _printable(text)
    return text if len(text) <= ECHO_CHARS else f"{text[:ECHO_CHARS]}… ({len(text)} characters)"


def _json_problem(doc: Any, loc: list, error: dict) -> str:
    """Why a body is not JSON, at which character, and what stands there."""
    pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    reason = _printable(str((error.get("ctx") or {}).get("error", error.get("msg", ""))))
    if pos is None or not isinstance(doc, bytes | str):
        return f"the body is not valid JSON: {reason}"
    text = doc[pos:pos + 24]
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    if text.lstrip("-").startswith(("NaN", "Infinity")):
        reason = "NaN and Infinity are not JSON numbers; every number must be finite"
    elif "infinity" in reason:
        reason = "a number is too large (it overflows to infinity); every number must be finite"
    return f"the body is not valid JSON at character {pos} ({_echo(text)!r}): {reason}"


def validation_problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's validation errors for people: where, what is wrong, and the refused value
    shortened; never the whole input, never a value that cannot be written as JSON."""
    out = []
    for e in exc.errors()[:20]:
        loc = [part if isinstance(part, int) else _echo(str(part)) for part in e.get("loc", ())]
        msg = _printable(str(e.get("msg", "")))
        if e.get("type") == "json_invalid":
            out.append({"loc": loc, "msg": _json_problem(exc.body, loc, e), "type": "json_invalid"})
            continue
        out.append({"loc": loc, "msg": msg, "type": e.get("type"), "input": _echo(e.get("input"))})
    return out


OGC_PREFIX = "/ogc"  # OGC API routes answer errors in the OGC exception shape


MAX_DETAIL = 2000  # characters of an error message a client is sent


def _bounded(detail: Any) -> Any:
    """An error message cut to :data:`MAX_DETAIL` characters (one that echoes input can be long)."""
    if isinstance(detail, str) and len(detail) > MAX_DETAIL:
        return detail[:MAX_DETAIL] + "…"
    return detail


def error_response(path: str, status: int, kind: str, detail: Any, *, ogc_code: str | None = None,
                   headers: dict | None = None, report: dict | None = None) -> Response:
    """Every error body the service writes: ``{"error": kind, "detail": …}``, or on the OGC API
    routes ``{"code": ogc_code, "description": …}``. A Response is an ASGI app, so middleware
    that answers before the routes (size, rate limits) sends the same bodies."""
    headers = dict(headers or {})
    if status == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="zoning"')
    if path == OGC_PREFIX or path.startswith(OGC_PREFIX + "/"):
        if isinstance(detail, list):  # schema problems, in one sentence
            detail = "; ".join(f"{'.'.join(map(str, p['loc'][1:]))}: {p['msg']}" for p in detail)
        content: dict[str, Any] = {"code": ogc_code or ("NotFound" if status == 404 else "InvalidParameterValue"),
                                   "description": _bounded(detail)}
    else:
        content = {"error": kind, "detail": _bounded(detail)}
        if report:
            content["report"] = report  # a refused layer version: everything validation found
    return Response(orjson.dumps(content), status_code=status, headers=headers or None,
                    media_type="application/json")


def service_error_response(path: str, exc: ServiceError) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return error_response(path, exc.status, exc.kind, str(exc), ogc_code=exc.ogc_exception(),
                          headers=headers, report=exc.report)


def add_exception_handlers(app: FastAPI) -> None:
    """One handler per kind of failure: the service's own errors (status and OGC code from the
    class), requests that do not match their schema (422; 400 on OGC routes, as OGC API asks),
    and Starlette's HTTP errors (unknown paths, methods)."""

    async def service_error(request: Request, exc: ServiceError) -> Response:
        if exc.status >= 500:
            log.exception("error answering %s", request.url.path, exc_info=exc)
        return service_error_response(request.url.path, exc)

    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        ogc = request.url.path.startswith(OGC_PREFIX)
        return error_response(request.url.path, 400 if ogc else 422, "InvalidRequest", validation_problems(exc))

    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the first route matching the path; a resource
            # served by several routes (GET and POST /v1/admin/keys) allows all of theirs
            allowed = _allowed_methods(request)
            if allowed:
                headers["Allow"] = ", ".join(sorted(allowed))
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        return error_response(request.url.path, exc.status_code, kind, exc.detail, headers=headers)

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
