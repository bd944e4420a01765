"""Limits on uploads. Defaults follow ../docs/security.md; the service reads them from
``ZONING_UPLOAD_*`` settings."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 1024 * 1024  # the upload itself
    max_members: int = 20  # entries in a zip (Shapefile set, KMZ, XLSX)
    max_uncompressed_bytes: int = 200 * 1024 * 1024  # all zip members together
    max_ratio: float = 100.0  # uncompressed / compressed, per member
    max_features: int = 10_000
    max_vertices_per_feature: int = 100_000
    max_vertices: int = 250_000  # all parcels together
    max_depth: int = 32  # JSON nesting
    timeout_s: float = 30.0  # wall time of the parsing subprocess
    memory_mb: int = 1024  # its address-space limit
    max_layers: int = 100  # KML folders (the KML reader reads the file once per folder)
    sqlite_steps: int = 50_000_000  # SQLite VM steps to count a GeoPackage layer's rows
    parsers: int = 2  # parsing subprocesses at once in this process
    queue_s: float = 10.0  # how long a file waits for a free parser before a 503

    def as_dict(self) -> dict:
        return asdict(self)
