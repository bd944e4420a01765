"""The ``zoning`` command: a thin door beside the HTTP API, calling the same functions.

    zoning serve [--host H] [--port P]
    zoning build-sample [--force]
    zoning assess SITE_FILE --industry C3120 [--action new] [--crs EPSG:4526] [--edition 2023]
                  [--report out.pdf] [--lang en]
    zoning siting --aoi 640000|AOI_FILE --tech pv|wind --out candidates.gpkg
    zoning batch SITES --industry CODE --out results.gpkg [--resume JOB_ID]
    zoning load-postgis [--url postgresql://…]
    zoning layers publish LAYER FILE [--crs …] [--vintage DATE] [--note …] [--dry-run]
    zoning layers history LAYER | zoning layers rollback LAYER VERSION
    zoning rules publish FILE.yaml [--dry-run] | zoning rules history | zoning rules rollback FILE SHA256
    zoning rules doc [--out docs/rules.md]
    zoning lists suggest 清单.xlsx --out items.csv [--report unstructured.json]
    zoning keys create NAME --role reader|editor|admin | zoning keys list | zoning keys revoke NAME
    zoning audit [--verify] [--after N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from zoning.vocabulary import ACTIONS, EDITIONS


def _serve(args) -> int:
    from app.serve import serve
    from app.settings import get_settings

    host = args.host or os.environ.get("HOST", "127.0.0.1")
    port = int(args.port or os.environ.get("PORT", "8000"))
    print(f"zoning service: http://{host}:{port}/  (API docs: http://{host}:{port}/docs)", flush=True)
    # layers loaded and made ready once, then one worker per core, or one process (app/serve.py)
    return serve(get_settings(), host, port)


def _build_sample(args) -> int:
    from layers.sample.build import main as build_main

    return build_main(["--force"] if args.force else [])


def _project_arguments(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--industry", required=required,
                   help="GB/T 4754-2017 code at any level, e.g. C3120 or C31")
    p.add_argument("--action", default="new", choices=ACTIONS)
    p.add_argument("--product", help="from the industry's vocabulary, e.g. eaf_steel (GET /v1/industries)")
    p.add_argument("--name", help="project name")
    p.add_argument("--captive", action="store_true", help="自备: a captive plant")
    p.add_argument("--capacity-replacement", action="store_true", help="产能置换: built by capacity replacement")
    p.add_argument("--major-project", action="store_true", help="国家重大项目: claim a state major project")
    p.add_argument("--capacity", help="规模, a number and a unit: '35 蒸吨/h', '120 万t/a', '100 MW'")
    p.add_argument("--process", help="工艺, as the owner describes it (shown in the answer)")


def _project(args):
    from zoning.judge import Project
    from zoning.scale import capacity_of

    return Project(args.industry, args.action, args.product, args.name, args.captive,
                   args.capacity_replacement, args.major_project, capacity_of(args.capacity), args.process)


def _assess(args) -> int:
    """Any site file in any accepted format and CRS, judged parcel by parcel and as a whole
    (the same as POST /v1/assess/upload); JSON on stdout, optionally a report file."""
    from app.service import assemble
    from app.settings import get_settings
    from app.state.records import AssessmentStore
    from layers.errors import ServiceError
    from layers.ingest import read_upload
    from zoning.report import render_html, render_pdf
    from zoning.uploads import assess_upload

    path = Path(args.site)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"cannot read {args.site}: {exc}", file=sys.stderr)
        return 2
    settings = get_settings()
    try:
        upload = read_upload(data, path.name, crs=args.crs, limits=settings.upload_limits())
        services = assemble(settings)
        record = assess_upload(services.judging, upload, _project(args),
                               edition=args.edition or settings.key_region_edition,
                               limits=settings.site_limits())
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    records: AssessmentStore = services.records
    rid = records.add("upload", record, input_sha256=upload.sha256, filename=upload.filename)
    record = records.get(rid)
    if args.report:
        html = render_html(record, services.store, args.lang)
        out = Path(args.report)
        out.write_bytes(render_pdf(html) if out.suffix.lower() == ".pdf" else html.encode("utf-8"))
        print(f"report written to {out}", file=sys.stderr)
    json.dump(record, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


def _siting(args) -> int:
    """The same as POST /v1/siting; writes the ranked candidates to --out (.geojson, .gpkg or
    .csv) and prints the summary and rejections as JSON."""
    from app.routers.siting import COLUMNS, candidate_feature
    from app.service import assemble
    from app.settings import get_settings
    from layers.errors import ServiceError
    from layers.export import export_features
    from layers.ingest import read_upload
    from zoning.errors import ZoningError
    from zoning.siting import LAND_KINDS, SitingQuery, siting

    settings = get_settings()
    services = assemble(settings)
    try:
        if args.aoi.isdigit() and len(args.aoi) == 6:
            aoi = None
            for layer in ("admin_province", "admin_city", "admin_county"):
                idx = services.store.index_of(layer, args.aoi)
                if idx is not None:
                    aoi = services.store.geometries(layer, [idx])[0]
                    break
            if aoi is None:
                raise ZoningError(f"adcode {args.aoi} is not in the admin layers")
        else:
            upload = read_upload(Path(args.aoi).read_bytes(), Path(args.aoi).name, crs=args.crs,
                                 limits=settings.upload_limits())
            aoi = upload.union
        kinds = tuple(args.land_kinds.split(",")) if args.land_kinds else LAND_KINDS
        result = siting(services.judging,
                        SitingQuery(aoi=aoi, tech=args.tech, land_kinds=kinds, min_area_ha=args.min_area_ha,
                                    max_slope_deg=args.max_slope, min_resource=args.min_resource,
                                    max_grid_km=args.max_grid_km))
    except (OSError, ServiceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cands = result["candidates"]
    out = Path(args.out)
    fmt = {".csv": "csv", ".gpkg": "gpkg"}.get(out.suffix.lower(), "geojson")
    out.write_bytes(export_features([candidate_feature(c) for c in cands], fmt, COLUMNS, "candidates")[0])
    print(f"{len(cands)} candidates written to {out}", file=sys.stderr)
    json.dump({"summary": result["summary"], "supply_curve": result["supply_curve"],
               "rejected": [{k: v for k, v in r.items() if k != "geometry"} for r in result["rejected"]],
               "parameters": result["parameters"]}, sys.stdout, ensure_ascii=False, indent=2, default=str)
    print()
    return 0


def _batch(args) -> int:
    """A batch job without HTTP: every site of the file judged for one project, results to
    --out (.gpkg, .geojson or .csv), progress on stderr. Resumable: the job lives in
    ZONING_STATE_DIR/jobs.sqlite and `--resume JOB_ID` picks it up."""

    import shapely

    from app.jobs import JobRunner
    from app.service import assemble
    from app.settings import get_settings
    from app.state.jobs import export_results
    from layers.errors import ServiceError
    from layers.ingest import read_upload
    from zoning.judge import check_project
    from zoning.uploads import upload_summary

    settings = get_settings()
    services = assemble(settings)
    jobs = services.jobs
    try:
        if args.resume:
            jid = args.resume
            jobs.get(jid)
        else:
            project = _project(args)
            check_project(services.industries, project)
            limits = settings.batch_limits()
            upload = read_upload(Path(args.sites).read_bytes(), Path(args.sites).name, crs=args.crs, limits=limits)
            params = {**dataclasses.asdict(project), "edition": args.edition or settings.key_region_edition}
            jid = jobs.create([(shapely.to_wkb(p.geometry), p.properties) for p in upload.parcels], params,
                              upload_summary(upload), args.chunk_size)
    except (OSError, ServiceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    address = args.dask or settings.dask_scheduler
    client = None
    if address:
        from app.distributed import connect

        client = connect(address, settings)
    runner = JobRunner(services, jobs, dask_client=client)
    print(f"job {jid}" + (f" on Dask {address}" if address else ""), file=sys.stderr)
    while True:
        job = jobs.get(jid)
        width = 40
        filled = int(width * job["done"] / max(job["total"], 1))
        rate = job["done"] / job["seconds"] if job["seconds"] else 0
        print(f"\r[{'#' * filled}{'.' * (width - filled)}] {job['done']}/{job['total']} sites "
              f"{rate:,.0f}/s", end="", file=sys.stderr, flush=True)
        if job["state"] in ("done", "failed", "cancelled"):
            break
        runner.run(jid, max_chunks=1 if client is None else 8)
    print(file=sys.stderr)
    if job["state"] != "done":
        print(f"error: job {jid} {job['state']}: {job['error']}", file=sys.stderr)
        return 1
    out = Path(args.out)
    fmt = {".gpkg": "gpkg", ".geojson": "geojson", ".json": "geojson", ".csv": "csv"}.get(out.suffix.lower(), "gpkg")
    out.write_bytes(export_results(jobs.results(jid), fmt)[0])
    print(f"{job['total']} results written to {out}", file=sys.stderr)
    return 0


def _load_postgis(args) -> int:
    from app.service import open_layer_registry
    from app.settings import get_settings
    from layers.errors import ServiceError
    from layers.postgis import load

    settings = get_settings()
    url = args.url or settings.database_url
    if not url:
        print("error: give --url or set ZONING_DATABASE_URL", file=sys.stderr)
        return 2
    import psycopg

    try:
        registry = open_layer_registry(settings, settings.state_database_url or url)
        counts = load(settings.catalog, url, settings.data_dir, registry=registry)  # versions in force
    except (ServiceError, OSError, psycopg.Error) as exc:
        print(f"error: {str(exc).strip()}", file=sys.stderr)
        return 2
    print(json.dumps(counts, ensure_ascii=False))
    return 0


def _actor(args) -> str:
    import getpass

    return args.actor or f"cli:{getpass.getuser()}"


def _audit(settings, actor: str, action: str, target, sha, result) -> None:
    from app.service import open_state

    open_state(settings).audit.append(actor, "admin", action, target, sha, result)


def _layers(args) -> int:
    """Layer versions from the command line: the same functions as the HTTP API, on the state
    folder (or database) of the service, which picks the change up by itself."""
    import datetime as dt
    import time

    from app.service import open_live
    from app.settings import get_settings
    from layers.errors import ServiceError
    from layers.versions import PublishError

    settings = get_settings()
    try:
        live = open_live(settings)
        store = live.store
        if args.action == "history":
            store.info(args.layer)
            registry = store.registry
            print(json.dumps({"layer_id": args.layer, "version_in_force": store.info(args.layer).version,
                              "history": registry.history(args.layer) if registry else []},
                             ensure_ascii=False, indent=2))
            return 0
        if args.action == "rollback":
            out = live.rollback_layer(args.layer, args.version, actor=_actor(args), note=args.note)
            _audit(settings, _actor(args), "layer.rollback", args.layer, None,
                   {"version": args.version, "previous": out["previous"]})
            print(json.dumps(out, ensure_ascii=False, indent=2))
            return 0

        def pause(step: str) -> None:  # fault injection for the crash tests: stop here until killed
            if step == args.pause_at:
                print(f"PAUSED {step}", file=sys.stderr, flush=True)
                while True:
                    time.sleep(3600)

        path = Path(args.file)
        data = path.read_bytes()
        out = live.publish_layer(args.layer, data, path.name, actor=_actor(args), limits=settings.layer_limits(),
                                 crs=args.crs, vintage=dt.date.fromisoformat(args.vintage) if args.vintage else None,
                                 note=args.note, dry_run=args.dry_run, pause=pause if args.pause_at else None)
        if not args.dry_run:
            _audit(settings, _actor(args), "layer.publish", args.layer, out["source_sha256"],
                   {"version": out["version"], "previous": out["previous"]})
        print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
        return 0
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.report:
            print(json.dumps(exc.report, ensure_ascii=False, indent=2), file=sys.stderr)
        return 2
    except (OSError, ServiceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _lists(args) -> int:
    """Structure a prose access list into the canonical table, every row marked suggested."""
    import pyogrio

    from app.settings import get_settings
    from layers.errors import ServiceError
    from layers.ingest.read import parse_file
    from zoning.list_suggest import suggest

    path, out = Path(args.file), Path(args.out)
    if out.suffix.lower() not in (".csv", ".xlsx"):
        print(f"error: --out must end in .csv or .xlsx; got {out.name}", file=sys.stderr)
        return 2
    try:
        _, table = parse_file(path.read_bytes(), path.name, get_settings().layer_limits(), formats=("csv", "xlsx"),
                              table=True)
        found = suggest(table["columns"], table["rows"], source=args.source or path.name)
    except (OSError, ServiceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not len(found.items):
        print("error: the table holds no list text", file=sys.stderr)
        return 2
    out.unlink(missing_ok=True)
    pyogrio.write_dataframe(found.items, out, driver="CSV" if out.suffix.lower() == ".csv" else "XLSX")
    report = found.report()
    if args.report:
        Path(args.report).write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"{report['items']:,} items from {report['rows']:,} rows: {report['structured']:,} structured "
          f"({report['share_structured']:.1%}), {len(report['unstructured']):,} left as uncoded requirements; "
          f"every row is marked suggested — review (status reviewed) and publish with "
          f"`zoning layers publish <list layer> {out.name}`")
    for u in report["unstructured"][: 0 if args.report else 10]:
        print(f"  row {u['row']} {u['item_id']}: {u['why']}: {u['text'][:60]}")
    return 0


def _rules(args) -> int:
    from app.service import open_rules
    from app.settings import get_settings
    from layers.errors import ServiceError

    if args.action == "doc":
        from zoning.industries import load_industries
        from zoning.rules import load_rules
        from zoning.rules_doc import render

        text = render(load_rules(), load_industries())
        if args.out:
            Path(args.out).write_text(text, encoding="utf-8")
        else:
            print(text, end="")
        return 0
    settings = get_settings()
    registry = open_rules(settings)
    try:
        if args.action == "history":
            out = {"rules_version": registry.ruleset().version, "history": registry.history()}
        elif args.action == "rollback":
            out = registry.rollback(args.file, args.sha256, _actor(args), args.note)
            _audit(settings, _actor(args), "rules.rollback", args.file, args.sha256, out)
        else:
            path = Path(args.file)
            out = registry.publish(path.name, path.read_bytes(), _actor(args), args.note, dry_run=args.dry_run)
            if not args.dry_run:
                _audit(settings, _actor(args), "rules.publish", path.name, out["sha256"], out)
    except (OSError, ServiceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def _keys(args) -> int:
    from app.service import open_state
    from app.settings import get_settings
    from layers.errors import ServiceError

    state = open_state(get_settings())
    keys, log = state.keys, state.audit
    actor = _actor(args)
    try:
        if args.action == "create":
            key = keys.create(args.name, args.role, actor)
            log.append(actor, "admin", "key.create", args.name, None, {"role": args.role})
            print(key)
            print(f"key {args.name!r} ({args.role}) made; it is shown this once", file=sys.stderr)
        elif args.action == "revoke":
            keys.revoke(args.name)
            log.append(actor, "admin", "key.revoke", args.name, None, {})
        else:
            print(json.dumps(keys.list(), ensure_ascii=False, indent=2))
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _audit_cmd(args) -> int:
    from app.service import open_state
    from app.settings import get_settings

    log = open_state(get_settings()).audit
    intact, broken = log.verify()
    if args.verify:
        print("audit chain intact" if intact else f"audit chain BROKEN at entry {broken}")
        return 0 if intact else 1
    print(json.dumps({"intact": intact, "broken_at": broken, "entries": log.entries(args.limit, args.after)},
                     ensure_ascii=False, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="zoning", description="Zoning and siting service")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve the HTTP API")
    s.add_argument("--host")
    s.add_argument("--port")
    s.set_defaults(func=_serve)
    b = sub.add_parser("build-sample", help="build the embedded sample data")
    b.add_argument("--force", action="store_true")
    b.set_defaults(func=_build_sample)
    a = sub.add_parser("assess", help="judge a project on a site file (any accepted format and CRS)")
    a.add_argument("site", help="GeoJSON, zipped Shapefile, KML/KMZ, GeoPackage, CSV/XLSX, 用地报批 TXT or DXF")
    _project_arguments(a, required=True)
    a.add_argument("--crs", help="when the file does not say: EPSG:4490, 4513-4554, 4491-4512, 3857, GCJ-02, BD-09")
    a.add_argument("--edition", choices=EDITIONS)
    a.add_argument("--report", help="write the report here (.pdf, or .html)")
    a.add_argument("--lang", default="zh", choices=["zh", "en"], help="report language")
    a.set_defaults(func=_assess)
    g = sub.add_parser("siting", help="rank candidate land for PV or wind in an area")
    g.add_argument("--aoi", required=True, help="an adcode (e.g. 640000) or a site file in any accepted format")
    g.add_argument("--crs", help="CRS of the AOI file when it does not say")
    g.add_argument("--tech", required=True, choices=["pv", "wind"])
    g.add_argument("--land-kinds", help="comma list; default all five")
    g.add_argument("--min-area-ha", type=float)
    g.add_argument("--max-slope", type=float)
    g.add_argument("--min-resource", type=float)
    g.add_argument("--max-grid-km", type=float, default=30.0)
    g.add_argument("--out", required=True, help="candidates as .geojson, .gpkg or .csv")
    g.set_defaults(func=_siting)
    bt = sub.add_parser("batch", help="judge every site of a file for one project (a resumable job)")
    bt.add_argument("sites", nargs="?", help="site file, any accepted format")
    _project_arguments(bt, required=False)
    bt.add_argument("--crs")
    bt.add_argument("--edition", choices=EDITIONS)
    bt.add_argument("--chunk-size", type=int, default=1000)
    bt.add_argument("--resume", metavar="JOB_ID", help="continue an unfinished job")
    bt.add_argument("--dask", metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://scheduler:8786 "
                                                     "(default: ZONING_DASK_SCHEDULER)")
    bt.add_argument("--out", required=True, help="results: .gpkg, .geojson or .csv")
    bt.set_defaults(func=_batch)
    lp = sub.add_parser("load-postgis", help="load the catalog's layers into PostGIS (atomic swap)")
    lp.add_argument("--url", help="postgresql://… (default: ZONING_DATABASE_URL)")
    lp.set_defaults(func=_load_postgis)
    ly = sub.add_parser("layers", help="publish, list and roll back layer versions")
    lys = ly.add_subparsers(dest="action", required=True)
    pub = lys.add_parser("publish", help="validate a file as the next version of a layer and put it in force")
    pub.add_argument("layer")
    pub.add_argument("file", help="GeoPackage, zipped Shapefile, GeoJSON or KML/KMZ, source field names")
    pub.add_argument("--crs")
    pub.add_argument("--vintage", help="the data's date, YYYY-MM-DD (default today)")
    pub.add_argument("--note")
    pub.add_argument("--dry-run", action="store_true", help="validate and report only")
    pub.add_argument("--pause-at", help=argparse.SUPPRESS)  # crash tests: staging|staged|moved|committed
    hist = lys.add_parser("history")
    hist.add_argument("layer")
    rb = lys.add_parser("rollback")
    rb.add_argument("layer")
    rb.add_argument("version")
    rb.add_argument("--note")
    for p in (pub, hist, rb):
        p.add_argument("--as", dest="actor", help="who does this (default cli:$USER)")
    ly.set_defaults(func=_layers)
    ru = sub.add_parser("rules", help="publish, list and roll back rules files")
    rus = ru.add_subparsers(dest="action", required=True)
    rp = rus.add_parser("publish")
    rp.add_argument("file")
    rp.add_argument("--note")
    rp.add_argument("--dry-run", action="store_true")
    rus.add_parser("history")
    rr = rus.add_parser("rollback")
    rr.add_argument("file")
    rr.add_argument("sha256")
    rr.add_argument("--note")
    for p in rus.choices.values():
        p.add_argument("--as", dest="actor")
    rd = rus.add_parser("doc", help="the table of every rule and its legal basis (docs/rules.md)")
    rd.add_argument("--out", help="write here instead of stdout")
    ru.set_defaults(func=_rules)
    li = sub.add_parser("lists", help="structuring help for access lists (准入清单) published as prose")
    lis = li.add_subparsers(dest="action", required=True)
    ls = lis.add_parser("suggest", help="propose industries, actions and verdicts for every item of a prose list")
    ls.add_argument("file", help="CSV or XLSX: one row per unit (unit code + the four dimension columns) "
                                 "or one row per item")
    ls.add_argument("--out", required=True, help="the canonical table, .csv or .xlsx (every row suggested)")
    ls.add_argument("--report", help="write the items it could not structure here (JSON)")
    ls.add_argument("--source", help="the document the list comes from (default: the file name)")
    li.set_defaults(func=_lists)
    ke = sub.add_parser("keys", help="make, list and revoke API keys")
    kes = ke.add_subparsers(dest="action", required=True)
    kc = kes.add_parser("create")
    kc.add_argument("name")
    kc.add_argument("--role", required=True, choices=["reader", "editor", "admin"])
    kes.add_parser("list")
    kr = kes.add_parser("revoke")
    kr.add_argument("name")
    for p in kes.choices.values():
        p.add_argument("--as", dest="actor")
    ke.set_defaults(func=_keys)
    au = sub.add_parser("audit", help="the audit log, and whether its hash chain is intact")
    au.add_argument("--verify", action="store_true")
    au.add_argument("--after", type=int, default=0)
    au.add_argument("--limit", type=int, default=100)
    au.set_defaults(func=_audit_cmd)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
