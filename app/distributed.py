"""Batch judgment on a Dask cluster: each worker assembles the judging part of the service once
(a worker plugin calling :func:`app.service.open_live` with the service's settings: the store
with its version registry, the rules in force), and chunks of a job run there as tasks. Every
task carries the layer and rules versions the job runner judges with (``Judging.versions``);
a worker that holds others first takes up those in force (``Live.bring_to``: a publish or
rollback since it started), so a job judges the same on the cluster as in one process.
Results come back to the job store chunk by chunk, so resume works as in one process.

    dask scheduler --port 8786                                  # one machine
    dask worker tcp://scheduler:8786 --nworkers 4 --nthreads 1  # each worker machine, same data
    ZONING_DASK_SCHEDULER=tcp://scheduler:8786 zoning batch sites.gpkg --industry C3120 --out r.gpkg
"""

from __future__ import annotations

from distributed import WorkerPlugin, get_worker

from app.service import Live
from zoning.batch import assess_chunk
from zoning.judge import Project

PLUGIN_NAME = "zoning-layers"


class LayersPlugin(WorkerPlugin):
    """Assembles the live layers and rules once per worker process, from the service's settings."""

    name = PLUGIN_NAME

    def __init__(self, settings):
        self.settings = settings

    def setup(self, worker) -> None:
        from app.service import open_live

        worker.zoning_live = open_live(self.settings)


def chunk_on_worker(sites: list, params: dict, limits, versions: dict) -> list[dict]:
    live: Live = get_worker().zoning_live
    return assess_chunk(live.bring_to(versions), sites, Project.from_params(params), params["edition"], limits)


def connect(address: str, settings):
    """A client with the layers plugin registered on every worker (present and future)."""
    from distributed import Client

    client = Client(address) if isinstance(address, str) else address
    client.register_plugin(LayersPlugin(settings))
    return client
