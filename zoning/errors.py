"""Domain errors. The HTTP layer maps each to a status code in one table (app/errors.py)."""


class ZoningError(Exception):
    """Base class: a request the domain cannot answer as asked."""


class InvalidSite(ZoningError):
    """The site geometry is malformed, out of range, invalid or too large."""


class UnknownIndustry(ZoningError):
    """The industry code is not in the catalogue."""


class InvalidParameter(ZoningError):
    """A request parameter has a value the domain does not know (e.g. an edition)."""
