"""Dependencies: the services assembled at start-up (``app.service.assemble``), as typed
``Annotated`` aliases."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from app.service import Live
from app.settings import Settings
from app.state.access import AuditLog, KeyStore
from app.state.jobs import JobStore
from app.state.records import AssessmentStore
from layers.pyramid import Pyramid
from layers.store import LayerStore
from layers.tiles import TileCache
from zoning.context import Judging
from zoning.industries import IndustryCatalogue
from zoning.rules import RuleSet
from zoning.rules_history import RulesRegistry


@dataclass
class Services:
    """Everything a request may use. ``live`` holds the layers and rules in force and switches
    them; a request's copy is ``pinned`` to one :class:`~zoning.context.Judging` (see
    :func:`get_services`), so a switch meanwhile is seen by the next request only."""

    settings: Settings
    live: Live
    records: AssessmentStore | None = None
    jobs: JobStore | None = None
    keys: KeyStore | None = None
    audit: AuditLog | None = None
    runner: object | None = None  # app.jobs.JobRunner, started by the app
    tiles: TileCache = field(default_factory=TileCache)
    # rendered PDF reports by (assessment, language, layer versions): one took up to a minute of CPU
    reports: TileCache = field(default_factory=lambda: TileCache(64 * 1024 * 1024, size=len))
    pyramid: Pyramid | None = None  # low-zoom tiles encoded ahead (app.service.assemble)
    pinned: Judging | None = None

    @property
    def judging(self) -> Judging:
        return self.pinned if self.pinned is not None else self.live.judging()

    @property
    def store(self) -> LayerStore:
        return self.judging.store

    @property
    def rules(self) -> RuleSet:
        return self.judging.rules

    @property
    def industries(self) -> IndustryCatalogue:
        return self.live.industries

    @property
    def rules_registry(self) -> RulesRegistry | None:
        return self.live.rules_registry

    def loaded(self) -> None:
        """After start-up and after a layer version switch: move what is loaded out of the
        cyclic garbage collector's view (``gc.freeze``, when ``gc_freeze``). Its full passes
        over the layers' objects took ~40 ms and landed inside requests. Collected first, so
        no garbage is frozen with it."""
        if self.settings.gc_freeze:
            gc.collect()
            gc.freeze()

    def layers_switched(self) -> None:
        """A layer version went into force in this process: no tile of the old one is served."""
        self.tiles.clear()
        self.loaded()
        self.build_pyramid()

    def build_pyramid(self) -> None:
        """Encode the low-zoom tiles of the layer versions in force that have none yet, in the
        background — in the process that runs jobs (one per instance); the others read the
        files it writes."""
        if self.pyramid is not None and self.settings.run_jobs:
            self.pyramid.start(self.live.store)


def get_services(request: Request) -> Services:
    """The services, pinned to the layers and rules in force now for this request."""
    services = request.app.state.services
    return dataclasses.replace(services, pinned=services.live.judging())


ServicesDep = Annotated[Services, Depends(get_services)]


def services_at(services: Services, at: str) -> Services:
    """The services with the layers and rules in force at UTC text ``at``."""
    return dataclasses.replace(services, pinned=services.live.at(at))


def services_as_of(services: Services, date: dt.date | None) -> Services:
    """The services as they stood at the end of ``date`` (China Standard Time); None: now."""
    from layers.dates import end_of_day

    return services if date is None else services_at(services, end_of_day(date))
