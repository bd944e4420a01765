"""Domain errors, each a :class:`layers.errors.ServiceError` carrying its HTTP status."""

from layers.errors import ServiceError


class ZoningError(ServiceError):
    """Base class: a request the domain cannot answer as asked."""

    status = 400


class InvalidSite(ZoningError):
    """The site geometry is malformed, out of range, invalid or too large."""

    status = 422


class UnknownIndustry(ZoningError):
    """The industry code is not in the catalogue."""

    status = 422


class InvalidParameter(ZoningError):
    """A request parameter has a value the domain does not know (e.g. an edition)."""

    status = 422
