"""Dependencies: the services loaded at start-up, as typed ``Annotated`` aliases."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from app.settings import Settings
from app.state.access import AuditLog, KeyStore
from app.state.jobs import JobStore
from app.state.records import AssessmentStore
from layers.store import LayerStore
from layers.tiles import TileCache
from zoning.industries import IndustryCatalogue
from zoning.rules import RuleSet
from zoning.rules_history import RulesRegistry


@dataclass
class Services:
    settings: Settings
    store: LayerStore
    rules: RuleSet
    industries: IndustryCatalogue
    records: AssessmentStore | None = None
    jobs: JobStore | None = None
    rules_registry: RulesRegistry | None = None
    keys: KeyStore | None = None
    audit: AuditLog | None = None
    runner: object | None = None  # app.jobs.JobRunner, started by the app
    tiles: TileCache = field(default_factory=TileCache)

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


def get_services(request: Request) -> Services:
    """The services, with the layer store pinned for this request: a layer version switched
    in meanwhile is seen by the next request, never half-way through this one."""
    services = request.app.state.services
    return dataclasses.replace(services, store=services.store.snapshot())


ServicesDep = Annotated[Services, Depends(get_services)]


def services_at(services: Services, at: str) -> Services:
    """The services with the layers and rules in force at UTC text ``at``."""
    rules = services.rules_registry.ruleset(at) if services.rules_registry is not None else services.rules
    return dataclasses.replace(services, store=services.store.as_of(at), rules=rules)


def services_as_of(services: Services, date: dt.date | None) -> Services:
    """The services as they stood at the end of ``date`` (China Standard Time); None: now."""
    from layers.dates import end_of_day

    return services if date is None else services_at(services, end_of_day(date))
