"""One error mechanism: every error the service raises is a ServiceError whose class carries
its status; one handler answers all of them, on the OGC routes in the OGC exception shape."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

import app
import layers
import zoning
from app.errors import add_exception_handlers
from layers.errors import ServiceError


def all_error_classes() -> list[type[ServiceError]]:
    for package in (layers, zoning, app):
        for mod in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".sample." in mod.name or mod.name.endswith("__main__"):
                continue
            importlib.import_module(mod.name)
    out, todo = [], [ServiceError]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(out), key=lambda c: (c.__module__, c.__name__))


ERRORS = all_error_classes()


def make(cls: type[ServiceError]) -> ServiceError:
    if cls.__name__ == "UnknownLayer":
        return cls("some_layer")
    return cls("what went wrong")


@pytest.fixture(scope="module")
def client():
    api = FastAPI()
    add_exception_handlers(api)

    @api.get("/raise/{name}")
    @api.get("/ogc/raise/{name}")
    def raise_(name: str):
        raise make(next(c for c in ERRORS if c.__name__ == name))

    with TestClient(api, raise_server_exceptions=False) as c:
        yield c


def test_the_hierarchy_reaches_every_package():
    names = {c.__name__ for c in ERRORS}
    assert {"UnknownLayer", "InvalidFilter", "PublishError", "VersionConflict", "IngestError", "ParsersBusy",
            "InvalidSite", "RulesConflict", "BudgetExceeded", "JobNotFound", "QuotaExceeded", "KeyNotFound",
            "NotAuthenticated", "Forbidden", "PayloadTooLarge", "MapAssetsMissing"} <= names
    assert len({c.__name__ for c in ERRORS}) == len(ERRORS), "two error classes share a name (the body's kind)"


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_each_error_answers_with_its_own_status_and_body(client, cls):
    exc = make(cls)
    r = client.get(f"/raise/{cls.__name__}")
    assert r.status_code == cls.status and 400 <= cls.status <= 599
    assert r.json()["error"] == cls.__name__ and r.json()["detail"] == str(exc)
    assert (r.headers.get("retry-after") == str(cls.retry_after)) if cls.retry_after else "retry-after" not in r.headers
    if cls.status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")
    o = client.get(f"/ogc/raise/{cls.__name__}")
    assert o.status_code == cls.status and o.json() == {"code": exc.ogc_exception(), "description": str(exc)}
    if cls.status == 404:
        assert o.json()["code"] == "NotFound"


def test_a_subclass_status_wins_over_its_parents():
    from layers.versions import PublishError, VersionConflict
    from zoning.rules_history import RulesConflict, RulesError

    assert (PublishError.status, VersionConflict.status) == (422, 409)
    assert (RulesError.status, RulesConflict.status) == (422, 409)


def test_body_problems_on_the_real_app_are_422_and_400_on_ogc(tmp_path):
    from app.main import create_app
    from app.settings import Settings

    with TestClient(create_app(Settings(state_dir=tmp_path))) as c:
        r = c.post("/v1/assess", content=b'{"site": {"type": "Point", "coordinates": [NaN, 1]}}',
                   headers={"content-type": "application/json"})
        assert r.status_code == 422 and r.json()["error"] == "InvalidRequest"
        o = c.get("/ogc/collections/control_units/items", params={"limit": "many"})
        assert o.status_code == 400 and o.json()["code"] == "InvalidParameterValue" and "limit" in o.json()["description"]
        m = c.get("/ogc/collections/nope")
        assert m.status_code == 404 and m.json()["code"] == "NotFound"
