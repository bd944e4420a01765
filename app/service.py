"""The composition root: :func:`assemble` builds the service from settings, the same way for
the HTTP app (``app.main``), every CLI command (``app.cli``) and the Dask workers
(``app.distributed``, which needs only :func:`open_live`).

- :class:`Live` holds what switches while the service runs: the layer store with its version
  registry and the rules in force (with the rules registry). A publish, a rollback or a change
  another process made (:meth:`Live.sync`) goes through it; requests and tasks take a
  :class:`~zoning.context.Judging` from it, pinned for their duration.
- :class:`State` is the service's own state (stored assessments, jobs, keys, audit), in the
  state database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.settings import Settings
from app.state.access import AuditLog, KeyStore, open_access
from app.state.jobs import JobStore
from app.state.records import AssessmentStore
from layers.store import LayerStore
from zoning.access_lists import access_lists
from zoning.context import Judging
from zoning.industries import IndustryCatalogue, load_industries
from zoning.scale import scale_problem
from zoning.rules import RuleSet
from zoning.rules_history import RulesError, RulesRegistry

if TYPE_CHECKING:
    from app.deps import Services
    from layers.pyramid import Pyramid
    from layers.versions import LayerRegistry

log = logging.getLogger("zoning")


class Live:
    """The layers and rules in force, switched in one place."""

    def __init__(self, store: LayerStore, rules: RuleSet, industries: IndustryCatalogue,
                 rules_registry: RulesRegistry | None = None):
        self.store, self.rules, self.industries = store, rules, industries
        self.rules_registry = rules_registry
        self._lock = threading.Lock()  # one switch at a time
        self._on_layers: list[Callable[[], None]] = []

    def on_layers_switched(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after a layer version went into force here (tile caches, gc)."""
        if callback not in self._on_layers:
            self._on_layers.append(callback)

    def _layers_switched(self, changed: list[str]) -> None:
        if changed:
            log.info("layer versions switched: %s", ", ".join(changed))
            # a switched access list is compiled here (the publish, or the sync thread), not
            # by the next judgment (national lists: 100k items, 2 s)
            access_lists(self.store)
            for callback in self._on_layers:
                callback()

    def judging(self) -> Judging:
        """The layers and rules in force now, pinned: a switch meanwhile is seen by the next
        caller, never half-way through this one."""
        return Judging(self.store.snapshot(), self.rules, self.industries)

    def at(self, at: str) -> Judging:
        """The layers and rules in force at UTC text ``at``."""
        rules = self.rules_registry.ruleset(at) if self.rules_registry is not None else self.rules
        return Judging(self.store.as_of(at), rules, self.industries, as_of=at)

    def state_kind(self) -> str:
        """Where the version histories live: ``sqlite`` (local, a read costs microseconds) or ``postgres``."""
        registry = self.store.registry or self.rules_registry
        return registry.db.kind if registry is not None else "sqlite"

    def generation(self) -> tuple:
        """Changes whenever a layer or rules version in force changes anywhere."""
        layers = self.store.registry.generation() if self.store.registry is not None else None
        rules = self.rules_registry.generation() if self.rules_registry is not None else None
        return layers, rules

    # -- switches: here, or by another process (sync)
    def publish_layer(self, layer_id: str, data: bytes, filename: str, **kwargs) -> dict:
        """:func:`layers.versions.publish` on the live store (a dry run switches nothing)."""
        from layers.versions import publish

        with self._lock:
            out = publish(self.store, layer_id, data, filename, unknown_industries=self.industries.unknown_codes,
                          bad_scale=scale_problem, **kwargs)
        if not kwargs.get("dry_run"):
            self._layers_switched([layer_id])
        return out

    def rollback_layer(self, layer_id: str, version: str, **kwargs) -> dict:
        from layers.versions import rollback

        with self._lock:
            out = rollback(self.store, layer_id, version, **kwargs)
        self._layers_switched([layer_id])
        return out

    def _rules_registry(self) -> RulesRegistry:
        if self.rules_registry is None:
            raise RulesError("this service keeps no rules history")
        return self.rules_registry

    def publish_rules(self, file: str, data: bytes, actor: str, note: str | None = None,
                      dry_run: bool = False) -> dict:
        registry = self._rules_registry()
        with self._lock:
            out = registry.publish(file, data, actor, note=note, dry_run=dry_run)
            if not dry_run:
                self.rules = registry.ruleset()
        return out

    def rollback_rules(self, file: str, sha256: str, actor: str, note: str | None = None) -> dict:
        registry = self._rules_registry()
        with self._lock:
            out = registry.rollback(file, sha256, actor, note)
            self.rules = registry.ruleset()
        return out

    def sync(self) -> list[str]:
        """Take up the layer and rules versions another process put in force; returns the
        layers switched."""
        from layers.versions import sync

        with self._lock:
            changed = sync(self.store)
            before = self.rules.version
            if self.rules_registry is not None:
                self.rules = self.rules_registry.ruleset()
        self._layers_switched(changed)
        if self.rules.version != before:
            log.info("rules now %s", self.rules.version)
        return changed

    def bring_to(self, wanted: dict) -> Judging:
        """The judging a task asks for (``Judging.versions()`` of its sender): the versions
        held if they are those, else the versions in force after a sync; an error saying why
        when this process cannot load them."""
        have = self.judging()
        if have.versions() == wanted:
            return have
        self.sync()
        have = self.judging()
        if have.versions() != wanted:
            raise RuntimeError(f"this process cannot load the versions the job is judged with: it has "
                               f"{have.versions()}, the job wants {wanted} (are the state and data shared?)")
        return have


def open_layer_registry(settings: Settings, url: str | None = None) -> LayerRegistry:
    """The layer version history (in the state database, or the one at ``url``)."""
    from layers.versions import LayerRegistry

    return LayerRegistry.open(settings.state_dir, url or settings.state_url)


def open_store(settings: Settings) -> LayerStore:
    """The layer store the settings name, with its version registry (the versions in force)."""
    registry = open_layer_registry(settings)
    if settings.database_url:
        from layers.postgis import PostGISReplicaStore, PostGISStore

        cls = PostGISReplicaStore if settings.postgis_replica else PostGISStore
        return cls.open(settings.catalog, settings.database_url, settings.data_dir, registry=registry)
    from layers.store import EmbeddedStore

    return EmbeddedStore.open(settings.catalog, settings.data_dir, registry=registry)


def open_rules(settings: Settings) -> RulesRegistry:
    """The rules history and the rules files in force."""
    return RulesRegistry.open(settings.state_dir, settings.state_url, settings.rules_dir)


def open_live(settings: Settings, store: LayerStore | None = None) -> Live:
    """The store with its version registry and the rules in force: what judging needs (a
    ``store`` already loaded — a forked worker's — is taken as it is)."""
    from rasterio.env import set_gdal_config

    set_gdal_config("GDAL_CACHEMAX", settings.gdal_cache_mb * 2**20)
    store = store or open_store(settings)
    registry = open_rules(settings)
    return Live(store, registry.ruleset(), load_industries(), registry)


@dataclass
class State:
    records: AssessmentStore
    jobs: JobStore
    keys: KeyStore
    audit: AuditLog


def open_state(settings: Settings) -> State:
    keys, audit = open_access(settings.state_dir, settings.state_url)
    return State(records=AssessmentStore.open(settings.state_dir, settings.state_url),
                 jobs=JobStore.open(settings.state_dir, settings.state_url, settings.job_lease_s),
                 keys=keys, audit=audit)


def open_pyramid(settings: Settings) -> Pyramid | None:
    """The low-zoom tile files the settings ask for (None: tiles are all drawn per request)."""
    from layers.pyramid import Pyramid

    if settings.tile_pyramid_zoom < 0:
        return None
    return Pyramid(settings.tile_pyramid_dir or settings.state_dir / "tiles", settings.tile_pyramid_zoom)


def assemble(settings: Settings, store: LayerStore | None = None) -> Services:
    """The whole service from its settings: the live layers and rules, the state, the tile
    cache (over a ``store`` already loaded, in a forked worker)."""
    from app.deps import Services
    from layers.tiles import TileCache

    state = open_state(settings)
    services = Services(settings=settings, live=open_live(settings, store), records=state.records, jobs=state.jobs,
                        keys=state.keys, audit=state.audit, tiles=TileCache(settings.tile_cache_mb * 2**20),
                        pyramid=open_pyramid(settings))
    services.live.on_layers_switched(services.layers_switched)
    return services
