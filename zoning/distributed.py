"""Batch judgment on a Dask cluster: each worker loads the layers once (a worker plugin that
opens the same catalog — files on a shared path, or the PostGIS database), and chunks of a job
run there as tasks; the results come back to the job store chunk by chunk, so resume works as
in one process.

    dask scheduler --port 8786                                  # one machine
    dask worker tcp://scheduler:8786 --nworkers 4 --nthreads 1  # each worker machine, same data
    ZONING_DASK_SCHEDULER=tcp://scheduler:8786 zoning batch sites.gpkg --industry C3120 --out r.gpkg
"""

from __future__ import annotations

from distributed import WorkerPlugin, get_worker

from zoning.batch import assess_chunk
from zoning.judge import Project

PLUGIN_NAME = "zoning-layers"


class LayersPlugin(WorkerPlugin):
    """Opens the store, rules and industry catalogue once per worker process."""

    name = PLUGIN_NAME

    def __init__(self, catalog: str, data_dir: str | None, database_url: str | None, rules_dir: str):
        self.catalog, self.data_dir, self.database_url, self.rules_dir = catalog, data_dir, database_url, rules_dir

    def setup(self, worker) -> None:
        from layers.store import EmbeddedStore
        from zoning.industries import load_industries
        from zoning.rules import load_rules

        if self.database_url:
            from layers.postgis import PostGISStore

            store = PostGISStore.open(self.catalog, self.database_url, self.data_dir)
        else:
            store = EmbeddedStore.open(self.catalog, self.data_dir)
        from pathlib import Path

        worker.zoning_services = (store, load_rules(Path(self.rules_dir)), load_industries())


def chunk_on_worker(sites: list, params: dict, limits) -> list[dict]:
    store, rules, industries = get_worker().zoning_services
    project = Project.from_params(params)
    return assess_chunk(store, rules, industries, sites, project, params["edition"], limits)


def connect(address: str, settings):
    """A client with the layers plugin registered on every worker (present and future)."""
    from distributed import Client

    client = Client(address) if isinstance(address, str) else address
    client.register_plugin(LayersPlugin(str(settings.catalog), str(settings.data_dir) if settings.data_dir else None,
                                        settings.database_url, str(settings.rules_dir)))
    return client
