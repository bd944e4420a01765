"""The errors of the version lifecycle."""

from __future__ import annotations

from layers.errors import NotFound, Unprocessable


class PublishError(Unprocessable):
    """The upload cannot become a version; ``report`` says everything found."""

    status = 422

    def __init__(self, message: str, report: dict | None = None):
        super().__init__(message)
        self.report = report or {}


class VersionConflict(PublishError):
    """Nothing to do, or the history moved meanwhile."""

    status = 409


class VersionNotFound(NotFound):
    status = 404
