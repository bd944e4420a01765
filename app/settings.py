"""Service settings, read from the environment with the ``ZONING_`` prefix."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.state.records import Quota
from layers.catalog import DEFAULT_CATALOG
from zoning.rules import RULES_DIR
from zoning.site import SERVICE_AREA, SiteLimits
from zoning.vocabulary import DEFAULT_EDITION, Edition


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ZONING_", env_file=".env", extra="ignore")

    catalog: Path = Field(DEFAULT_CATALOG, description="layer catalog YAML")
    data_dir: Path | None = Field(None, description="overrides the catalog's data_dir")
    rules_dir: Path = Field(RULES_DIR, description="folder of rule-family YAML files")
    key_region_edition: Edition = DEFAULT_EDITION
    max_site_vertices: int = Field(100_000, ge=4, le=2_000_000, description="vertices of one site")
    max_site_parts: int = Field(1_000, ge=1, le=100_000, description="polygons of one site")
    max_site_holes: int = Field(5_000, ge=0, le=100_000, description="holes (interior rings) of one site")
    service_area: tuple[float, float, float, float] = Field(
        SERVICE_AREA, description="lon/lat box (west, south, east, north) sites must lie in")
    request_timeout_s: float = Field(30.0, gt=0, le=3600, description="wall time of one request's "
                                     "overlay or siting work; then a 503 naming this setting")
    rate_limit_anonymous_per_min: int = Field(600, ge=0, description="requests a minute per client address "
                                              "without a key (0: no limit; a 429 past it)")
    rate_limit_key_per_min: int = Field(0, ge=0, description="requests a minute per API key (0: no limit)")
    anonymous_records_per_client: int = Field(100, ge=1, description="stored results (siting, uploads) "
                                              "kept per client address without a key")
    anonymous_records_total: int = Field(10_000, ge=1, description="stored results kept for all callers "
                                         "without a key together")
    anonymous_record_ttl_h: float = Field(24.0, gt=0, description="hours a result stored without a key is kept")
    request_threads: int = Field(8, ge=1, le=1000, description="requests a worker process works on at "
                                 "once (its thread pool; the rest wait their turn). More threads than a few "
                                 "only fight over the GIL: national set, 32 clients, two workers, 8 threads "
                                 "against anyio's default 40: /v1/here 157 -> 221 req/s, /v1/assess 186 -> "
                                 "235; an upload waiting for a parser holds one")
    trim_after_s: float = Field(0.05, ge=0, description="after a request this slow, return freed memory "
                                "to the system (glibc malloc_trim)")
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024, description="largest request body")
    cors_origins: list[str] = Field(default_factory=list, description="allowed browser origins")
    state_dir: Path = Field(Path("var"), description="stored assessments (SQLite) live here")
    database_url: str | None = Field(
        None, description="postgresql://… switches layer storage and queries to PostGIS "
                          "(load it first with `zoning load-postgis`)")
    postgis_replica: bool = Field(
        True, description="on PostGIS, answer from an in-memory replica of the versions in force "
                          "(PostGIS stays the source of truth; switches are read from it); false: one "
                          "SQL round trip per question, and tiles by ST_AsMVT")
    state_database_url: str | None = Field(
        None, description="postgresql://… keeps stored assessments and batch jobs in PostgreSQL, "
                          "shared by several instances; defaults to database_url, else SQLite "
                          "files in state_dir")
    job_lease_s: float = Field(30.0, gt=0, le=3600, description="a job whose runner has not "
                               "reported for this long is taken over by another instance")
    instance_id: str | None = Field(None, description="this instance's name as a job runner; "
                                    "defaults to host name and state folder, stable across restarts")
    batch_max_sites: int = Field(1_000_000, ge=1, description="sites per batch job")
    batch_max_vertices: int = Field(50_000_000, ge=4, description="vertices per batch job")
    run_jobs: bool = Field(True, description="run batch jobs in this process (a background thread)")
    dask_scheduler: str | None = Field(None, description="tcp://host:8786: run batch-job chunks on a Dask cluster")
    workers: int = Field(0, ge=0, le=64, description="HTTP worker processes, forked after the layers are "
                         "loaded so they share them; 0: one per core")
    ogc_page_vertices: int = Field(
        500_000, ge=1000, description="most vertices in one page of OGC API items (about 12 MB of GeoJSON; "
                                      "a tenth for HTML): a page is cut short there and `next` goes on")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="addresses (or CIDRs) of reverse proxies whose X-Forwarded-For is "
                                          "believed; none by default: the client address is the peer's")
    keep_alive_s: int = Field(30, ge=1, le=600, description="idle HTTP keep-alive; uvicorn's 5 s "
                              "dropped connections under load (bench/load.py)")
    # memory: both caches are bounded; RSS levels off once they are full (bench/load.py)
    tile_cache_mb: int = Field(256, ge=0, description="encoded tiles kept in memory (LRU)")
    tile_pyramid_zoom: int = Field(7, ge=-1, le=10, description="vector tiles of zooms 0 to this are "
                                   "encoded once per layer version, ahead of requests, by the process "
                                   "that runs jobs, into files in tile_pyramid_dir that every worker "
                                   "serves from (national z5-7 p95: 270-310 ms drawn, 15-25 ms served); -1: none")
    tile_pyramid_dir: Path | None = Field(None, description="where the tile pyramid files are kept; "
                                          "default: tiles/ in state_dir")
    gdal_cache_mb: int = Field(256, ge=8, description="GDAL's raster block cache (its default is 5% of RAM)")
    gc_freeze: bool = Field(True, description="after loading, move the loaded layers out of the cyclic "
                            "garbage collector's view (gc.freeze): its full passes over millions of "
                            "geometries paused requests for ~40-50 ms")
    # access control and layer versions (docs/security.md)
    admin_key: str | None = Field(None, description="a bootstrap admin API key (compared by hash, never "
                                  "stored); make lasting keys with `zoning keys create`")
    public_assess: bool = Field(True, description="false: assessments and siting need a reader key")
    sync_on_request: bool = Field(True, description="before each request, take up a layer or rules version another "
                                                 "worker or process put in force (a cheap look at the histories; "
                                                 "read-your-writes within an instance)")
    layer_sync_s: float = Field(2.0, ge=0, description="how often to look for layer versions another "
                                "process published (0: never)")
    layer_max_bytes: int = Field(500 * 1024 * 1024, ge=1024)
    layer_max_features: int = Field(500_000, ge=1)
    layer_max_vertices: int = Field(50_000_000, ge=4)
    layer_timeout_s: float = Field(300.0, gt=0, le=3600)
    layer_memory_mb: int = Field(8192, ge=256)
    # uploads (see layers/ingest/limits.py and docs/security.md)
    upload_max_bytes: int = Field(50 * 1024 * 1024, ge=1024)
    upload_max_members: int = Field(20, ge=1)
    upload_max_uncompressed_bytes: int = Field(200 * 1024 * 1024, ge=1024)
    upload_max_ratio: float = Field(100.0, ge=1)
    upload_max_features: int = Field(10_000, ge=1)
    upload_max_vertices_per_feature: int = Field(100_000, ge=4)
    upload_max_vertices: int = Field(250_000, ge=4)
    upload_max_depth: int = Field(32, ge=4, le=256)
    upload_timeout_s: float = Field(30.0, gt=0, le=600)
    upload_memory_mb: int = Field(1024, ge=128)
    upload_max_layers: int = Field(100, ge=1, description="KML folders in one file")
    upload_parsers: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2) - 1), ge=1, le=64,
                                description="file parsers at once per process (each may take upload_memory_mb); "
                                            "default: the cores but one, which is left to the server")
    upload_queue_s: float = Field(10.0, ge=0, le=120, description="wait for a free parser before a 503")

    @property
    def state_url(self) -> str | None:
        return self.state_database_url or self.database_url

    @property
    def runner_id(self) -> str:
        import socket

        return self.instance_id or f"{socket.gethostname()}:{self.state_dir.resolve()}"

    def anonymous_quota(self) -> Quota:
        return Quota(per_owner=self.anonymous_records_per_client, total=self.anonymous_records_total,
                     ttl_s=self.anonymous_record_ttl_h * 3600)

    def site_limits(self) -> SiteLimits:
        return SiteLimits(max_vertices=self.max_site_vertices, max_parts=self.max_site_parts,
                          max_holes=self.max_site_holes, area=self.service_area)

    def upload_limits(self):
        from layers.ingest import Limits

        return Limits(
            max_bytes=self.upload_max_bytes, max_members=self.upload_max_members,
            max_uncompressed_bytes=self.upload_max_uncompressed_bytes, max_ratio=self.upload_max_ratio,
            max_features=self.upload_max_features,
            max_vertices_per_feature=self.upload_max_vertices_per_feature,
            max_vertices=self.upload_max_vertices, max_depth=self.upload_max_depth,
            timeout_s=self.upload_timeout_s, memory_mb=self.upload_memory_mb,
            max_layers=self.upload_max_layers, parsers=self.upload_parsers, queue_s=self.upload_queue_s,
        )

    def layer_limits(self):
        """Limits for a new layer version's file: a whole province's units."""
        import dataclasses

        return dataclasses.replace(
            self.upload_limits(), max_bytes=self.layer_max_bytes, max_features=self.layer_max_features,
            max_vertices=self.layer_max_vertices, max_vertices_per_feature=self.layer_max_vertices,
            max_uncompressed_bytes=max(self.upload_max_uncompressed_bytes, 2 * self.layer_max_bytes),
            timeout_s=self.layer_timeout_s, memory_mb=self.layer_memory_mb)

    def batch_limits(self):
        """Upload limits for batch-job site files: more sites and vertices, the rest the same."""
        import dataclasses

        return dataclasses.replace(self.upload_limits(), max_features=self.batch_max_sites,
                                   max_vertices=self.batch_max_vertices)


@lru_cache
def get_settings() -> Settings:
    return Settings()
