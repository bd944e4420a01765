"""Who is asking: an API key (``X-API-Key: zk_…`` or ``Authorization: Bearer zk_…``) names a
principal with a role (reader < editor < admin); no key is the anonymous principal. Writes
always need a key of the right role; reads of a layer need a key only when the catalog marks
the layer ``public: false``. ``ZONING_ADMIN_KEY`` (compared by its SHA-256) bootstraps the first
admin before any key is stored."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from app.deps import ServicesDep
from app.state.access import RANK
from app.state.records import ANONYMOUS as ANONYMOUS_OWNER
from app.state.records import Quota
from layers import errors


class NotAuthenticated(errors.Unauthorized):
    """No key, or a key that is unknown or revoked."""

    status = 401


Forbidden = errors.Forbidden  # the key's role is below what the action needs (403)


@dataclass(frozen=True)
class Principal:
    name: str
    role: str | None  # None: anonymous

    def at_least(self, role: str) -> bool:
        return self.role is not None and RANK[self.role] >= RANK[role]


ANONYMOUS = Principal("anonymous", None)


def key_from(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    auth = request.headers.get("authorization", "")
    if key is None and auth[:7].lower() == "bearer ":
        key = auth[7:].strip()
    return key


def _principal(request: Request, services) -> Principal:
    key = key_from(request)
    if not key:
        return ANONYMOUS
    s = services.settings
    if s.admin_key and hmac.compare_digest(hashlib.sha256(key.encode()).digest(),
                                           hashlib.sha256(s.admin_key.encode()).digest()):
        return Principal("admin-key", "admin")
    found = services.keys.check(key) if services.keys is not None else None
    if found is None:
        raise NotAuthenticated("the API key is unknown or revoked")
    return Principal(*found)


def principal(request: Request, services: ServicesDep) -> Principal:
    """The caller, looked up once per request (the route may have checked it before the body)."""
    who = getattr(request.state, "principal", None)
    if who is None:
        who = request.state.principal = _principal(request, services)
    return who


PrincipalDep = Annotated[Principal, Depends(principal)]


def _ensure_role(who: Principal, role: str) -> Principal:
    if who.role is None:
        raise NotAuthenticated(f"this needs an API key with role {role} or above "
                               "(header X-API-Key or Authorization: Bearer)")
    if not who.at_least(role):
        raise Forbidden(f"this needs role {role} or above; the key {who.name!r} has role {who.role}")
    return who


def check_role(request: Request, role: str) -> None:
    """The role check of :func:`require`, from the headers alone (app.routing runs it before
    the body is read)."""
    request.state.principal = who = _principal(request, request.app.state.services)
    _ensure_role(who, role)


def require(role: str):
    def dep(who: PrincipalDep) -> Principal:
        return _ensure_role(who, role)

    dep.min_role = role  # read by app.routing.StrictRoute
    return Depends(dep)


Editor = Annotated[Principal, require("editor")]
Admin = Annotated[Principal, require("admin")]


def may_read(services, who: Principal, layer_id: str) -> bool:
    """Is the layer public, or does ``who`` have a key (reader or above)? (An unknown layer
    counts as readable: it answers 404 where it is looked up.)"""
    if who.role is not None:
        return True
    try:
        return services.store.entry(layer_id).public
    except KeyError:
        return True


def ensure_readable(services, who: Principal, *layer_ids: str) -> None:
    """Raise unless ``who`` may read every layer."""
    for layer_id in layer_ids:
        if not may_read(services, who, layer_id):
            raise NotAuthenticated(f"layer {layer_id!r} is not public: send an API key (role reader or above)")


def audit(services, who: Principal, action: str, target: str | None = None, input_sha256: str | None = None,
          result: dict | None = None) -> None:
    if services.audit is not None:
        services.audit.append(who.name, who.role, action, target, input_sha256, result)


def record_owner(services, who: Principal, request: Request) -> tuple[str, Quota | None]:
    """Who a stored result belongs to, and the quota it counts against: none for a key; the
    anonymous quota per client address otherwise. Checked here, before the work."""
    if who.role is not None:
        return f"key:{who.name}", None
    owner = ANONYMOUS_OWNER + (request.client.host if request.client else "?")
    quota = services.settings.anonymous_quota()
    services.records.check_quota(owner, quota)
    return owner, quota


def ensure_may_assess(services, who: Principal) -> None:
    if not services.settings.public_assess and who.role is None:
        raise NotAuthenticated("assessments need an API key here (role reader or above)")
