"""The one error hierarchy of the service. Every error a request can meet is a
:class:`ServiceError`; its class says the HTTP status and, on the OGC API routes, the OGC
exception code. ``app/errors.py`` has one handler for the whole hierarchy: it reads the
status from the class (a subclass overrides its parent, so no table order matters) and writes
every error body, the OGC ones included.

Each package keeps its own errors beside its code (``layers.store.UnknownLayer``,
``zoning.errors.InvalidSite``, ``app.state.jobs.JobNotFound`` …), each a subclass of one of the
kinds below. This module is the lowest of the three packages so that all of them can use it.
"""

from __future__ import annotations

from typing import ClassVar


class ServiceError(Exception):
    """An error the service answers with ``status`` (500 unless a subclass says otherwise)."""

    status: ClassVar[int] = 500
    ogc_code: ClassVar[str | None] = None  # None: derived from the status (see ``ogc_exception``)
    retry_after: ClassVar[int | None] = None  # seconds, sent as Retry-After
    report: dict | None = None  # a structured account of what was found (a refused version)

    @property
    def kind(self) -> str:
        """The ``error`` field of the body: the class name."""
        return type(self).__name__

    def ogc_exception(self) -> str:
        if self.ogc_code:
            return self.ogc_code
        return {404: "NotFound", 401: "NotAuthenticated", 403: "Forbidden"}.get(
            self.status, "InvalidParameterValue" if self.status < 500 else "ServerError")


class NotFound(ServiceError, KeyError):
    status = 404

    def __str__(self) -> str:  # KeyError's own str() quotes its argument
        return str(self.args[0]) if self.args else ""


class BadRequest(ServiceError, ValueError):
    status = 400


class Unauthorized(ServiceError, PermissionError):
    status = 401


class Forbidden(ServiceError, PermissionError):
    status = 403


class Conflict(ServiceError):
    status = 409


class TooLarge(ServiceError):
    status = 413


class UnsupportedMedia(ServiceError, ValueError):
    status = 415


class Unprocessable(ServiceError, ValueError):
    status = 422


class TooManyRequests(ServiceError):
    status = 429
    retry_after = 60


class Unavailable(ServiceError):
    status = 503
    retry_after = 5
