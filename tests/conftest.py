"""Shared fixtures: the sample store, rules and industries load once per session."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import warnings

import pytest
import shapely

from layers.catalog import DEFAULT_CATALOG
from layers.store import EmbeddedStore
from zoning.industries import load_industries
from zoning.rules import load_rules

warnings.filterwarnings("ignore", message=".*httpx.*", category=DeprecationWarning)
# one test process starts many apps: freezing each one's objects out of the garbage collector
# would keep the cycles of the ones done with (the served app freezes: see live_server)
os.environ.setdefault("ZONING_GC_FREEZE", "false")
# the suite sends thousands of requests from one address; test_rate_limits switches the limit on
os.environ.setdefault("ZONING_RATE_LIMIT_ANONYMOUS_PER_MIN", "0")
os.environ.setdefault("ZONING_ANONYMOUS_RECORDS_PER_CLIENT", "1000000")  # likewise: test_anonymous_stored_results
# every app started would encode the sample's low-zoom tiles in the background (10 s of a core);
# the pyramid tests (test_pyramid.py) and the served app (live_server) switch it on
os.environ.setdefault("ZONING_TILE_PYRAMID_ZOOM", "-1")


@pytest.fixture(scope="session")
def store() -> EmbeddedStore:
    return EmbeddedStore.open(DEFAULT_CATALOG)


@pytest.fixture(scope="session")
def rules():
    return load_rules()


@pytest.fixture(scope="session")
def industries():
    return load_industries()


@pytest.fixture(scope="session")
def judging(store, rules, industries):
    """What a judgment is made with: the sample store, the rules files, the industries."""
    from zoning.context import Judging

    return Judging(store, rules, industries)


ADMIN_KEY = "conftest-admin-key-0123456789"
ADMIN = {"X-API-Key": ADMIN_KEY}


@pytest.fixture(scope="session")
def client(store, rules, industries, tmp_path_factory):
    from fastapi.testclient import TestClient

    from app.deps import Services
    from app.main import create_app
    from app.service import Live
    from app.settings import Settings
    from app.state.records import AssessmentStore

    state = tmp_path_factory.mktemp("state")
    settings = Settings(state_dir=state, admin_key=ADMIN_KEY)
    records = AssessmentStore(state / "assessments.sqlite")
    app = create_app(settings, Services(settings, Live(store, rules, industries), records=records))
    with TestClient(app) as c:
        yield c


def square(lon: float, lat: float, half_deg: float = 0.005) -> dict:
    d = half_deg
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d], [lon - d, lat - d]]
    return {"type": "Polygon", "coordinates": [ring]}


def interior_point(geom: shapely.Geometry, avoid: shapely.Geometry | None = None) -> tuple[float, float]:
    """A point inside ``geom`` at least ~300 m from its edge and ~300 m from ``avoid``."""
    core = shapely.buffer(geom, -0.003)
    if core.is_empty:
        core = geom
    if avoid is not None:
        core = shapely.difference(core, shapely.buffer(avoid, 0.003))
    assert not core.is_empty, "no interior point available"
    p = shapely.point_on_surface(core)
    return float(p.x), float(p.y)


# Real places (WGS84 city centres)
TANGSHAN = (118.18, 39.63)
LANZHOU = (103.83, 36.06)
QINHUANGDAO = (119.60, 39.93)
WENZHOU = (120.70, 28.00)
TAIYUAN = (112.55, 37.87)


PG_ADMIN_URL = os.environ.get("ZONING_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def pg_database():
    """A factory of throwaway PostgreSQL databases (dropped at the end of the session). A real
    server on 127.0.0.1:5432 (trust auth); under CI=true an unreachable server fails the tests
    instead of skipping them."""
    import uuid

    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    made = []

    def make() -> str:
        name = f"zoning_test_{uuid.uuid4().hex[:10]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name

    try:
        yield make
    finally:
        for name in made:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def pg_url(pg_database):
    return pg_database()


@pytest.fixture(scope="session")
def pg_store(pg_url):
    """The sample catalog loaded into a throwaway PostGIS database, once per session."""
    from layers.postgis import PostGISStore, load

    counts = load(DEFAULT_CATALOG, pg_url)
    assert counts["admin_county"] == 2875
    store = PostGISStore.open(DEFAULT_CATALOG, pg_url)
    yield store
    store.close()


@pytest.fixture(scope="session")
def pg_replica(pg_store, pg_url):
    """The same database, answered from an in-memory replica of the versions in force."""
    from layers.postgis import PostGISReplicaStore

    store = PostGISReplicaStore.open(DEFAULT_CATALOG, pg_url)
    yield store
    store.close()


@contextlib.contextmanager
def server_process(state_dir, **env_extra: str):
    """A real server (`python -m app`) on a free port: yields (url, process); stopped after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "ZONING_STATE_DIR": str(state_dir),
           "ZONING_GC_FREEZE": "true", "ZONING_WORKERS": "1", **env_extra}
    proc = subprocess.Popen([sys.executable, "-m", "app"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
                time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The real server on a free port, for HTTP clients and the browser (as deployed: with
    the low-zoom tile pyramid)."""
    with server_process(tmp_path_factory.mktemp("live-state"), ZONING_TILE_PYRAMID_ZOOM="7") as (url, _):
        yield url
