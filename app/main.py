"""The FastAPI application: ``create_app()`` wires settings, the layer store, rules and
routers. Layers load in the lifespan hook, before the server accepts requests."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.deps import Services
from app.errors import ERROR_RESPONSES, add_exception_handlers
from app.middleware import BodySizeLimit, RateLimit, ReleaseMemory
from app.routers import (
    admin,
    assess,
    catalogue,
    health,
    here,
    jobs,
    layers,
    ogc,
    siting,
    tiles,
    uploads,
    web,
)
from app.settings import Settings, get_settings
from app.state.access import open_access
from app.state.jobs import JobStore
from app.state.records import AssessmentStore
from layers.store import EmbeddedStore
from layers.tiles import TileCache
from zoning.industries import load_industries
from zoning.rules_history import RulesRegistry

log = logging.getLogger("zoning")


def open_store(settings: Settings):
    from layers.versions import LayerRegistry

    registry = LayerRegistry.open(settings.state_dir, settings.state_url)
    if settings.database_url:
        from layers.postgis import PostGISStore

        return PostGISStore.open(settings.catalog, settings.database_url, settings.data_dir, registry=registry)
    return EmbeddedStore.open(settings.catalog, settings.data_dir, registry=registry)


def open_judging(settings: Settings):
    """The store with its version registry and the rules registry: what judging needs, opened
    the same way for the HTTP app, the CLI and the Dask workers (the versions in force)."""
    from rasterio.env import set_gdal_config

    set_gdal_config("GDAL_CACHEMAX", settings.gdal_cache_mb * 2**20)
    store = open_store(settings)
    return store, RulesRegistry.open(settings.state_dir, settings.state_url, settings.rules_dir)


def load_services(settings: Settings) -> Services:
    store, rules_registry = open_judging(settings)
    keys, audit_log = open_access(settings.state_dir, settings.state_url)
    return Services(
        settings=settings,
        store=store,
        rules=rules_registry.ruleset(),
        rules_registry=rules_registry,
        industries=load_industries(),
        records=AssessmentStore.open(settings.state_dir, settings.state_url),
        jobs=JobStore.open(settings.state_dir, settings.state_url, settings.job_lease_s),
        keys=keys,
        audit=audit_log,
        tiles=TileCache(settings.tile_cache_mb * 2**20),
    )


class VersionSync:
    """Loads the layer versions and rules files that another process (the CLI, another
    instance) put in force."""

    def __init__(self, services: Services, every_s: float):
        self.services, self.every_s = services, every_s
        self._stop = threading.Event()
        self._seen = self._generation()
        self._thread = threading.Thread(target=self._loop, name="version-sync", daemon=True)

    def _generation(self):
        s = self.services
        layers = s.store.registry.generation() if s.store.registry is not None else None
        rules = s.rules_registry.generation() if s.rules_registry is not None else None
        return layers, rules

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def step(self) -> list[str]:
        """One look: load what changed, and return the layers switched."""
        from layers.versions import sync

        gen = self._generation()
        if gen == self._seen:
            return []
        changed = []
        if gen[0] != self._seen[0]:
            changed = sync(self.services.store)
            if changed:
                self.services.layers_switched()
                log.info("layer versions switched: %s", ", ".join(changed))
        if gen[1] != self._seen[1]:
            self.services.rules = self.services.rules_registry.ruleset()
            log.info("rules now %s", self.services.rules.version)
        self._seen = gen
        return changed

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.step()
            except Exception:  # a bad version file is logged; what is in force stays
                log.exception("version sync failed")


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if getattr(app.state, "services", None) is None:
            app.state.services = load_services(settings)
            log.info("loaded %d layers", len(app.state.services.store.layers()))
        services = app.state.services
        s = services.settings
        services.loaded()
        if services.records is None:
            services.records = AssessmentStore.open(s.state_dir, s.state_url)
        if services.jobs is None:
            services.jobs = JobStore.open(s.state_dir, s.state_url, s.job_lease_s)
        if services.keys is None:
            services.keys, services.audit = open_access(s.state_dir, s.state_url)
        syncer = None
        if s.layer_sync_s > 0:
            syncer = VersionSync(services, s.layer_sync_s)
            syncer.start()
        if services.settings.run_jobs and services.runner is None:
            from app.jobs import JobRunner

            client = None
            if services.settings.dask_scheduler:
                from app.distributed import connect

                client = connect(services.settings.dask_scheduler, services.settings)
            services.runner = JobRunner(services, services.jobs, dask_client=client)
            services.runner.start()  # resumes jobs a restart or crash left unfinished
        yield
        if syncer is not None:
            syncer.stop()
        if services.runner is not None:
            services.runner.stop()
            services.runner = None

    app = FastAPI(
        title="Zoning & siting service (减污降碳协同增效)",
        version="0.1.0",
        description=(
            "Judges whether a project may be built at a site over three-lines-one-list zoning, "
            "key air-pollution regions and land for renewables, citing the clause and layer "
            "version behind every reason. Layers marked `synthetic` are generated sample data."
        ),
        lifespan=lifespan,
    )
    app.state.services = services
    app.add_middleware(ReleaseMemory, after_s=settings.trim_after_s)
    if settings.rate_limit_anonymous_per_min or settings.rate_limit_key_per_min:
        app.add_middleware(RateLimit, per_min_anonymous=settings.rate_limit_anonymous_per_min,
                           per_min_key=settings.rate_limit_key_per_min)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       upload_paths=uploads.UPLOAD_PATHS + jobs.UPLOAD_PATHS, upload_max_bytes=settings.upload_max_bytes + 65536,
                       version_max_bytes=settings.layer_max_bytes + 65536)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Content-Type", "X-API-Key", "Authorization", "If-None-Match"],
            expose_headers=["ETag", "X-Tile-Features"],
        )
    add_exception_handlers(app)
    for module in (health, assess, uploads, jobs, siting, here, admin, layers, catalogue, ogc, tiles):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    web.mount(app)
    return app
