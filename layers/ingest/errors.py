"""Errors of site-file ingest (413 / 415 / 422, 503 when every parser is busy)."""

from __future__ import annotations

import re

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


# what SQLite says inside GDAL's GeoPackage reader, after the statement it ran (never shown)
_SQLITE = re.compile(r"sqlite3_\w+\((?:.|\n)*?\)\s*failed:\s*([^;]*)", re.IGNORECASE)


def reason(exc: BaseException, path=None, limit: int = 200) -> str:
    """A parser's exception as a person may read it: its first line, without the server's
    private folder (``path``'s parent) or the SQL a GeoPackage reader ran, at most ``limit``
    characters."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if path is not None:
        text = text.replace(f"{path.parent}/", "").replace(str(path.parent), "")
    sql = _SQLITE.search(text)
    if sql or re.search(r"\b(SELECT|PRAGMA|INSERT)\b", text):
        said = sql.group(1).strip() if sql else ""
        text = "its SQLite database cannot be read" + (f" ({said})" if said else "") + \
            ": the GeoPackage is damaged or truncated"
    return text if len(text) <= limit else text[:limit] + "…"
