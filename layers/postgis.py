"""The PostGIS backend, for deployments with several service instances.

``load(catalog, data_dir, url)`` (``zoning load-postgis``) reads the catalog through
:class:`~layers.store.EmbeddedStore` — the same field mapping, reprojection, repair and
content versions — and writes, per layer, a table of features (``fid`` = the row index the
embedded store uses, feature id, canonical attributes as JSONB, geometry in EPSG:4490) and a
table of the geometries cut with ``ST_Subdivide`` (256 vertices) under a GiST index, plus a
``layers`` table of versions, extents and coverage. It loads into a fresh schema and swaps it
for the live one in one transaction, so readers see the old layers or the new, never a mix.

:class:`PostGISStore` answers the :class:`~layers.store.LayerStore` questions with SQL: the
spatial searches (many geometries at once, as index pairs) run on the subdivided tables,
features are fetched by ``fid``, and OGC item filters are compiled from the CQL2 AST into SQL
with bound parameters and allow-listed column names. Raster layers stay files, as in the
embedded store.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import threading
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
import shapely
from psycopg import sql
from psycopg_pool import ConnectionPool
from pygeofilter import ast, values

from layers.catalog import Catalog, load_catalog
from layers.query import InvalidFilter, Selection, check_equals
from layers.store import (
    EmbeddedStore,
    InMemoryAnswers,
    LayerData,
    LayerInfo,
    LayerLoadError,
    LayerStore,
    UnknownLayer,
    build_layer,
    on_every_core,
    share_equal_geometries,
)
from layers.values import plain
from layers.versions import LayerRegistry

log = logging.getLogger(__name__)
SCHEMA = "zoning"
SUBDIVIDE = 256


def _sub(layer_id: str) -> str:
    return f"{layer_id}__sub"


# --- loading ----------------------------------------------------------------------------------

def write_tables(con, schema: str, relation: str, ids, frame: pd.DataFrame, geoms: np.ndarray) -> None:
    """A layer's feature table ``relation`` and its ``ST_Subdivide``d twin under a GiST index."""
    table = sql.Identifier(schema, relation)
    sub = sql.Identifier(schema, _sub(relation))
    con.execute(sql.SQL("CREATE TABLE {} (fid int PRIMARY KEY, feature_id text NOT NULL, attrs jsonb NOT NULL, "
                        "geom geometry(Geometry, 4490))").format(table))
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    wkb = shapely.to_wkb(shapely.set_srid(np.asarray(geoms, dtype=object), 4490), hex=True, include_srid=True)
    with con.cursor().copy(sql.SQL("COPY {} (fid, feature_id, attrs, geom) FROM STDIN").format(table)) as cp:
        for i in range(len(records)):
            cp.write_row((i, str(ids[i]), orjson.dumps(records[i], default=plain).decode(), wkb[i]))
    con.execute(sql.SQL("CREATE TABLE {} AS SELECT fid, ST_Subdivide(geom, {}) AS geom FROM {}").format(
        sub, sql.Literal(SUBDIVIDE), table))
    con.execute(sql.SQL("CREATE INDEX ON {} USING gist (geom)").format(sub))
    con.execute(sql.SQL("CREATE INDEX ON {} (feature_id)").format(table))
    con.execute(sql.SQL("ANALYZE {}").format(sub))


def load(catalog_path: str | Path, url: str, data_dir: str | Path | None = None, schema: str = SCHEMA,
         registry=None) -> dict:
    """Load every vector layer of the catalog into PostGIS — for a layer with published
    versions (``registry``), the version in force — and return {layer id: feature count}."""
    import psycopg

    store = EmbeddedStore.open(catalog_path, data_dir, registry=registry)
    staging = f"{schema}_load"
    counts = {}
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(staging)))
        con.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(staging)))
        con.execute(sql.SQL(
            "CREATE TABLE {}.layers (id text PRIMARY KEY, ord int, version text, count int, bbox float8[], "
            "geometry_type text, fields jsonb, warnings jsonb, coverage geometry(Geometry, 4490), loaded_at timestamptz, "
            "relation text)"
        ).format(sql.Identifier(staging)))
        for ord_, info in enumerate(store.layers()):
            lid = info.id
            idx = np.arange(info.count)
            write_tables(con, staging, lid, store.feature_ids(lid, idx), store.attributes(lid, idx),
                         store.geometries(lid, idx))
            cov = store.coverage(lid)
            con.execute(
                sql.SQL("INSERT INTO {}.layers VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
                        "ST_GeomFromWKB(%s, 4490), now(), %s)").format(sql.Identifier(staging)),
                (lid, ord_, info.version, info.count, list(info.bbox) if info.bbox else None, info.geometry_type,
                 orjson.dumps(list(info.fields)).decode(), orjson.dumps(list(info.warnings)).decode(),
                 shapely.to_wkb(cov) if cov is not None else None, lid))
            counts[lid] = info.count
        with con.transaction():  # the swap: old or new, never a mix
            con.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
            con.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(staging), sql.Identifier(schema)))
    return counts


# --- the store ----------------------------------------------------------------------------------

class PostGISStore(LayerStore):
    native_mvt = True  # tiles by ST_AsMVT (render_mvt)
    _prepared = threading.Lock()  # cached feature geometries and coverage are shared prepared geometries

    def __init__(self, catalog: Catalog, data_dir: Path, url: str, schema: str = SCHEMA, pool_size: int = 8,
                 registry: LayerRegistry | None = None):
        super().__init__(catalog, data_dir, registry)
        self.schema, self._url, self._pool_size = schema, url, pool_size
        self._relations: dict[str, str] = {}  # layer id -> the table holding the version in force
        self.pool = ConnectionPool(url, min_size=1, max_size=pool_size, kwargs={"autocommit": True}, open=True)
        self._infos: dict[str, LayerInfo] = {}
        self._coverage: dict[str, shapely.Geometry | None] = {}
        self._geom_cache: dict[str, dict[int, shapely.Geometry]] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(cls, catalog_path: str | Path, url: str, data_dir: str | Path | None = None,
             schema: str = SCHEMA, registry: LayerRegistry | None = None) -> PostGISStore:
        catalog, resolved = load_catalog(catalog_path, data_dir)
        store = cls(catalog, resolved, url, schema, registry=registry)
        store.load()
        return store

    def load(self) -> None:
        entries = {e.id: e for e in self.catalog.layers}
        with self.pool.connection() as con:
            try:
                rows = con.execute(sql.SQL(
                    "SELECT id, version, count, bbox, geometry_type, fields, warnings, ST_AsBinary(coverage), "
                    "coalesce(to_jsonb(l)->>'relation', id) FROM {}.layers l ORDER BY ord").format(
                    sql.Identifier(self.schema))).fetchall()
            except Exception as exc:
                raise LayerLoadError(f"no layers in PostGIS schema {self.schema!r}: run `zoning load-postgis` "
                                     f"({str(exc).splitlines()[0]})") from None
        for lid, version, count, bbox, gtype, fields, warnings, cov, relation in rows:
            if lid not in entries:
                raise LayerLoadError(f"PostGIS holds layer {lid!r}, which the catalog does not list; reload")
            self._infos[lid] = LayerInfo(entry=entries[lid], version=version, count=count,
                                         bbox=tuple(bbox) if bbox else None, geometry_type=gtype,
                                         fields=tuple(fields), warnings=tuple(warnings))
            self._relations[lid] = relation
            self._coverage[lid] = shapely.from_wkb(bytes(cov)) if cov is not None else None
            if self._coverage[lid] is not None:
                shapely.prepare(self._coverage[lid])
        missing = [e.id for e in self.catalog.layers if e.kind != "raster" and e.id not in self._infos]
        if missing:
            raise LayerLoadError(f"PostGIS lacks catalog layers {missing}: run `zoning load-postgis`")
        self._open_rasters()
        self.loaded_at = dt.datetime.now(dt.UTC)

    def close(self) -> None:
        self.pool.close()

    def before_fork(self) -> None:
        super().before_fork()
        self.pool.close()

    def after_fork(self, registry: LayerRegistry | None) -> None:
        super().after_fork(registry)
        self.pool = ConnectionPool(self._url, min_size=1, max_size=self._pool_size, kwargs={"autocommit": True},
                                   open=True)

    def _table(self, layer_id: str, sub: bool = False) -> sql.Identifier:
        relation = self._relations[layer_id]
        return sql.Identifier(self.schema, _sub(relation) if sub else relation)

    # -- catalogue
    def layers(self) -> list[LayerInfo]:
        return list(self._infos.values())

    def info(self, layer_id: str) -> LayerInfo:
        try:
            return self._infos[layer_id]
        except KeyError:
            raise UnknownLayer(layer_id) from None

    def coverage(self, layer_id):
        self.info(layer_id)
        return self._coverage[layer_id]

    # -- versions (layers.versions: publish, rollback, sync, as_of)
    def _relation_for(self, layer_id: str, version: str) -> str:
        """The table of one published version: ``<layer>__v<content hash>`` (fits 63 bytes)."""
        return f"{layer_id[:40]}__v{version.rsplit('-', 1)[-1][:10]}"

    def relation_of(self, layer_id: str, version: str | None = None) -> str:
        return self._relations[layer_id] if version is None else self._relation_for(layer_id, version)

    def layer_data(self, layer_id: str) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
        return self._read_relation(self._relations[layer_id], self.info(layer_id).fields)

    def _read_relation(self, relation: str, fields) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
        """(feature ids, attributes, geometries) of one version's table, in row order."""
        with self.pool.connection() as con:
            rows = con.execute(sql.SQL("SELECT feature_id, attrs, ST_AsBinary(geom) FROM {} ORDER BY fid").format(
                sql.Identifier(self.schema, relation))).fetchall()
        frame = pd.DataFrame([r[1] for r in rows], columns=list(fields))
        return (np.array([r[0] for r in rows], dtype=object), frame,
                np.asarray(shapely.from_wkb([bytes(r[2]) if r[2] is not None else None for r in rows]), dtype=object))

    def _ensure_tables(self, con, layer_id: str, layer: LayerData) -> str:
        """The version's tables, written once (under a lock: instances may race to it)."""
        relation = self._relation_for(layer_id, layer.info.version)
        con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"zoning-table-{self.schema}.{relation}",))
        if con.execute("SELECT to_regclass(%s)", (f"{self.schema}.{relation}",)).fetchone()[0] is None:
            write_tables(con, self.schema, relation, layer.ids, layer.frame, layer.geoms)
        return relation

    def replace_layer(self, layer_id: str, layer: LayerData) -> None:
        """Put a version in force for every instance: its tables (written if new) and the
        ``layers`` row in one transaction; earlier versions' tables stay for requests in flight
        and ``as_of``."""
        info = layer.info
        with self.pool.connection() as con, con.transaction():
            relation = self._ensure_tables(con, layer_id, layer)
            con.execute(sql.SQL("ALTER TABLE {}.layers ADD COLUMN IF NOT EXISTS relation text").format(
                sql.Identifier(self.schema)))
            con.execute(sql.SQL(
                "UPDATE {}.layers SET version = %s, count = %s, bbox = %s, geometry_type = %s, fields = %s, "
                "warnings = %s, relation = %s, loaded_at = now() WHERE id = %s").format(sql.Identifier(self.schema)),
                (info.version, info.count, list(info.bbox) if info.bbox else None, info.geometry_type,
                 orjson.dumps(list(info.fields)).decode(), orjson.dumps(list(info.warnings)).decode(), relation,
                 layer_id))
        self._put(layer_id, info, relation)

    def _put(self, layer_id: str, info: LayerInfo, relation: str) -> None:
        with self._swap:  # new dicts: a snapshot keeps the ones it took
            infos, relations = dict(self._infos), dict(self._relations)
            infos[layer_id], relations[layer_id] = info, relation
            self._infos, self._relations = infos, relations

    def refresh_layer(self, layer_id: str) -> str:
        """Read the layer's row again (another instance switched it); returns its version."""
        with self.pool.connection() as con:
            row = con.execute(sql.SQL(
                "SELECT version, count, bbox, geometry_type, fields, warnings, coalesce(to_jsonb(l)->>'relation', id) "
                "FROM {}.layers l WHERE id = %s").format(sql.Identifier(self.schema)), (layer_id,)).fetchone()
        version, count, bbox, gtype, fields, warnings, relation = row
        if version != self.info(layer_id).version:
            info = LayerInfo(entry=self.entry(layer_id), version=version, count=count,
                             bbox=tuple(bbox) if bbox else None, geometry_type=gtype, fields=tuple(fields),
                             warnings=tuple(warnings))
            self._put(layer_id, info, relation)
        return version

    def _past_version(self, layer_id: str, version: str) -> tuple[LayerInfo, str]:
        """A version's info and tables: those still in the database, else rebuilt from its file."""
        known = self._stored_version(layer_id, version)
        if known is None:
            layer = self.load_version(layer_id, version)
            with self.pool.connection() as con, con.transaction():
                known = (layer.info, self._ensure_tables(con, layer_id, layer))
        return known

    def _stored_version(self, layer_id: str, version: str) -> tuple[LayerInfo, str] | None:
        """A version whose tables are still in the database, described by its history record."""
        rec = self.registry.version(layer_id, version)
        meta = rec.get("meta") or {}
        relation = meta.get("relation")
        if not relation:
            return None
        with self.pool.connection() as con:
            if con.execute("SELECT to_regclass(%s)", (f"{self.schema}.{relation}",)).fetchone()[0] is None:
                return None
        entry = self.entry(layer_id).model_copy(update={"vintage": dt.date.fromisoformat(rec["vintage"])})
        info = LayerInfo(entry=entry, version=version, count=meta["count"],
                         bbox=tuple(meta["bbox"]) if meta.get("bbox") else None,
                         geometry_type=meta["geometry_type"], fields=tuple(meta["fields"]))
        return info, relation

    def snapshot(self) -> PostGISStore:
        return copy.copy(self)  # shares the dicts in force now; _put replaces, never mutates them

    def _pin(self, layer_id: str, held: tuple[LayerInfo, str]) -> None:
        self._infos = {**self._infos, layer_id: held[0]}
        self._relations = {**self._relations, layer_id: held[1]}

    # -- spatial search
    def query(self, layer_id, geometries, predicate="intersects", distance=None):
        self.info(layer_id)
        geoms = np.asarray(geometries, dtype=object)
        if predicate == "intersects":
            cond = sql.SQL("ST_Intersects(s.geom, q.g)")
            params: tuple = ()
        elif predicate == "dwithin":
            cond = sql.SQL("ST_DWithin(s.geom, q.g, %s)")
            params = (float(distance),)
        elif predicate == "envelope":
            cond, params = sql.SQL("s.geom && q.g"), ()
        else:
            raise ValueError(f"predicate {predicate!r} is not supported by the PostGIS store")
        stmt = sql.SQL(
            "SELECT DISTINCT q.i - 1, s.fid FROM (SELECT ST_GeomFromWKB(w, 4490) AS g, i "
            "FROM unnest(%s::bytea[]) WITH ORDINALITY AS u(w, i)) q JOIN {} s ON " ).format(
            self._table(layer_id, sub=True)) + cond + sql.SQL(" ORDER BY 1, 2")
        wkb = [shapely.to_wkb(g) for g in geoms]
        with self.pool.connection() as con:
            rows = con.execute(stmt, (wkb, *params)).fetchall()
        if not rows:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        a = np.asarray(rows, dtype=np.intp)
        return a[:, 0], a[:, 1]

    # -- features by row
    def geometries(self, layer_id, idx):
        self.info(layer_id)
        idx = np.asarray(idx, dtype=np.intp)
        cache = self._geom_cache.setdefault(self._relations[layer_id], {})
        missing = sorted({int(i) for i in idx} - cache.keys())
        if missing:
            with self.pool.connection() as con:
                rows = con.execute(sql.SQL("SELECT fid, ST_AsBinary(geom) FROM {} WHERE fid = ANY(%s)").format(
                    self._table(layer_id)), (missing,)).fetchall()
            fetched = {fid: shapely.from_wkb(bytes(w)) for fid, w in rows}
            shapely.prepare(list(fetched.values()))
            with self._lock:
                cache.update(fetched)
        return np.array([cache[int(i)] for i in idx], dtype=object)

    def _rows(self, layer_id, idx, column: str) -> list:
        idx = [int(i) for i in np.asarray(idx, dtype=np.intp)]
        with self.pool.connection() as con:
            rows = dict(con.execute(sql.SQL("SELECT fid, {} FROM {} WHERE fid = ANY(%s)").format(
                sql.Identifier(column), self._table(layer_id)), (idx,)).fetchall())
        return [rows[i] for i in idx]

    def attributes(self, layer_id, idx):
        info = self.info(layer_id)
        frame = pd.DataFrame(self._rows(layer_id, idx, "attrs"), columns=list(info.fields))
        frame.index = np.asarray(idx, dtype=np.intp)
        return frame

    def feature_ids(self, layer_id, idx):
        self.info(layer_id)
        return np.array(self._rows(layer_id, idx, "feature_id"), dtype=object)

    def index_of(self, layer_id, feature_id):
        self.info(layer_id)
        with self.pool.connection() as con:
            row = con.execute(sql.SQL("SELECT fid FROM {} WHERE feature_id = %s").format(
                self._table(layer_id)), (str(feature_id),)).fetchone()
        return row[0] if row else None

    # -- vector tiles, by PostGIS itself
    def render_mvt(self, layer_ids: list[str], z: int, x: int, y: int, extent: int = 4096,
                   buffer: int = 64, max_features: int = 10_000, max_text: int = 48) -> tuple[bytes, int]:
        """One MVT tile with a layer per id, made by ``ST_AsMVT``: features found through the
        subdivided index, simplified to a pixel, clipped with ``ST_AsMVTGeom``, long texts and
        nulls left out, the largest ``max_features`` kept. CGCS2000 is read as WGS84 for
        display, as the embedded tiles do. Returns the bytes and the feature count."""
        tol = 2 * 20037508.342789244 / 2**z / extent
        parts, total = [], 0
        with self.pool.connection() as con:
            for lid in layer_ids:
                self.info(lid)
                stmt = sql.SQL("""
WITH env AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS e,
                    ST_SetSRID(ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(m)s), 4326), 4490) AS q),
cand AS (SELECT DISTINCT s.fid FROM {sub} s, env WHERE s.geom && env.q),
g AS (SELECT f.feature_id, f.attrs,
             ST_AsMVTGeom(ST_Simplify(ST_Transform(ST_SetSRID(f.geom, 4326), 3857), %(tol)s, true),
                          env.e, %(extent)s, %(buffer)s, true) AS geom
      FROM {table} f JOIN cand USING (fid), env),
t AS (SELECT geom, feature_id AS fid,
             (SELECT coalesce(jsonb_object_agg(k, v), '{{}}'::jsonb) FROM jsonb_each(attrs) AS j(k, v)
              WHERE jsonb_typeof(v) <> 'null'
                AND (jsonb_typeof(v) <> 'string' OR length(v #>> '{{}}') <= %(maxtext)s)) AS props
      FROM g WHERE geom IS NOT NULL AND NOT ST_IsEmpty(geom)
      ORDER BY ST_Area(geom) + ST_Length(geom) DESC, feature_id LIMIT %(cap)s)
SELECT ST_AsMVT(t, %(name)s, %(extent)s, 'geom'), count(*) FROM t""").format(
                    sub=self._table(lid, sub=True), table=self._table(lid))
                data, n = con.execute(stmt, {"z": z, "x": x, "y": y, "m": buffer / extent, "tol": tol,
                                             "extent": extent, "buffer": buffer, "maxtext": max_text,
                                             "cap": max_features, "name": lid}).fetchone()
                if n:
                    parts.append(bytes(data))
                    total += n
        return b"".join(parts), total

    # -- OGC items
    def select(self, layer_id, *, bbox=None, equals=None, cql=None, limit=10, offset=0):
        info = self.info(layer_id)
        fields = set(info.fields)
        where, params = [sql.SQL("TRUE")], []
        if bbox is not None:
            where.append(sql.SQL("EXISTS (SELECT 1 FROM {} s WHERE s.fid = f.fid AND "
                                 "ST_Intersects(s.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4490)))").format(
                self._table(layer_id, sub=True)))
            params += [float(b) for b in bbox]
        check_equals(equals, fields)
        for name, value in (equals or {}).items():
            where.append(sql.SQL("f.attrs->>{} = %s").format(sql.Literal(name)))
            params.append(str(value))
        if cql is not None:
            clause, more = CqlToSql(fields).compile(cql)
            where.append(clause)
            params += more
        cond = sql.SQL(" AND ").join(where)
        table = self._table(layer_id)
        with self.pool.connection() as con:
            matched = con.execute(sql.SQL("SELECT count(*) FROM {} f WHERE ").format(table) + cond, params).fetchone()[0]
            rows = con.execute(sql.SQL("SELECT f.fid FROM {} f WHERE ").format(table) + cond
                               + sql.SQL(" ORDER BY f.fid LIMIT %s OFFSET %s"), [*params, limit, offset]).fetchall()
        return Selection(matched=matched, idx=np.array([r[0] for r in rows], dtype=np.intp))


class PostGISReplicaStore(InMemoryAnswers, PostGISStore):
    """A PostGIS instance that answers from an in-memory replica of the versions in force.

    PostGIS stays the one source of truth: versions are written there (``replace_layer``), and
    other instances' switches are read from there (``refresh_layer``, polled by the version
    sync); each version in force is read once into memory (:class:`~layers.store.LayerData`,
    the embedded store's structure) and every spatial and row question is answered from it, at
    the embedded store's speed, with no round trip. Tiles come from the service's own encoder
    (as in the embedded store) rather than ``ST_AsMVT``."""

    native_mvt = False
    render_mvt = LayerStore.render_mvt  # tiles from the replica, by the service's encoder

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._layers: dict[str, LayerData] = {}

    def load(self) -> None:
        super().load()
        infos = list(self._infos.values())
        replicas = on_every_core(lambda info: self._replica(info, self._relations[info.id]), infos)
        self._layers = {info.id: layer for info, layer in zip(infos, replicas)}
        share_equal_geometries(self._layers)

    def _replica(self, info: LayerInfo, relation: str) -> LayerData:
        ids, frame, geoms = self._read_relation(relation, info.fields)
        layer = build_layer(info.entry, frame, geoms, [], info.version)
        layer.coverage = self._coverage.get(info.id)
        return layer

    def replace_layer(self, layer_id: str, layer: LayerData) -> None:
        super().replace_layer(layer_id, layer)
        layer.coverage = self._coverage.get(layer_id)
        with self._swap:
            self._layers = {**self._layers, layer_id: layer}

    def refresh_layer(self, layer_id: str) -> str:
        before = self.info(layer_id).version
        version = super().refresh_layer(layer_id)
        if version != before:
            layer = self._replica(self.info(layer_id), self._relations[layer_id])
            with self._swap:
                self._layers = {**self._layers, layer_id: layer}
        return version

    def _past_version(self, layer_id: str, version: str) -> tuple[LayerInfo, str, LayerData]:
        info, relation = super()._past_version(layer_id, version)
        return info, relation, self._replica(info, relation)

    def _pin(self, layer_id: str, held) -> None:
        super()._pin(layer_id, held[:2])
        self._layers = {**self._layers, layer_id: held[2]}


class CqlToSql:
    """The CQL2 AST (already checked against the layer's fields) to a SQL condition with bound
    parameters; property names become ``attrs->>'name'`` with literals, never raw text."""

    COMPARE = {ast.Equal: "=", ast.NotEqual: "<>", ast.LessThan: "<", ast.LessEqual: "<=",
               ast.GreaterThan: ">", ast.GreaterEqual: ">="}

    def __init__(self, fields: set[str]):
        self.fields = fields
        self.params: list = []

    def compile(self, node) -> tuple[sql.Composable, list]:
        return self._node(node), self.params

    def _attr(self, node, like_value=None) -> sql.Composable:
        if not isinstance(node, ast.Attribute) or node.name not in self.fields:
            raise InvalidFilter(f"unsupported operand {node!r}")
        text = sql.SQL("(f.attrs->>{})").format(sql.Literal(node.name))
        if isinstance(like_value, bool):
            return sql.SQL("({})::boolean").format(text)
        if isinstance(like_value, int | float):
            return sql.SQL("({})::double precision").format(text)
        return text

    def _val(self, v) -> sql.Composable:
        self.params.append(v)
        return sql.SQL("%s")

    def _node(self, n) -> sql.Composable:
        if isinstance(n, ast.And | ast.Or):
            op = sql.SQL(" AND " if isinstance(n, ast.And) else " OR ")
            return sql.SQL("({})").format(op.join([self._node(n.lhs), self._node(n.rhs)]))
        if isinstance(n, ast.Not):
            return sql.SQL("(NOT {})").format(self._node(n.sub_node))
        for cls, op in self.COMPARE.items():
            if type(n) is cls:
                return sql.SQL("({} {} {})").format(self._attr(n.lhs, n.rhs), sql.SQL(op), self._val(n.rhs))
        if isinstance(n, ast.In):
            vals = list(n.sub_nodes)
            expr = sql.SQL("({} = ANY({}))").format(self._attr(n.lhs, vals[0] if vals else None), self._val(vals))
            return sql.SQL("(NOT {})").format(expr) if n.not_ else expr
        if isinstance(n, ast.Between):
            expr = sql.SQL("({} BETWEEN {} AND {})").format(self._attr(n.lhs, n.low), self._val(n.low), self._val(n.high))
            return sql.SQL("(NOT {})").format(expr) if n.not_ else expr
        if isinstance(n, ast.Like):
            pattern = n.pattern.replace(n.singlechar, "_") if n.singlechar != "_" else n.pattern
            op = sql.SQL("ILIKE" if n.nocase else "LIKE")
            expr = sql.SQL("({} {} {})").format(self._attr(n.lhs), op, self._val(pattern))
            return sql.SQL("(NOT {})").format(expr) if n.not_ else expr
        if isinstance(n, ast.IsNull):
            expr = sql.SQL("({} IS NULL)").format(self._attr(n.lhs))
            return sql.SQL("(NOT {})").format(expr) if n.not_ else expr
        if isinstance(n, ast.GeometryIntersects):
            import json

            if not isinstance(n.rhs, values.Geometry):
                raise InvalidFilter("S_INTERSECTS needs a geometry literal")
            return sql.SQL("(ST_Intersects(f.geom, ST_SetSRID(ST_GeomFromGeoJSON({}), 4490)))").format(
                self._val(json.dumps(n.rhs.geometry)))
        raise InvalidFilter(f"filter operator {type(n).__name__} is not supported")
