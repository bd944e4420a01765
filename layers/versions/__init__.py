"""Versioned layer updates: validate a provincial file, stage it, switch atomically, keep the
history, roll back, and answer which version was in force on a date.

A published version is the layer's canonical data (catalog field mapping applied, EPSG:4490)
written to ``<state>/layers/<layer>/<version>.gpkg``; the history lives in the state database
(``layer_versions``: who, when, source checksum, feature count, change summary, validation
report; ``layer_events``: publish / rollback / baseline, in order). The order of a publish is
what makes it crash-safe:

1. parse the upload in the hardened subprocess (``layers.ingest``), map fields, validate;
2. write the version file under a temporary name, fsync, rename it into place;
3. one transaction adds the version and its ``publish`` event — the commit point;
4. the running store swaps the layer (one reference assignment; see ``EmbeddedStore``).

A crash before 3 leaves the old version in force (the stray file is removed at the next
start); after 3 the new version is in force and a restart loads it. Readers never see a mix:
each request works on one snapshot of the store.

The catalog's own data is the first version of a layer. Before a layer's first publish it is
written to the versions folder too (event ``baseline``, in force from the layer's vintage),
so that rollback and ``as_of`` can always reach it.
"""

from layers.versions.errors import PublishError, VersionConflict, VersionNotFound
from layers.versions.publish import publish, rollback, sync
from layers.versions.registry import LayerRegistry
from layers.versions.validate import Report, validate

__all__ = ["LayerRegistry", "PublishError", "Report", "VersionConflict", "VersionNotFound", "publish",
           "rollback", "sync", "validate"]
