"""The FastAPI application: ``create_app()`` wires the service (``app.service.assemble``),
middleware and routers. Layers load in the lifespan hook, before the server accepts requests."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

import anyio.to_thread
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
    units,
    uploads,
    web,
)
from app.service import Live, assemble, open_state
from app.settings import Settings, get_settings

log = logging.getLogger("zoning")


class VersionSync:
    """Takes up the layer versions and rules files that another process (the CLI, another
    instance) put in force: a cheap look at the histories' generation, then ``Live.sync``."""

    def __init__(self, live: Live, every_s: float):
        self.live, self.every_s = live, every_s
        self._stop = threading.Event()
        self._seen = live.generation()
        self._thread = threading.Thread(target=self._loop, name="version-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def stale(self) -> bool:
        """Whether a version was put in force since the last look (one cheap read of each history)."""
        return self.live.generation() != self._seen

    def step(self) -> list[str]:
        """One look: load what changed, and return the layers switched."""
        gen = self.live.generation()
        if gen == self._seen:
            return []
        changed = self.live.sync()
        self._seen = gen
        return changed

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.step()
            except Exception:  # a bad version file is logged; what is in force stays
                log.exception("version sync failed")


class ReadYourWrites:
    """Before every request, take up what another worker or process put in force since the
    last look: a read of each history's generation (about 5 µs on SQLite), and the load, when
    there is one, off the event loop. So once a publish or rollback has answered 2xx, no later
    request of the instance judges with the version it replaced."""

    def __init__(self, app, state):
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send):
        syncer = getattr(self.state, "version_sync", None) if scope["type"] == "http" else None
        if syncer is not None:
            try:
                # the look itself off the loop too when the histories are in PostgreSQL (a round trip)
                local = syncer.live.state_kind() == "sqlite"
                if syncer.stale() if local else await anyio.to_thread.run_sync(syncer.stale):
                    await anyio.to_thread.run_sync(syncer.step)
            except Exception:  # a bad version file is logged; what is in force stays
                log.exception("version sync failed")
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if app.state.services is None:
            app.state.services = assemble(settings)
            log.info("loaded %d layers", len(app.state.services.store.layers()))
        services = app.state.services
        s = services.settings
        anyio.to_thread.current_default_thread_limiter().total_tokens = s.request_threads
        services.live.on_layers_switched(services.layers_switched)
        services.loaded()
        if None in (services.records, services.jobs, services.keys):  # given without (all) state: tests
            state = open_state(s)
            for name in ("records", "jobs", "keys", "audit"):
                if getattr(services, name) is None:
                    setattr(services, name, getattr(state, name))
        syncer = VersionSync(services.live, s.layer_sync_s) if s.layer_sync_s > 0 or s.sync_on_request else None
        app.state.version_sync = syncer if s.sync_on_request else None
        if s.layer_sync_s > 0:
            syncer.start()
        if services.settings.run_jobs and services.runner is None:
            from app.jobs import JobRunner

            client = None
            if services.settings.dask_scheduler:
                from app.distributed import connect

                client = connect(services.settings.dask_scheduler, services.settings)
            services.runner = JobRunner(services, services.jobs, dask_client=client)
            services.runner.start()  # resumes jobs a restart or crash left unfinished
        services.build_pyramid()
        yield
        if services.pyramid is not None:
            services.pyramid.stop()
        if syncer is not None and s.layer_sync_s > 0:
            syncer.stop()
        if services.runner is not None:
            services.runner.stop()
            services.runner = None

    app = FastAPI(
        title="Zoning & siting service (减污降碳协同增效)",
        version="0.1.0",
        description=(
            "Judges whether a project may be built at a site over the ecological-environment zoning "
            "control (生态环境分区管控, formerly 三线一单, three lines one list), the key air-pollution "
            "regions, the Tibetan Plateau and land for renewables, citing the clause and layer "
            "version behind every reason. Layers marked `synthetic` are generated sample data."
        ),
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.version_sync = None
    app.add_middleware(ReadYourWrites, state=app.state)
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
    for module in (health, assess, uploads, jobs, siting, here, admin, layers, units, catalogue, ogc, tiles):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    web.mount(app)
    return app
