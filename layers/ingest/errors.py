"""Errors of site-file ingest (413 / 415 / 422, 503 when every parser is busy)."""

from __future__ import annotations

from layers.errors import Unavailable, Unprocessable


class IngestError(Unprocessable):
    """The file cannot be read as sites; the message says why and what to do."""


class UploadTooLarge(IngestError):
    """A size limit was exceeded (bytes, members, features, vertices)."""

    status = 413


class UnsupportedFormat(IngestError):
    """The content is not one of the accepted formats."""

    status = 415


class ParsersBusy(Unavailable):
    """Every parser slot stayed taken for the whole queue wait (503 with Retry-After)."""

    status, retry_after = 503, 5


def reason(exc: BaseException, path=None, limit: int = 200) -> str:
    """A parser's exception as a person may read it: its first line, without the server's
    private folder (``path``'s parent), at most ``limit`` characters."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if path is not None:
        text = text.replace(f"{path.parent}/", "").replace(str(path.parent), "")
    return text if len(text) <= limit else text[:limit] + "…"
