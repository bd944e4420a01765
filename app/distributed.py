"""Batch judgment on a Dask cluster: each worker assembles the judging part of the service once
(a worker plugin calling :func:`app.main.open_judging` with the service's settings: the store
with its version registry, the rules in force), and chunks of a job run there as tasks. Every
task carries the layer and rules versions the job runner judges with; a worker that holds
others first loads those in force (a publish or rollback since it started), so a job judges
the same on the cluster as in one process. Results come back to the job store chunk by chunk,
so resume works as in one process.

    dask scheduler --port 8786                                  # one machine
    dask worker tcp://scheduler:8786 --nworkers 4 --nthreads 1  # each worker machine, same data
    ZONING_DASK_SCHEDULER=tcp://scheduler:8786 zoning batch sites.gpkg --industry C3120 --out r.gpkg
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from distributed import WorkerPlugin, get_worker

from zoning.batch import assess_chunk
from zoning.judge import Project

PLUGIN_NAME = "zoning-layers"


def versions_of(store, rules) -> dict:
    """What a task must be judged with: every layer's version and the rules version."""
    return {"rules": rules.version, "layers": {info.id: info.version for info in store.layers()}}


@dataclass
class WorkerJudging:
    store: object
    rules_registry: object
    rules: object
    industries: object
    lock: threading.Lock

    def bring_to(self, wanted: dict) -> None:
        """Load the versions in force when ``wanted`` differs from what this worker holds."""
        from layers.versions import sync

        with self.lock:
            if versions_of(self.store, self.rules) == wanted:
                return
            sync(self.store)
            self.rules = self.rules_registry.ruleset()
            have = versions_of(self.store, self.rules)
            if have != wanted:
                raise RuntimeError(f"this Dask worker cannot load the versions the job is judged with: it "
                                   f"has {have}, the job wants {wanted} (are the state and data shared?)")


class LayersPlugin(WorkerPlugin):
    """Assembles the judging services once per worker process, from the service's settings."""

    name = PLUGIN_NAME

    def __init__(self, settings):
        self.settings = settings

    def setup(self, worker) -> None:
        from app.main import open_judging
        from zoning.industries import load_industries

        store, rules_registry = open_judging(self.settings)
        worker.zoning_services = WorkerJudging(store, rules_registry, rules_registry.ruleset(),
                                               load_industries(), threading.Lock())


def chunk_on_worker(sites: list, params: dict, limits, versions: dict) -> list[dict]:
    j: WorkerJudging = get_worker().zoning_services
    j.bring_to(versions)
    project = Project.from_params(params)
    return assess_chunk(j.store, j.rules, j.industries, sites, project, params["edition"], limits)


def connect(address: str, settings):
    """A client with the layers plugin registered on every worker (present and future)."""
    from distributed import Client

    client = Client(address) if isinstance(address, str) else address
    client.register_plugin(LayersPlugin(settings))
    return client
