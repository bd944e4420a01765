"""A wall-time budget for the work of one request. The HTTP layer opens it
(``with budget(30.0, "request_timeout_s")``); the long loops of the domain (every layer of an
overlay, every candidate of a siting run) call :func:`check`, which ends the work with
:class:`BudgetExceeded` once the time is up. Outside a budget (the CLI, batch jobs, which have
their own limits) ``check`` costs one context-variable read and never raises."""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar

from zoning.errors import ZoningError

_deadline: ContextVar[tuple[float, float, str] | None] = ContextVar("zoning_deadline", default=None)


class BudgetExceeded(ZoningError):
    """The request's work took longer than its budget (503, Retry-After)."""

    status, retry_after = 503, 10


@contextmanager
def budget(seconds: float, setting: str = "request_timeout_s"):
    token = _deadline.set((time.monotonic() + seconds, seconds, setting))
    try:
        yield
    finally:
        _deadline.reset(token)


def check(doing: str) -> None:
    d = _deadline.get()
    if d is not None and time.monotonic() > d[0]:
        raise BudgetExceeded(f"the request was stopped after {d[1]:g} s ({d[2]}) while {doing}; "
                             "send a smaller site or area, or use a batch job")
