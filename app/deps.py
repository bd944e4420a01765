"""Dependencies: the services loaded at start-up, as typed ``Annotated`` aliases."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from app.settings import Settings
from layers.jobs import JobStore
from layers.records import AssessmentStore
from layers.store import LayerStore
from layers.tiles import TileCache
from zoning.industries import IndustryCatalogue
from zoning.rules import RuleSet


@dataclass
class Services:
    settings: Settings
    store: LayerStore
    rules: RuleSet
    industries: IndustryCatalogue
    records: AssessmentStore | None = None
    jobs: JobStore | None = None
    runner: object | None = None  # app.jobs.JobRunner, started by the app
    tiles: TileCache = field(default_factory=TileCache)


def get_services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
