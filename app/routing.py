"""The route class every router uses: what must hold before FastAPI reads a request's body.

- **Strict JSON.** Bodies are parsed with orjson, which refuses what Python's ``json`` lets
  through and nothing downstream can answer: ``NaN``, ``Infinity``, numbers that overflow to
  infinity (``1e400``), lone surrogates (``"\\ud800"``) and bytes that are not UTF-8. FastAPI
  turns the decode error into a 422 naming the place (``orjson.JSONDecodeError`` is a
  ``json.JSONDecodeError``).
- **One value per key.** A key given twice in one object (``{"industry": "C3011",
  "industry": "D4416"}``) is refused, not last-wins: a second, Python ``json`` pass with a
  pairs hook finds it (about 40 ms for a 1 MB site; small bodies cost microseconds).
- **A wall-time budget.** The domain's long loops stop the work once ``request_timeout_s``
  is spent (:mod:`zoning.budget`; a 503 naming the setting).
- **Authentication first.** A route whose dependencies need a role (``app.auth.require``)
  checks the caller's key before the body is read, so an anonymous client cannot make the
  server take in a 500 MB upload only to be told 401.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

from zoning.budget import budget


class DuplicateKey(json.JSONDecodeError):
    """A JSON object naming a key twice (FastAPI answers a ``JSONDecodeError`` with a 422)."""


def _one_value_per_key(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen, dup = set(), None
        for k, _ in pairs:
            if k in seen:
                dup = k
                break
            seen.add(k)
        raise DuplicateKey(f"the key {dup[:60]!r} is given twice in one object", "", 0)
    return out


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            self._json = orjson.loads(body)
            json.loads(body, object_pairs_hook=_one_value_per_key)  # refuses duplicate keys
        return self._json


def _min_role(dependant) -> str | None:
    """The role a route's dependencies require (the highest, if several), or None."""
    from app.state.access import RANK

    found, stack = [], [dependant]
    while stack:
        d = stack.pop()
        role = getattr(d.call, "min_role", None)
        if role:
            found.append(role)
        stack.extend(d.dependencies)
    return max(found, key=RANK.__getitem__, default=None)


class StrictRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        role = _min_role(self.dependant)

        async def strict_handler(request: Request) -> Response:
            request = StrictJSONRequest(request.scope, request.receive)
            if role is not None:
                from app.auth import check_role

                check_role(request, role)  # before the body is read
            with budget(request.app.state.services.settings.request_timeout_s):
                return await handler(request)

        return strict_handler
